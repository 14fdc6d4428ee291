namespace Runner.Persistence.Lmdb.Benchmarks;

/// <summary>One journal × mode × actor-count measurement: the write phase and the replay of what it wrote.</summary>
internal sealed record ScenarioResult(
    JournalKind Journal,
    PersistMode Mode,
    int Actors,
    long TargetEvents,
    long Written,
    long Stored,
    TimeSpan WriteTime,
    bool WriteCapped,
    long Replayed,
    TimeSpan ReplayTime,
    bool ReplayCapped,
    int Failures,
    long? Commits,
    bool Aborted = false)
{
    public double WriteRate => Written / Math.Max(WriteTime.TotalSeconds, 1e-9);

    public double ReplayRate => Replayed / Math.Max(ReplayTime.TotalSeconds, 1e-9);

    /// <summary>
    /// Everything stored was replayed, nothing failed. A capped write phase still counts (the events confirmed
    /// after the cap are in <see cref="Stored"/>); the --quick smoke check relies on this.
    /// </summary>
    public bool Consistent => !Aborted && !ReplayCapped && Replayed == Stored && Failures == 0;
}
