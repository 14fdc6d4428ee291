namespace Runner.Actors.Protocol;

/// <summary>A hand-off begins: the tenant's consumption stops pulling and lets its in-flight events finish.</summary>
internal sealed record StopConsuming
{
    public static StopConsuming Instance { get; } = new();
}

/// <summary>The consumption stopped and wrote its last positions; whether every in-flight event finished in time.</summary>
internal sealed record ConsumersStopped(bool Finished);

/// <summary>How many consumers of the tenant run now (for its view).</summary>
internal sealed record ConsumerCount(int Running);
