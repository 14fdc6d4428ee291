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
    TimeSpan WriteCpu,
    bool Aborted = false)
{
    public double WriteRate => Written / Math.Max(WriteTime.TotalSeconds, 1e-9);

    public double ReplayRate => Replayed / Math.Max(ReplayTime.TotalSeconds, 1e-9);

    /// <summary>Process CPU time (all threads, user + kernel) per confirmed event during the write phase.</summary>
    public double CpuMicrosPerEvent => Written == 0 ? 0 : WriteCpu.TotalMicroseconds / Written;

    /// <summary>
    /// Nothing failed, and a replay that finished brought back exactly what was stored (events confirmed after a
    /// write cap count as stored). Capped phases are slow, not wrong; the --quick smoke check relies on this.
    /// </summary>
    public bool Consistent => !Aborted && Failures == 0 && (ReplayCapped || Replayed == Stored);
}

/// <summary>The rounds of one journal × mode × actor count; rates are medians over the rounds.</summary>
internal sealed record ScenarioSummary(JournalKind Journal, PersistMode Mode, int Actors, IReadOnlyList<ScenarioResult> Runs)
{
    public double WriteRate => Median(Runs.Select(r => r.WriteRate));

    public double ReplayRate => Median(Runs.Select(r => r.ReplayRate));

    public double WriteMin => Runs.Min(r => r.WriteRate);

    public double WriteMax => Runs.Max(r => r.WriteRate);

    public double CpuMicrosPerEvent => Median(Runs.Select(r => r.CpuMicrosPerEvent));

    /// <summary>Median LMDB group-commit size (events per write transaction), when known.</summary>
    public double? EventsPerCommit =>
        Runs.All(r => r.Commits is > 0) ? Median(Runs.Select(r => (double)r.Written / r.Commits!.Value)) : null;

    public static IReadOnlyList<ScenarioSummary> Of(IEnumerable<ScenarioResult> results) =>
        results.GroupBy(r => (r.Journal, r.Mode, r.Actors))
            .Select(g => new ScenarioSummary(g.Key.Journal, g.Key.Mode, g.Key.Actors, g.ToList()))
            .ToList();

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? 0 : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
