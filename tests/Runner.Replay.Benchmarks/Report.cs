using System.Globalization;
using System.Text;

namespace Runner.Replay.Benchmarks;

/// <summary>One row of the result: a phase of the run.</summary>
/// <param name="Key">Short name in the final line (live, only, dedupe, reset, dry-only, dry-reset).</param>
/// <param name="Phase">What ran.</param>
/// <param name="Mode">Replay mode, or – for the live phase.</param>
/// <param name="DryRun">Whether it was a dry run.</param>
/// <param name="Events">Events it processed (the live phase: published; a replay: its <c>counts.events</c>).</param>
/// <param name="Instances">Instances created (live) or reset (replay).</param>
/// <param name="Seconds">Wall time as defined per phase (see the README).</param>
/// <param name="Commands">Commands published (live) or re-emitted (<c>counts.commands</c>).</param>
/// <param name="Notes">What else was seen, including every failed check.</param>
internal sealed record PhaseRow(string Key, string Phase, string Mode, bool DryRun, long Events, int Instances, double Seconds, long Commands, string Notes)
{
    public double EventsPerSecond => Seconds > 0 ? Events / Seconds : 0;
}

internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Table(IEnumerable<PhaseRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| phase | mode | dry run | events | instances | seconds | events/s | commands | notes |");
        sb.AppendLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var r in rows)
        {
            sb.AppendLine(string.Create(Inv,
                $"| {r.Phase} | {r.Mode} | {(r.Mode == "–" ? "–" : r.DryRun ? "yes" : "no")} | {r.Events:N0} | {r.Instances:N0} | {r.Seconds:0.00} | {r.EventsPerSecond:N0} | {r.Commands:N0} | {r.Notes} |"));
        }

        return sb.ToString();
    }

    /// <summary><c>replay-bench: live/s=… only/s=… dedupe/s=… reset/s=… dry-only/s=… dry-reset/s=… ok=…</c> (n/a for a phase that did not run).</summary>
    public static string FinalLine(IReadOnlyCollection<PhaseRow> rows, bool ok)
    {
        string Rate(string key) => rows.FirstOrDefault(r => r.Key == key) is { } r ? r.EventsPerSecond.ToString("0", Inv) : "n/a";
        return $"replay-bench: live/s={Rate("live")} only/s={Rate("only")} dedupe/s={Rate("dedupe")} reset/s={Rate("reset")} " +
               $"dry-only/s={Rate("dry-only")} dry-reset/s={Rate("dry-reset")} ok={(ok ? "true" : "false")}";
    }
}
