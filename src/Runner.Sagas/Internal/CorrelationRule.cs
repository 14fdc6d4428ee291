namespace Runner.Sagas.Internal;

/// <summary>Limits on correlation ids, which become part of persistence ids (storage keys) and outgoing message ids.</summary>
internal static class CorrelationRule
{
    /// <summary>Longest correlation id accepted: LMDB keys are at most 511 bytes.</summary>
    public const int MaxLength = 256;
}
