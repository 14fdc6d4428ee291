using System.Globalization;
using System.Text;

namespace Runner.Persistence.Lmdb.Benchmarks;

/// <summary>Formats results: progress lines, the table, the ratio block and the machine-readable last line.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Progress(ScenarioResult r)
    {
        var notes = new List<string>();
        if (r.Commits is > 0 and var c) notes.Add(string.Create(Inv, $"~{(double)r.Written / c:0} ev/commit"));
        if (r.Failures > 0) notes.Add(string.Create(Inv, $"{r.Failures} failures"));
        if (Notes(r) is { Length: > 0 } n) notes.Add(n);
        return string.Create(Inv,
            $"  {r.Journal.Name(),-12} {r.Mode,-12} {r.Actors,5} actors: {r.WriteRate,10:N0} ev/s write ({r.CpuMicrosPerEvent,6:0.0} us CPU/ev), " +
            $"{r.ReplayRate,10:N0} ev/s replay{(notes.Count > 0 ? "  " + string.Join("; ", notes) : "")}");
    }

    public static string Table(IReadOnlyList<ScenarioSummary> summaries)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv,
            $"{"journal",-12} | {"mode",-12} | {"actors",6} | {"events",7} | {"write ev/s",10} | {"(min..max)",19} | {"CPU us/ev",9} | {"replay ev/s",11} | notes");
        sb.AppendLine(string.Join("-+-", new[] { 12, 12, 6, 7, 10, 19, 9, 11, 5 }.Select(n => new string('-', n))));
        foreach (var s in summaries)
        {
            var spread = string.Create(Inv, $"{s.WriteMin:N0}..{s.WriteMax:N0}");
            var notes = new List<string>();
            if (s.EventsPerCommit is { } epc) notes.Add(string.Create(Inv, $"~{epc:0} ev/commit"));
            notes.AddRange(s.Runs.Select(Notes).Where(n => n.Length > 0).GroupBy(n => n)
                .Select(g => string.Create(Inv, $"{g.Key} ({g.Count()}/{s.Runs.Count} rounds)")));
            sb.AppendLine(Inv,
                $"{s.Journal.Name(),-12} | {s.Mode,-12} | {s.Actors,6} | {s.Runs[0].TargetEvents,7} | {s.WriteRate,10:N0} | {spread,19} | " +
                $"{s.CpuMicrosPerEvent,9:0.0} | {s.ReplayRate,11:N0} | {string.Join("; ", notes)}");
        }

        return sb.ToString();
    }

    /// <summary>LMDB against the others for every mode and actor count that all of them ran.</summary>
    public static string Ratios(IReadOnlyList<ScenarioSummary> summaries)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"{"mode",-12} | {"actors",6} | {"lmdb/sqlite",11} | {"lmdb/memory",11} | {"replay lmdb/sqlite",18} | {"replay lmdb/memory",18}");
        foreach (var g in summaries.Where(r => r.Journal == JournalKind.Lmdb))
        {
            var sqlite = Find(summaries, JournalKind.Sqlite, g.Mode, g.Actors);
            var memory = Find(summaries, JournalKind.Memory, g.Mode, g.Actors);
            sb.AppendLine(Inv,
                $"{g.Mode,-12} | {g.Actors,6} | {Ratio(g.WriteRate, sqlite?.WriteRate),11} | {Ratio(g.WriteRate, memory?.WriteRate),11} | " +
                $"{Ratio(g.ReplayRate, sqlite?.ReplayRate),18} | {Ratio(g.ReplayRate, memory?.ReplayRate),18}");
        }

        return sb.ToString();
    }

    /// <summary>The headline: 1,000 actors with PersistAsync, and the replay of those events.</summary>
    public static string LastLine(IReadOnlyList<ScenarioSummary> summaries)
    {
        var lmdb = Find(summaries, JournalKind.Lmdb, PersistMode.PersistAsync, 1000);
        var sqlite = Find(summaries, JournalKind.Sqlite, PersistMode.PersistAsync, 1000);
        var memory = Find(summaries, JournalKind.Memory, PersistMode.PersistAsync, 1000);
        return $"journal-bench: lmdb/sqlite={Ratio(lmdb?.WriteRate, sqlite?.WriteRate)} " +
               $"lmdb/memory={Ratio(lmdb?.WriteRate, memory?.WriteRate)} " +
               $"replay-lmdb/memory={Ratio(lmdb?.ReplayRate, memory?.ReplayRate)}";
    }

    private static ScenarioSummary? Find(IReadOnlyList<ScenarioSummary> summaries, JournalKind kind, PersistMode mode, int actors) =>
        summaries.FirstOrDefault(r => r.Journal == kind && r.Mode == mode && r.Actors == actors);

    private static string Ratio(double? a, double? b) =>
        a is { } x && b is { } y && y > 0 ? (x / y).ToString("0.00", Inv) : "n/a";

    private static string Notes(ScenarioResult r)
    {
        var notes = new List<string>();
        if (r.WriteCapped) notes.Add("write capped");
        if (r.ReplayCapped) notes.Add("replay capped");
        if (r.Replayed != r.Stored) notes.Add("replayed != stored");
        if (r.Failures > 0) notes.Add("failures");
        if (r.Aborted) notes.Add("actors did not stop in time");
        return string.Join(", ", notes);
    }
}
