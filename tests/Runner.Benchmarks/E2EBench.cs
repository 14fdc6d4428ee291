using System.Diagnostics;
using System.Globalization;
using Runner.TestKit;

namespace Runner.Benchmarks;

/// <summary>The phases a scenario measures.</summary>
internal enum Phase
{
    /// <summary>A bounded batch published as fast as possible; events/s until the last command arrived.</summary>
    Saturation,

    /// <summary>Publishing paced at a fraction of the saturation rate; latency percentiles.</summary>
    Latency,

    /// <summary>The whole order flow (3 events, 3 commands per order) at saturation.</summary>
    Flow,
}

/// <summary>One measured phase of one scenario.</summary>
internal sealed record Row(string System, int Tenants, Phase Phase, PhaseStats Stats, double? PacedRate, double BenchCores, double NatsCores,
    double? EventsPerCommit, long Duplicates, long Failures, double? AckedAfter, string Notes, double? CpuMicrosPerEvent = null,
    double? AllocatedKbPerEvent = null, double? GcPauseShare = null, int Gen2Collections = 0, long DuplicatesOtherMsgId = 0)
{
    public bool Complete => Stats.Arrived == Stats.Expected && Failures == 0;
}

/// <summary>Runs every scenario: for each tenant count the raw loop, then the runner, on fresh streams.</summary>
internal sealed class E2EBench(BenchOptions options, NatsServerFixture nats, TextWriter output)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CpuMeter _cpu = new(nats.Port);
    private readonly AllocationSampler? _allocations = options.AllocationProfile ? new AllocationSampler() : null;

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>
    /// The rate both systems are paced at in the latency phase: half the runner's own maximum (measured first), so that
    /// the two latencies compare at the same load.
    /// </summary>
    private double? _latencyRate;

    public async Task<List<Row>> RunAsync()
    {
        var rows = new List<Row>();
        foreach (var tenants in options.TenantCounts)
        {
            // The latency case measures the runner first: its maximum sets the rate both are paced at.
            var systems = tenants == options.LatencyTenants ? options.Systems.OrderBy(s => s == "runner" ? 0 : 1) : options.Systems.AsEnumerable();
            foreach (var system in systems)
                rows.AddRange(await ScenarioAsync(system, tenants, flow: false).ConfigureAwait(false));
        }

        if (options.FlowOrders > 0 && options.Systems.Contains("runner"))
            rows.AddRange(await ScenarioAsync("runner", options.LatencyTenants, flow: true).ConfigureAwait(false));
        return rows;
    }

    /// <summary>
    /// The replication pair: the runner at the latency-tenants count with journal replication off, then on, each on fresh
    /// streams (the replication stream too) and a fresh data directory; both latency phases are paced at the same rate,
    /// <see cref="BenchOptions.LatencyLoad"/> of the maximum reached with replication off.
    /// </summary>
    public async Task<List<Row>> ReplicationAsync()
    {
        _latencyRate = null; // not the e2e runner's: the off phase sets it
        var rows = await ScenarioAsync("runner", options.LatencyTenants, flow: false, replication: false).ConfigureAwait(false);
        rows.AddRange(await ScenarioAsync("runner", options.LatencyTenants, flow: false, replication: true).ConfigureAwait(false));
        return rows;
    }

    private DateTime PhaseDeadline()
    {
        var left = options.TotalBudget - _clock.Elapsed;
        return DateTime.UtcNow + (left < options.PhaseCap ? left : options.PhaseCap);
    }

    private void Log(string line) => output.WriteLine(string.Create(Inv, $"[{_clock.Elapsed.TotalSeconds,6:0.0}s] {line}"));

    /// <summary>
    /// One scenario: warm-up, saturation, and at the latency-tenants count the latency phase. <paramref name="replication"/>
    /// sets the runner's journal replication (null: the node's default); its rows are named <c>repl-off</c> and <c>repl-on</c>.
    /// </summary>
    public async Task<List<Row>> ScenarioAsync(string system, int tenantCount, bool flow, int? events = null, bool? replication = null)
    {
        var rows = new List<Row>();
        var name = replication switch { null => system, false => "repl-off", true => "repl-on" };
        if (options.TotalBudget - _clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            Log($"{name} {tenantCount} tenants{(flow ? " flow" : "")}: skipped, budget used up");
            return rows;
        }

        var tenants = Enumerable.Range(0, tenantCount).Select(i => "t" + i.ToString(Inv)).ToArray();
        var latency = !flow && tenantCount == options.LatencyTenants;
        var warm = Math.Max(options.MinWarmUpEvents, options.WarmUpPerTenant * tenantCount);
        var batch = flow ? options.FlowOrders * 3 : events ?? options.SaturationEvents;
        var latencyMax = latency ? 200_000 : 0;

        await using var world = new World(nats);
        if (replication is not null) await world.OwnSharedStreamAsync(RunnerSystem.ReplicationStream).ConfigureAwait(false);
        await using var probe = new CommandProbe(world.Url, warm + batch + latencyMax);
        await probe.StartAsync(world.Subjects.AllCommands).ConfigureAwait(false);
        using var data = new TempDirectory("runner-bench");
        await using ISystemUnderTest sut = system == "raw"
            ? new RawSystem(world, tenants)
            : new RunnerSystem(world, data.Path,
                replication is { } on ? options.RunnerHocon + "\n" + RunnerSystem.ReplicationHocon(on) : options.RunnerHocon); // the pair's setting wins
        var started = Stopwatch.StartNew();
        await sut.StartAsync(CancellationToken.None).ConfigureAwait(false);
        var load = new LoadGenerator(world.Js, world.Subjects, tenants, probe, options.PublishWindow);

        // Warm-up (not measured): starts the tenants (the node discovers them from the stream), JIT, connections.
        await load.PublishAsync(0, warm, flow: false, rate: null, PhaseDeadline()).ConfigureAwait(false);
        if (!await probe.WaitAsync(0, warm, PhaseDeadline()).ConfigureAwait(false))
        {
            Log($"{name} {tenantCount} tenants: warm-up incomplete ({probe.Arrived}/{warm} commands); scenario abandoned");
            rows.Add(new Row(name, tenantCount, flow ? Phase.Flow : Phase.Saturation, probe.Stats(0, warm), null, 0, 0, null,
                probe.Duplicates, load.Failures, null, "warm-up incomplete"));
            return rows;
        }

        Log(string.Create(Inv, $"{name} {tenantCount} tenants: started and warmed up ({warm} events) in {started.Elapsed.TotalSeconds:0.0}s"));
        (sut as RunnerSystem)?.AttachStore();

        var sat = await MeasureAsync(world, name, tenantCount, flow ? Phase.Flow : Phase.Saturation, sut, probe, load, warm, batch, flow, null)
            .ConfigureAwait(false);
        rows.Add(sat);
        if (latency && sat.Complete && sat.Stats.Rate > 0)
        {
            // Both systems at the same rate: half the runner's maximum (the raw loop's own when the runner is not measured);
            // in the replication pair half the maximum with replication off.
            if (system == "runner" && replication != true) _latencyRate = sat.Stats.Rate * options.LatencyLoad;
            var rate = _latencyRate ?? sat.Stats.Rate * options.LatencyLoad;
            var count = (int)Math.Min(latencyMax, Math.Max(100, rate * options.LatencyDuration.TotalSeconds));
            rows.Add(await MeasureAsync(world, name, tenantCount, Phase.Latency, sut, probe, load, warm + batch, count, false, rate).ConfigureAwait(false));
        }

        return rows;
    }

    /// <summary>
    /// Whether every consumer of the events stream has nothing pending or un-acked before <paramref name="deadline"/>.
    /// Only consumers still busy are asked again (every 250 ms), so that polling 100 consumers does not load the server.
    /// </summary>
    private static async Task<bool> AllAckedAsync(World world, DateTime deadline)
    {
        var busy = new List<string>();
        await foreach (var consumer in world.Js.ListConsumersAsync(world.EventsStream).ConfigureAwait(false))
        {
            if (consumer.Info.NumAckPending > 0 || consumer.Info.NumPending > 0) busy.Add(consumer.Info.Name);
        }

        while (busy.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250).ConfigureAwait(false); // polling the server's consumer state
            var still = new List<string>();
            foreach (var name in busy)
            {
                var consumer = await world.Js.GetConsumerAsync(world.EventsStream, name).ConfigureAwait(false);
                if (consumer.Info.NumAckPending > 0 || consumer.Info.NumPending > 0) still.Add(name);
            }

            busy = still;
        }

        return busy.Count == 0;
    }

    private async Task<Row> MeasureAsync(World world, string system, int tenants, Phase phase, ISystemUnderTest sut, CommandProbe probe, LoadGenerator load,
        int from, int count, bool flow, double? rate)
    {
        var deadline = PhaseDeadline();
        var (self0, nats0) = _cpu.Now();
        var (alloc0, pause0, gen2_0) = (GC.GetTotalAllocatedBytes(), GC.GetTotalPauseDuration(), GC.CollectionCount(2));
        var commits0 = sut.Commits;
        var failures0 = load.Failures;
        var dup0 = probe.Duplicates;
        var dupOther0 = probe.DuplicatesOtherMsgId;
        var wall = Stopwatch.StartNew();
        if (phase != Phase.Latency) _allocations?.Start();
        await load.PublishAsync(from, count, flow, rate, deadline).ConfigureAwait(false);
        var complete = await probe.WaitAsync(from, count, deadline).ConfigureAwait(false);
        var seconds = wall.Elapsed.TotalSeconds;
        // A command in the stream is not yet an acked event: the node answers (and acks) once the outbox-delivered
        // marker is written too. How much later every event is acked shows that backlog.
        var acked = complete && await AllAckedAsync(world, deadline).ConfigureAwait(false) ? wall.Elapsed.TotalSeconds - seconds : (double?)null;
        var (self1, nats1) = _cpu.Now();
        var (alloc1, pause1, gen2_1) = (GC.GetTotalAllocatedBytes(), GC.GetTotalPauseDuration(), GC.CollectionCount(2));
        var stats = probe.Stats(from, count);
        if (_allocations is not null && phase != Phase.Latency)
        {
            _allocations.Stop();
            Log($"{system} {tenants} tenants {phase}: " + _allocations.Top(30, stats.Arrived));
        }

        double? perCommit = sut.Commits is { } c1 && commits0 is { } c0 && c1 > c0 ? stats.Arrived / (double)(c1 - c0) : null;
        var row = new Row(system, tenants, phase, stats, rate, (self1 - self0).TotalSeconds / seconds, (nats1 - nats0).TotalSeconds / seconds,
            perCommit, probe.Duplicates - dup0, load.Failures - failures0, acked, complete ? "" : "capped: not all commands arrived",
            stats.Arrived > 0 ? (self1 - self0).TotalMilliseconds * 1000 / stats.Arrived : null,
            stats.Arrived > 0 ? (alloc1 - alloc0) / 1024.0 / stats.Arrived : null, (pause1 - pause0).TotalSeconds / wall.Elapsed.TotalSeconds, gen2_1 - gen2_0,
            probe.DuplicatesOtherMsgId - dupOther0);
        Log($"{system} {tenants} tenants {phase}: " + Report.Progress(row));
        return row;
    }
}
