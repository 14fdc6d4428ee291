using System.Diagnostics;
using System.Globalization;
using Runner.Actors;
using Runner.TestKit;

namespace Runner.Benchmarks;

/// <summary>What many tenants on one node cost: the start of an allowlisted node, memory and NATS consumers per idle tenant.</summary>
internal sealed record TenantsStart(int Tenants, double StartSeconds, bool AllStarted, double MbPerIdleTenant, int Consumers)
{
    /// <summary>Cores the node's process used while every tenant was idle.</summary>
    public double IdleCores { get; init; }

    /// <summary>Cores nats-server used meanwhile (heartbeats of the waiting pulls, their renewals).</summary>
    public double IdleNatsCores { get; init; }

    /// <summary>
    /// Managed heap after the burst's instances all passivated, less the idle heap before the burst (null when they did
    /// not all passivate in time).
    /// </summary>
    public double? MbAfterPassivation { get; init; }

    /// <summary>
    /// The same after a second burst (new orders), less the heap after the first: what a burst leaves behind for good; 0
    /// when passivation keeps memory flat.
    /// </summary>
    public double? MbSecondBurst { get; init; }
}

/// <summary>
/// The many-tenants case: a node whose allowlist names <c>N</c> tenants, timed from its start until every tenant's
/// consumption runs; the managed heap before and after (after a full compacting GC both times) over <c>N</c> is the
/// memory of an idle tenant; the events stream's consumers are what the idle tenants cost NATS. The saturation of the same
/// number of tenants, runner and raw loop, runs as an ordinary scenario (<see cref="E2EBench.ScenarioAsync"/>).
/// Then, on the same node: the CPU it and nats-server use while every tenant is idle, and whether passivation gives the
/// memory back: a burst of events over every tenant, the heap with their instances in memory, and again once all of them
/// passivated (this node passivates after <see cref="PassivateAfter"/> instead of the default 2 minutes).
/// </summary>
internal sealed class TenantsBench(BenchOptions options, NatsServerFixture nats, Action<string> log)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>This node's passivation: short, so that the run waits for it seconds, not minutes.</summary>
    private static readonly TimeSpan PassivateAfter = TimeSpan.FromSeconds(5);

    /// <summary>Orders per tenant in each of the two bursts after the idle window.</summary>
    private const int BurstPerTenant = 5;

    public async Task<TenantsStart> StartAsync(int count)
    {
        // Names of their own: the consumption bookkeeping is process-wide and earlier scenarios used t0, t1, ...
        var tenants = Enumerable.Range(0, count).Select(i => "idle" + i.ToString(Inv)).ToArray();
        var names = tenants.ToHashSet(StringComparer.Ordinal);
        await using var world = new World(nats);
        using var data = new TempDirectory("runner-bench-tenants");
        var before = ManagedHeapAfterGc();
        var allowlist = "runner.tenants.allowlist = [" + string.Join(",", tenants.Select(t => "\"" + t + "\"")) + "]\n";
        var passivation = string.Create(Inv, $"runner.runtime.passivate-after = {PassivateAfter.TotalSeconds:0}s\n");
        await using var sut = new RunnerSystem(world, data.Path, allowlist + passivation + options.RunnerHocon);
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
        if (running < count) return result;

        var (idleCores, idleNats) = await IdleCpuAsync().ConfigureAwait(false);
        log(string.Create(Inv,
            $"runner {count} idle tenants: the node's process used {idleCores:0.000} cores and nats-server {idleNats:0.000} over {IdleWindow.TotalSeconds:0}s " +
            $"(each consumer's waiting pull: a heartbeat every {sut.Config.GetTimeSpan("runner.nats.consumer.idle-heartbeat").TotalMilliseconds:0} ms, " +
            $"renewed every {sut.Config.GetTimeSpan("runner.nats.consumer.pull-expires").TotalSeconds:0} s)"));
        var burst = tenants.Length * BurstPerTenant;
        await using var probe = new CommandProbe(world.Url, 2 * burst);
        await probe.StartAsync(world.Subjects.AllCommands).ConfigureAwait(false);
        var load = new LoadGenerator(world.Js, world.Subjects, tenants, probe, options.PublishWindow);
        var first = await BurstAndPassivateAsync(probe, load, names, 0, burst, after, DateTime.UtcNow + options.PhaseCap).ConfigureAwait(false);
        var second = first is { } heap1
            ? await BurstAndPassivateAsync(probe, load, names, burst, burst, heap1, DateTime.UtcNow + options.PhaseCap).ConfigureAwait(false)
            : null;
        return result with
        {
            IdleCores = idleCores,
            IdleNatsCores = idleNats,
            MbAfterPassivation = (first - after) / 1048576.0,
            MbSecondBurst = (second - first) / 1048576.0,
        };
    }

    private TimeSpan IdleWindow => options.Quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(10);

    /// <summary>CPU of this process (the node) and of nats-server over the idle window: nothing is published meanwhile.</summary>
    private async Task<(double Node, double Nats)> IdleCpuAsync()
    {
        var cpu = new CpuMeter(nats.Port);
        var (self0, nats0) = cpu.Now();
        var wall = Stopwatch.StartNew();
        await Task.Delay(IdleWindow).ConfigureAwait(false); // the measured window itself
        var (self1, nats1) = cpu.Now();
        var secs = wall.Elapsed.TotalSeconds;
        return ((self1 - self0).TotalSeconds / secs, (nats1 - nats0).TotalSeconds / secs);
    }

    /// <summary>
    /// A burst of orders spread over every tenant (<paramref name="count"/> from <paramref name="from"/>), the heap while
    /// their instances are in memory, then the heap once every one of them passivated, which it returns (null: the burst did
    /// not complete or not all passivated in time).
    /// </summary>
    private async Task<long?> BurstAndPassivateAsync(CommandProbe probe, LoadGenerator load, HashSet<string> names, int from, int count, long heapBefore,
        DateTime deadline)
    {
        await load.PublishAsync(from, count, flow: false, rate: null, deadline).ConfigureAwait(false);
        if (!await probe.WaitAsync(from, count, deadline).ConfigureAwait(false))
        {
            log($"runner {names.Count} tenants: burst incomplete ({probe.Arrived - from}/{count} commands)");
            return null;
        }

        int InMemory() => RunnerMetrics.ActiveInstances().Where(p => names.Contains(p.Key)).Sum(p => p.Value);
        var peak = InMemory();
        var active = ManagedHeapAfterGc();
        var wait = Stopwatch.StartNew();
        int left;
        while ((left = InMemory()) > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(250).ConfigureAwait(false); // polling the node's instance count
        var passivated = ManagedHeapAfterGc();
        log(string.Create(Inv,
            $"runner {names.Count} tenants: a burst of {count:N0} orders left {peak:N0} instances in memory, managed heap {active / 1048576.0:N0} MB " +
            $"(before it {heapBefore / 1048576.0:N1} MB); {(left == 0 ? "all passivated" : $"{left:N0} still in memory")} {wait.Elapsed.TotalSeconds:0.0}s later " +
            $"(passivate-after {PassivateAfter.TotalSeconds:0}s): managed heap {passivated / 1048576.0:N1} MB"));
        return left == 0 ? passivated : null;
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
               $"start-s={Fmt(start.AllStarted ? start.StartSeconds : null, "0.0")} mb-per-idle-tenant={Fmt(start.MbPerIdleTenant, "0.000")} " +
               $"idle-cores={Fmt(start.IdleCores, "0.000")} idle-nats-cores={Fmt(start.IdleNatsCores, "0.000")} mb-after-passivation={Fmt(start.MbAfterPassivation, "0.0")} " +
               $"mb-second-burst={Fmt(start.MbSecondBurst, "0.0")}";
    }
}
