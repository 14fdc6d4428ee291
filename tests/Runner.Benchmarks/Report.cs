using System.Globalization;
using System.Text;

namespace Runner.Benchmarks;

/// <summary>Formats results: progress lines, the table, the ratios, the targets and the machine-readable last lines.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Progress(Row r) => string.Create(Inv,
        $"{r.Stats.Arrived:N0}/{r.Stats.Expected:N0} commands in {r.Stats.Seconds:0.00}s = {r.Stats.Rate:N0} events/s" +
        $"{(r.PacedRate is { } p ? $" (paced at {p:N0}/s)" : "")}, p50 {r.Stats.P50:0.0} ms, p99 {r.Stats.P99:0.0} ms, " +
        $"cores bench {r.BenchCores:0.00} nats {r.NatsCores:0.00}{(r.CpuMicrosPerEvent is { } cpu ? $", {cpu:N0} µs CPU/event" : "")}{(r.AllocatedKbPerEvent is { } kb ? $", {kb:N1} KB allocated/event, GC pauses {r.GcPauseShare:P0} of the phase, {r.Gen2Collections} gen2" : "")}{(r.EventsPerCommit is { } e ? $", {e:0.0} events/LMDB commit" : "")}" +
        $"{(r.AckedAfter is { } a ? $", all events acked {a:0.0}s after the last command" : ", events not all acked")}" +
        $"{(r.Notes.Length > 0 ? "; " + r.Notes : "")}");

    public static string Table(IReadOnlyList<Row> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv,
            $"{"system",-8} | {"tenants",7} | {"phase",-10} | {"events",7} | {"events/s",9} | {"paced/s",7} | {"p50 ms",7} | {"p90 ms",7} | {"p99 ms",7} | {"max ms",7} | {"cores bench",11} | {"cores nats",10} | {"cpu µs/ev",9} | {"ev/commit",9} | {"acked +s",8} | notes");
        sb.AppendLine(string.Join("-+-", new[] { 8, 7, 10, 7, 9, 7, 7, 7, 7, 7, 11, 10, 9, 9, 8, 5 }.Select(n => new string('-', n))));
        foreach (var r in rows)
        {
            var notes = new List<string>();
            if (r.Notes.Length > 0) notes.Add(r.Notes);
            if (r.Stats.Arrived != r.Stats.Expected) notes.Add(string.Create(Inv, $"{r.Stats.Expected - r.Stats.Arrived} commands missing"));
            if (r.Duplicates > 0) notes.Add(string.Create(Inv, $"{r.Duplicates} duplicate commands ({r.DuplicatesOtherMsgId} with another Nats-Msg-Id)"));
            if (r.Failures > 0) notes.Add(string.Create(Inv, $"{r.Failures} publish failures"));
            if (r.Phase == Phase.Flow) notes.Add("3 events/order");
            sb.AppendLine(Inv,
                $"{r.System,-8} | {r.Tenants,7} | {r.Phase,-10} | {r.Stats.Expected,7} | {r.Stats.Rate,9:N0} | {(r.PacedRate is { } p ? p.ToString("N0", Inv) : "-"),7} | " +
                $"{r.Stats.P50,7:0.0} | {r.Stats.P90,7:0.0} | {r.Stats.P99,7:0.0} | {r.Stats.Max,7:0.0} | {r.BenchCores,11:0.00} | {r.NatsCores,10:0.00} | {(r.CpuMicrosPerEvent is { } cpu ? cpu.ToString("N0", Inv) : "-"),9} | " +
                $"{(r.EventsPerCommit is { } e ? e.ToString("0.0", Inv) : "-"),9} | {(r.AckedAfter is { } a ? a.ToString("0.0", Inv) : "-"),8} | {string.Join("; ", notes)}");
        }

        sb.AppendLine("cores = CPU time / wall time of the phase: 'bench' is this process (node or raw loop, plus load generator and probe), 'nats' the nats-server.");
        sb.AppendLine("cpu µs/ev = this process's CPU time over the phase / events (the load generator and probe are in both systems' numbers).");
        sb.AppendLine("acked +s = seconds after the last command until every event of the phase was acked on its consumer (the node acks only once the");
        sb.AppendLine("outbox-delivered marker is written); '-' = not within the phase cap.");
        return sb.ToString();
    }

    public static string Ratios(IReadOnlyList<Row> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"{"tenants",7} | {"runner ev/s",11} | {"raw ev/s",9} | {"runner/raw",10}");
        foreach (var runner in rows.Where(r => r.System == "runner" && r.Phase == Phase.Saturation))
        {
            var raw = Find(rows, "raw", runner.Tenants, Phase.Saturation);
            sb.AppendLine(Inv, $"{runner.Tenants,7} | {runner.Stats.Rate,11:N0} | {(raw?.Stats.Rate ?? 0),9:N0} | {Ratio(runner.Stats.Rate, raw?.Stats.Rate),10}");
        }

        return sb.ToString();
    }

    public static string Targets(IReadOnlyList<Row> rows, BenchOptions options)
    {
        var h = Headline(rows, options);
        string Check(bool? ok) => ok switch { true => "met", false => "MISSED", null => "n/a" };
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"Goals ({options.LatencyTenants} tenants, durability sync; numbers are noisy on a shared 2-core machine):");
        sb.AppendLine(Inv, $"  saturation runner/raw >= 0.50              : {Fmt(h.Ratio, "0.00")} {Check(h.Ratio >= 0.5)}");
        sb.AppendLine(Inv, $"  p99 at the same rate, runner/raw <= 2.0    : {Fmt(h.P99Ratio, "0.00")} ({Fmt(h.P99, "0.0")} / {Fmt(h.RawP99, "0.0")} ms) {Check(h.P99Ratio <= 2)}");
        sb.AppendLine(Inv, $"  CPU per event, runner/raw <= 3.0           : {Fmt(h.Cpu / h.RawCpu, "0.00")} ({Fmt(h.Cpu, "0")} / {Fmt(h.RawCpu, "0")} µs) {Check(h.Cpu / h.RawCpu <= 3)}");
        return sb.ToString();
    }

    /// <summary>
    /// The e2e line: saturation rates and their ratio, p99 of both at the same paced rate and their ratio, CPU per event of
    /// both at saturation (the latency-tenants case).
    /// </summary>
    public static string LastLine(IReadOnlyList<Row> rows, BenchOptions options)
    {
        var h = Headline(rows, options);
        return $"e2e-bench: events/s={Fmt(h.Events, "0")} raw/s={Fmt(h.Raw, "0")} ratio={Fmt(h.Ratio, "0.00")} p99-ms={Fmt(h.P99, "0.00")} " +
               $"raw-p99-ms={Fmt(h.RawP99, "0.00")} p99-ratio={Fmt(h.P99Ratio, "0.00")} cpu-us={Fmt(h.Cpu, "0")} raw-cpu-us={Fmt(h.RawCpu, "0")}";
    }

    /// <summary>
    /// The replication line: the runner's saturation with journal replication off and on and their ratio (on / off), p99 of
    /// both paced at the same rate, CPU per event of both at saturation.
    /// </summary>
    public static string ReplicationLine(IReadOnlyList<Row> rows, BenchOptions options)
    {
        var off = Find(rows, "repl-off", options.LatencyTenants, Phase.Saturation);
        var on = Find(rows, "repl-on", options.LatencyTenants, Phase.Saturation);
        var ratio = on?.Stats.Rate is { } a && off?.Stats.Rate is { } b && b > 0 ? a / b : (double?)null;
        var offP99 = Valid(Find(rows, "repl-off", options.LatencyTenants, Phase.Latency)?.Stats.P99);
        var onP99 = Valid(Find(rows, "repl-on", options.LatencyTenants, Phase.Latency)?.Stats.P99);
        return string.Create(Inv, $"replication-bench: tenants={options.LatencyTenants} events={options.SaturationEvents} ") +
               $"off-events/s={Fmt(off?.Stats.Rate, "0")} on-events/s={Fmt(on?.Stats.Rate, "0")} ratio={Fmt(ratio, "0.00")} " +
               $"off-p99-ms={Fmt(offP99, "0.00")} on-p99-ms={Fmt(onP99, "0.00")} off-cpu-us={Fmt(off?.CpuMicrosPerEvent, "0")} on-cpu-us={Fmt(on?.CpuMicrosPerEvent, "0")}";
    }

    private sealed record Headlines(double? Events, double? Raw, double? Ratio, double? P99, double? RawP99, double? P99Ratio, double? Cpu, double? RawCpu);

    private static Headlines Headline(IReadOnlyList<Row> rows, BenchOptions options)
    {
        var runnerRow = Find(rows, "runner", options.LatencyTenants, Phase.Saturation);
        var rawRow = Find(rows, "raw", options.LatencyTenants, Phase.Saturation);
        var runner = runnerRow?.Stats.Rate;
        var raw = rawRow?.Stats.Rate;
        var ratio = runner is { } a && raw is { } b && b > 0 ? a / b : (double?)null;
        var p99 = Valid(Find(rows, "runner", options.LatencyTenants, Phase.Latency)?.Stats.P99);
        var rawP99 = Valid(Find(rows, "raw", options.LatencyTenants, Phase.Latency)?.Stats.P99);
        return new Headlines(runner, raw, ratio, p99, rawP99, p99 / rawP99, runnerRow?.CpuMicrosPerEvent, rawRow?.CpuMicrosPerEvent);
    }

    private static double? Valid(double? v) => v is { } x && !double.IsNaN(x) ? x : null;

    private static Row? Find(IReadOnlyList<Row> rows, string system, int tenants, Phase phase) =>
        rows.FirstOrDefault(r => r.System == system && r.Tenants == tenants && r.Phase == phase);

    private static string Ratio(double a, double? b) => b is > 0 ? (a / b.Value).ToString("0.00", Inv) : "n/a";

    private static string Fmt(double? v, string format) => v is { } x ? x.ToString(format, Inv) : "n/a";
}
