using System.Diagnostics;
using System.Globalization;
using Runner.Actors;
using Runner.TestKit;

namespace Runner.Benchmarks;

/// <summary>What many tenants on one node cost: the start of an allowlisted node, memory and NATS consumers per idle tenant.</summary>
internal sealed record TenantsStart(int Tenants, double StartSeconds, bool AllStarted, double MbPerIdleTenant, int Consumers);

/// <summary>
/// The many-tenants case: a node whose allowlist names <c>N</c> tenants, timed from its start until every tenant's
/// consumption runs; the managed heap before and after (after a full compacting GC both times) over <c>N</c> is the
/// memory of an idle tenant; the events stream's consumers are what the idle tenants cost NATS. The saturation of the same
/// number of tenants, runner and raw loop, runs as an ordinary scenario (<see cref="E2EBench.ScenarioAsync"/>).
/// </summary>
internal sealed class TenantsBench(BenchOptions options, NatsServerFixture nats, Action<string> log)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public async Task<TenantsStart> StartAsync(int count)
    {
        // Names of their own: the consumption bookkeeping is process-wide and earlier scenarios used t0, t1, ...
        var tenants = Enumerable.Range(0, count).Select(i => "idle" + i.ToString(Inv)).ToArray();
        var names = tenants.ToHashSet(StringComparer.Ordinal);
        await using var world = new World(nats);
        using var data = new TempDirectory("runner-bench-tenants");
        var before = ManagedHeapAfterGc();
        var allowlist = "runner.tenants.allowlist = [" + string.Join(",", tenants.Select(t => "\"" + t + "\"")) + "]\n";
        await using var sut = new RunnerSystem(world, data.Path, allowlist + options.RunnerHocon);
        var clock = Stopwatch.StartNew();
        await sut.StartAsync(CancellationToken.None).ConfigureAwait(false);
        var deadline = DateTime.UtcNow + options.PhaseCap;
        int running;
        while ((running = RunnerMetrics.Consumption().Count(c => c.Running && names.Contains(c.Tenant))) < count && DateTime.UtcNow < deadline)
            await Task.Delay(50).ConfigureAwait(false); // polling the node's consumption bookkeeping
        var seconds = clock.Elapsed.TotalSeconds;
        var after = ManagedHeapAfterGc();
        var consumers = 0;
        await foreach (var _ in world.Js.ListConsumersAsync(world.EventsStream).ConfigureAwait(false)) consumers++;
        var result = new TenantsStart(count, seconds, running >= count, (after - before) / (double)count / (1024 * 1024), consumers);
        log(string.Create(Inv,
            $"runner {count} allowlisted tenants: {running}/{count} running after {seconds:0.0}s; managed heap {before / 1048576.0:N0} -> {after / 1048576.0:N0} MB " +
            $"= {result.MbPerIdleTenant:0.000} MB per idle tenant; {consumers} consumers on the events stream ({consumers / (double)count:0.00} per tenant)"));
        return result;
    }

    /// <summary>
    /// The managed heap after a full, compacting collection: with server GC the working set moves with the GC's own
    /// budgets by more than 1,000 idle tenants hold, so it cannot be the measure (LMDB's map and native buffers are not in it).
    /// </summary>
    private static long ManagedHeapAfterGc()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>The tenants line: saturation of the runner and the raw loop with the same tenants, their ratio, start time, memory.</summary>
    public static string LastLine(TenantsStart start, IReadOnlyList<Row> rows)
    {
        var runner = rows.FirstOrDefault(r => r.System == "runner" && r.Tenants == start.Tenants && r.Phase == Phase.Saturation)?.Stats.Rate;
        var raw = rows.FirstOrDefault(r => r.System == "raw" && r.Tenants == start.Tenants && r.Phase == Phase.Saturation)?.Stats.Rate;
        string Fmt(double? v, string f) => v is { } x ? x.ToString(f, Inv) : "n/a";
        return $"tenants-bench: tenants={start.Tenants} events/s={Fmt(runner, "0")} raw/s={Fmt(raw, "0")} ratio={Fmt(runner / raw, "0.00")} " +
               $"start-s={Fmt(start.AllStarted ? start.StartSeconds : null, "0.0")} mb-per-idle-tenant={Fmt(start.MbPerIdleTenant, "0.000")}";
    }
}
