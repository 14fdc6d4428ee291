namespace Runner.Sagas;

/// <summary>Why a saga definition could not accept an <see cref="IncomingEvent"/>.</summary>
public enum RejectionKind
{
    /// <summary>The saga does not handle the event type.</summary>
    UnknownEventType,

    /// <summary>The payload is not valid JSON, or not valid for the event's type (wrong or missing fields).</summary>
    MalformedPayload,

    /// <summary>The event parsed, but its correlation id is null, empty, longer than 256 characters or holds control characters (or the correlation function threw).</summary>
    MissingCorrelation,
}

/// <summary>
/// The result of <see cref="ISagaDefinition.Parse"/>: either <see cref="Ok"/> (a typed event and the correlation id of
/// its saga instance) or <see cref="Rejected"/> (with a reason for the dead-letter subject).
/// </summary>
public abstract record ParseResult
{
    private ParseResult()
    {
    }

    /// <summary>Whether the event was accepted.</summary>
    public abstract bool IsOk { get; }

    /// <summary>The event parsed and correlated.</summary>
    /// <param name="Event">The typed event, to pass to <see cref="ISagaDefinition.Decide"/>.</param>
    /// <param name="CorrelationId">The correlation id of the saga instance: never null or empty.</param>
#pragma warning disable CA1034 // Ok and Rejected are the two cases of the union; nesting names them as such.
    public sealed record Ok(object Event, string CorrelationId) : ParseResult
    {
        /// <inheritdoc />
        public override bool IsOk => true;
    }

    /// <summary>The event was not accepted.</summary>
    /// <param name="Reason">What is wrong, for operators: names the saga, the event type and the problem.</param>
    /// <param name="Kind">The kind of problem.</param>
    public sealed record Rejected(string Reason, RejectionKind Kind) : ParseResult
    {
        /// <inheritdoc />
        public override bool IsOk => false;
    }
#pragma warning restore CA1034
}
