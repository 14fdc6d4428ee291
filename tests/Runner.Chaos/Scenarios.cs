using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Akka.Configuration;
using NATS.Client.KeyValueStore;
using Runner.Host;
using Runner.Nats;
using Runner.TestKit;

namespace Runner.Chaos;

/// <summary>The result of one scenario: its line and whether it passed.</summary>
internal sealed record ScenarioResult(string Name, bool Passed, string Line);

/// <summary>The scenarios. Each builds its own world, runs bounded in count and time, and judges with the ledger.</summary>
internal sealed partial class Scenarios(ChaosOptions options)
{
    private static readonly string[] ThreeTenants = ["t1", "t2", "t3"];
    private readonly Random _random = new(options.Seed);

    private bool Quick => options.Quick;

    public Task<ScenarioResult> RunAsync(string name, CancellationToken cancellationToken) => name switch
    {
        "kill9" => Kill9Async(cancellationToken),
        "nats-restart" => NatsRestartAsync(cancellationToken),
        "nak-storm" => NakStormAsync(cancellationToken),
        "drain" => DrainAsync(cancellationToken),
        "move" => MoveAsync(cancellationToken),
        "poison" => PoisonAsync(cancellationToken),
        "nats-cluster" => NatsClusterAsync(cancellationToken),
        "node-loss" => NodeLossAsync(cancellationToken),
        "cluster-tenants" => ClusterTenantsAsync(cancellationToken),
        _ => throw new ArgumentException($"unknown scenario {name}", nameof(name)),
    };

    /// <summary>SIGKILL of the node at random moments under load, restarted at once on the same data directory.</summary>
    private async Task<ScenarioResult> Kill9Async(CancellationToken ct)
    {
        var kills = Quick ? 3 : 20;
        var orders = Quick ? 1200 : 7500;
        var clock = Stopwatch.StartNew();
        await using var world = new ChaosWorld("kill9", options);
        var (load, loading) = await OneNodeUnderLoadAsync(world, orders, ct);
        var lastKill = Stopwatch.StartNew();
        for (var k = 0; k < kills; k++)
        {
            var gap = TimeSpan.FromMilliseconds(_random.Next(3000, 10_001));
            var wait = gap - lastKill.Elapsed;
            await Task.Delay(wait > TimeSpan.FromMilliseconds(500) ? wait : TimeSpan.FromMilliseconds(500), ct); // a kill at a random moment
            lastKill.Restart();
            await world.KillNodeAsync("n1");
            await world.StartNodeAsync("n1");
        }

        var (v, settled) = await FinishAsync(world, load, loading, ct);
        return Result(world, "kill9", v, settled, clock, $"kills={kills}");
    }

    /// <summary>nats-server killed and restarted on its store under load; consumption must resume within 2 s.</summary>
    private async Task<ScenarioResult> NatsRestartAsync(CancellationToken ct)
    {
        var restarts = Quick ? 2 : 5;
        var orders = Quick ? 1200 : 6000;
        var clock = Stopwatch.StartNew();
        await using var world = new ChaosWorld("nats-restart", options);
        var (load, loading) = await OneNodeUnderLoadAsync(world, orders, ct);
        var outages = new List<(DateTimeOffset Killed, DateTimeOffset Ready)>();
        for (var r = 0; r < restarts; r++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(Quick ? 2000 : 5000, Quick ? 4001 : 9001)), ct); // a restart at a random moment
            var killed = DateTimeOffset.UtcNow;
            await world.Nats.RestartAsync(TimeSpan.FromSeconds(2), kill: true);
            outages.Add((killed, DateTimeOffset.UtcNow));
        }

        var (v, settled) = await FinishAsync(world, load, loading, ct);

        // Per outage and tenant: from the server being back to the first command of an order placed after that (its
        // ReserveStock needs the tenant's consumption to run again).
        var commands = await Ledger.ReadAsync(world.Js, ChaosWorld.CommandsStream, ct);
        var reserved = commands.Where(c => c.Type == "ReserveStock").GroupBy(c => c.Correlation).ToDictionary(g => g.Key, g => g.Min(c => c.At));
        var resumes = new List<double>();
        foreach (var (_, ready) in outages)
        {
            foreach (var tenant in ThreeTenants)
            {
                var first = load.Orders.Where(o => o.Tenant == tenant && o.AckedAt[0] >= ready && reserved.ContainsKey(o.Id))
                    .Select(o => reserved[o.Id]).DefaultIfEmpty().Min();
                if (first != default) resumes.Add((first - ready).TotalSeconds);
            }
        }

        var p99 = Percentile(resumes, 0.99);
        var resumed = resumes.Count == outages.Count * ThreeTenants.Length && p99 <= 2.0;
        return Result(world, "nats-restart", v, settled && resumed, clock,
            $"restarts={restarts}", $"resume-p99-s={p99.ToString("0.00", CultureInfo.InvariantCulture)}",
            $"resume-max-s={(resumes.Count == 0 ? "n/a" : resumes.Max().ToString("0.00", CultureInfo.InvariantCulture))}");
    }

    /// <summary>5 % of the applications fail as storage errors do, 1 % are answered past the processing timeout.</summary>
    private async Task<ScenarioResult> NakStormAsync(CancellationToken ct)
    {
        var orders = Quick ? 1200 : 6000;
        var clock = Stopwatch.StartNew();
        await using var world = new ChaosWorld("nak-storm", options, """
            runner.runtime.fault-injection { apply-failure-rate = 0.05, slow-apply-rate = 0.01, slow-apply-delay = 3s }
            runner.nats.consumer.processing-timeout = 2s
            """);
        var (load, loading) = await OneNodeUnderLoadAsync(world, orders, ct);
        var (v, settled) = await FinishAsync(world, load, loading, ct);
        var retried = await MetricAsync(world, "n1", "runner_events_retried");
        // The faults must have happened for the run to mean anything.
        return Result(world, "nak-storm", v, settled && retried > 0, clock, $"retried={retried}");
    }

    /// <summary>A node of three drained through its admin endpoint under load; its tenants go on elsewhere.</summary>
    private async Task<ScenarioResult> DrainAsync(CancellationToken ct)
    {
        var orders = Quick ? 1500 : 6000;
        var clock = Stopwatch.StartNew();
        await using var world = new ChaosWorld("drain", options, """
            akka.cluster.sharding.rebalance-interval = 500ms
            runner.nats.consumer.ack-wait = 60s
            """);
        foreach (var n in new[] { "n1", "n2", "n3" }) await world.StartNodeAsync(n, cluster: true);
        var load = new OrderLoad(world.Js, ThreeTenants, orders, 300);
        var loading = load.RunAsync(ct);
        await Task.Delay(TimeSpan.FromSeconds(Quick ? 4 : 15), ct); // under load for a while first

        // The node that runs the most tenants.
        var target = "";
        var most = -1;
        foreach (var n in world.Running)
        {
            using var admin = world.Admin(n);
            var (_, body) = await admin.GetAsync("/admin/tenants");
            var here = body.GetProperty("tenants").EnumerateArray().Count(t => t.GetProperty("runningHere").GetBoolean());
            if (here > most) (target, most) = (n, here);
        }

        var (status, exit) = await world.DrainNodeAsync(target);
        var (v, settled) = await FinishAsync(world, load, loading, ct);
        var latency = await MaxLatencyAsync(world, load, ct);
        // An event that waited for JetStream's AckWait (60 s here) to come back would show as a latency above 30 s.
        var passed = settled && status == HttpStatusCode.OK && exit == 0 && latency < 30;
        return Result(world, "drain", v, passed, clock, $"drained={target}", $"tenants-moved={most}", $"drain-http={(int)status}", $"exit={exit}",
            $"max-latency-s={latency.ToString("0.00", CultureInfo.InvariantCulture)}");
    }

    /// <summary>Every tenant's placement changed twice under load (NATS KV placement, three nodes).</summary>
    private async Task<ScenarioResult> MoveAsync(CancellationToken ct)
    {
        var orders = Quick ? 1500 : 6000;
        var clock = Stopwatch.StartNew();
        await using var world = new ChaosWorld("move", options, "akka.cluster.sharding.rebalance-interval = 500ms");
        var kv = new NatsKVContext(world.Js);
        var bucket = await kv.CreateStoreAsync(new NatsKVConfig(ChaosWorld.PlacementBucket) { History = 1, Storage = NatsKVStorageType.File }, ct);
        string[] nodes = ["n1", "n2", "n3"];
        for (var i = 0; i < ThreeTenants.Length; i++) await bucket.PutAsync(ThreeTenants[i], nodes[i], cancellationToken: ct);
        foreach (var n in nodes) await world.StartNodeAsync(n, cluster: true, placementBucket: true);

        var load = new OrderLoad(world.Js, ThreeTenants, orders, 300);
        var loading = load.RunAsync(ct);
        var moves = 0;
        for (var round = 1; round <= 2; round++)
        {
            await Task.Delay(TimeSpan.FromSeconds(Quick ? 4 : 15), ct); // under load between the rounds of moves
            for (var i = 0; i < ThreeTenants.Length; i++)
            {
                await bucket.PutAsync(ThreeTenants[i], nodes[(i + round) % nodes.Length], cancellationToken: ct);
                moves++;
            }
        }

        var (v, settled) = await FinishAsync(world, load, loading, ct);
        // Each tenant's last commands came from the node the second round placed it on: the moves happened.
        var commands = await Ledger.ReadAsync(world.Js, ChaosWorld.CommandsStream, ct);
        var landed = ThreeTenants.Select((t, i) => commands.Where(c => c.Tenant == t).MaxBy(c => c.Seq)?.Node == nodes[(i + 2) % nodes.Length]).Count(x => x);
        return Result(world, "move", v, settled && landed == ThreeTenants.Length, clock, $"moves={moves}", $"landed={landed}/{ThreeTenants.Length}");
    }

    /// <summary>
    /// Malformed events for one tenant mixed into the backlog of two others: all parked, the others barely slower. One
    /// node, one process, phases run one after the other by placing their tenants (a tenant placed nowhere is not
    /// consumed, so each phase's backlog waits in the stream until its turn): a warm-up, then three baselines (two
    /// tenants' orders, and a third tenant started without events) alternating with two floods (the same, the third
    /// tenant's backlog being poison). The floods' mean rate of the two tenants is compared with the baselines' mean.
    /// </summary>
    private async Task<ScenarioResult> PoisonAsync(CancellationToken ct)
    {
        var ordersPerTenant = Quick ? 1500 : 2000;
        var poison = Quick ? 250 : 1000;
        var clock = Stopwatch.StartNew();
        await using var world = new ChaosWorld("poison", options);
        var kv = new NatsKVContext(world.Js);
        var bucket = await kv.CreateStoreAsync(new NatsKVConfig(ChaosWorld.PlacementBucket) { History = 1, Storage = NatsKVStorageType.File }, ct);
        var settings = NatsSettings.Create(ConfigurationFactory.ParseString($"runner.nats.url = \"{world.Nats.Url}\"").WithFallback(RunnerConfiguration.Defaults()));
        await StreamProvisioner.EnsureAsync(world.Js, settings, ct);

        // Baselines and floods alternate (the noise of a shared machine falls on both); each phase has tenants of its own.
        var phases = new List<(string Name, string[] Tenants, string? Third, OrderLoad Load)>
        {
            ("warm-up", ["w1", "w2"], null, new OrderLoad(world.Js, ["w1", "w2"], Math.Max(200, ordersPerTenant / 4) * 2, 1_000_000)),
        };
        for (var i = 1; i <= 5; i++)
        {
            // Each phase starts a third tenant with its two: the poisoned one in a flood, one without events in a baseline,
            // so that both pay for a tenant's start and the comparison is of the poison alone.
            string[] tenants = [$"r{i}a", $"r{i}b"];
            phases.Add((i % 2 == 0 ? "flood" : "baseline", tenants, i % 2 == 0 ? $"p{i}" : $"q{i}",
                new OrderLoad(world.Js, tenants, ordersPerTenant * 2, 1_000_000)));
        }

        foreach (var phase in phases)
        {
            if (phase.Name == "flood") await Task.WhenAll(phase.Load.RunAsync(ct), OrderLoad.PublishPoisonAsync(world.Js, phase.Third!, poison, ct));
            else await phase.Load.RunAsync(ct);
        }

        await world.StartNodeAsync("n1", placementBucket: true);
        var rates = new List<(string Name, double Rate)>();
        var settled = true;
        long expected = 0;
        foreach (var (name, tenants, third, load) in phases)
        {
            string[] placed = third is null ? tenants : [.. tenants, third];
            foreach (var tenant in placed) await bucket.PutAsync(tenant, "n1", cancellationToken: ct);
            expected += load.Orders.Count * 3;
            settled &= await Ledger.WaitSettledAsync(world.Js, placed, expected, Settle, ct);
            var commands = (await Ledger.ReadAsync(world.Js, ChaosWorld.CommandsStream, ct)).Where(c => tenants.Contains(c.Tenant)).ToList();
            var span = commands.Count < 2 ? 0 : (commands.Max(c => c.At) - commands.Min(c => c.At)).TotalSeconds;
            rates.Add((name, span > 0 ? commands.Count / span : 0));
        }

        var verdicts = new List<Verdict>();
        foreach (var (_, tenants, _, load) in phases) verdicts.Add(await Ledger.JudgeAsync(world, load, tenants.ToHashSet(), ct));
        var v = verdicts.Aggregate((x, y) => new Verdict(x.Events + y.Events, x.Commands + y.Commands, x.Lost + y.Lost, x.Dup + y.Dup,
            x.DupByMsgId + y.DupByMsgId, x.OutOfOrder + y.OutOfOrder, x.Unexpected + y.Unexpected, x.Parked + y.Parked));
        var poisonedTenants = phases.Where(p => p.Name == "flood").Select(p => p.Third!).ToHashSet();
        var parked = (await Ledger.ReadAsync(world.Js, ChaosWorld.DeadLetterStream, ct)).Where(d => poisonedTenants.Contains(d.Tenant)).ToList();
        var baseline = rates.Where(r => r.Name == "baseline").Average(r => r.Rate);
        var flood = rates.Where(r => r.Name == "flood").Average(r => r.Rate);
        var ratio = flood / baseline;
        var poisonTotal = poison * poisonedTenants.Count;
        var passed = settled && parked.Count == poisonTotal && parked.All(p => p.Reason.Length > 0) && ratio >= 0.8;
        return Result(world, "poison", v, passed, clock, $"poison={poison}", $"floods={poisonedTenants.Count}", $"parked={parked.Count}/{poisonTotal}",
            $"rate-baseline={baseline.ToString("0", CultureInfo.InvariantCulture)}",
            $"rate-flood={flood.ToString("0", CultureInfo.InvariantCulture)}", $"ratio={ratio.ToString("0.00", CultureInfo.InvariantCulture)}");
    }

    /// <summary>
    /// Three nats-servers, streams at three replicas, the order load at 300 events/s: a server SIGKILLed and restarted
    /// on its store 5 s later, again and again (the events stream's leader at least twice), then one lost for good. The
    /// longest stall of any tenant (events published and waiting while its applied position did not move, sampled from
    /// the node's /admin/consumers every 200 ms) must stay within 2 s.
    /// </summary>
    private async Task<ScenarioResult> NatsClusterAsync(CancellationToken ct)
    {
        var kills = Quick ? 2 : 5;
        var orders = Quick ? 3000 : 6000;
        var clock = Stopwatch.StartNew();
        await using var world = await ChaosWorld.ClusteredAsync("nats-cluster", options, "", ct);
        var cluster = world.Cluster!;
        var (load, loading) = await OneNodeUnderLoadAsync(world, orders, ct);
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var stalls = new StallMeter(load, ThreeTenants);
        var sampler = stalls.RunAsync(world.Admin("n1"), sampling.Token);

        var leaderKills = 0;
        var log = new List<string>();
        for (var k = 0; k <= kills; k++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(2000, 4001)), ct); // under load for a while first
            await WaitCurrentAsync(world, ct); // a kill takes one server down, never two
            var leader = await NatsClusterFixture.LeaderIndexAsync(world.Js, ChaosWorld.EventsStream, cluster, ct);
            // Even kills go for the events stream's leader; odd ones for another server.
            var victim = k % 2 == 0 && leader >= 0 ? leader : Enumerable.Range(0, 3).Where(i => i != leader).ElementAt(_random.Next(2));
            if (victim == leader) leaderKills++;
            await cluster.Kill(victim);
            log.Add($"{NatsClusterFixture.Name(victim)}{(victim == leader ? "(leader)" : "")}");
            if (k == kills) break; // the last one stays down for the rest of the run
            await Task.Delay(TimeSpan.FromSeconds(5), ct); // down for 5 s
            cluster.Restart(victim);
        }

        // Consumers may have moved to other names: the node says whether each tenant has applied everything.
        var (v, settled) = await FinishAsync(world, load, loading, ct, async c =>
        {
            using var admin = world.Admin("n1");
            var (_, body) = await admin.GetAsync("/admin/consumers");
            var idle = body.GetProperty("consumers").EnumerateArray()
                .Where(x => x.GetProperty("saga").GetString() == "order" && x.GetProperty("running").GetBoolean() && x.GetProperty("lag").GetUInt64() == 0)
                .Select(x => x.GetProperty("tenant").GetString()).ToHashSet();
            return ThreeTenants.All(idle.Contains);
        });
        await sampling.CancelAsync();
        await sampler;
        var maxStall = stalls.MaxStallSeconds;
        Console.WriteLine($"chaos: nats-cluster kills {string.Join(" ", log)}; stalls per tenant [{stalls.Describe()}]");
        // Both runs are judged by the 2 s target: standby consumers take over without waiting for JetStream's leaders.
        const double budget = 2.0;
        var passed = settled && leaderKills >= 2 && maxStall <= budget && stalls.Samples > 0;
        return Result(world, "nats-cluster", v, passed, clock, $"kills={kills}",
            $"max-stall-s={maxStall.ToString("0.00", CultureInfo.InvariantCulture)}", $"stall-budget-s={budget.ToString("0", CultureInfo.InvariantCulture)}",
            $"leader-kills={leaderKills}", $"lost-for-good={log[^1]}");
    }

    private async Task<ScenarioResult> ClusterTenantsAsync(CancellationToken ct)
    {
        var (passed, line) = await new ClusterTenants(options).RunAsync(ct);
        return new ScenarioResult("cluster-tenants", passed, line);
    }

    /// <summary>Waits (bounded) until every replica of the events and commands streams is current.</summary>
    private static async Task WaitCurrentAsync(ChaosWorld world, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var current = true;
            foreach (var stream in new[] { ChaosWorld.EventsStream, ChaosWorld.CommandsStream })
            {
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(TimeSpan.FromSeconds(2));
                    var info = (await world.Js.GetStreamAsync(stream, cancellationToken: timeout.Token)).Info;
                    current &= info.Cluster?.Leader is not null && (info.Cluster.Replicas ?? []).Count == 2 && info.Cluster.Replicas!.All(r => r.Current && !r.Offline);
                }
                catch (Exception) when (!ct.IsCancellationRequested)
                {
                    current = false;
                }
            }

            if (current) return;
            await Task.Delay(200, ct); // the restarted server catches up: a bounded poll of the streams' state
        }
    }

    /// <summary>Starts node n1 and the order load at 300 events/s on three tenants.</summary>
    private static async Task<(OrderLoad Load, Task Loading)> OneNodeUnderLoadAsync(ChaosWorld world, int orders, CancellationToken ct)
    {
        await world.StartNodeAsync("n1");
        var load = new OrderLoad(world.Js, ThreeTenants, orders, 300);
        return (load, load.RunAsync(ct));
    }

    /// <summary>Waits for the load to be published and its effects to settle, then judges them.</summary>
    private async Task<(Verdict Verdict, bool Settled)> FinishAsync(ChaosWorld world, OrderLoad load, Task loading, CancellationToken ct,
        Func<CancellationToken, Task<bool>>? consumersIdle = null)
    {
        await loading;
        var settled = await Ledger.WaitSettledAsync(world.Js, ThreeTenants, load.Orders.Count * 3, Settle, ct, consumersIdle);
        return (await Ledger.JudgeAsync(world, load, ThreeTenants.ToHashSet(), ct), settled);
    }

    private TimeSpan Settle => Quick ? TimeSpan.FromSeconds(90) : TimeSpan.FromMinutes(5);

    /// <summary>The longest time from an event's PubAck to the command it causes, over every order.</summary>
    private static async Task<double> MaxLatencyAsync(ChaosWorld world, OrderLoad load, CancellationToken ct)
    {
        var commands = await Ledger.ReadAsync(world.Js, ChaosWorld.CommandsStream, ct);
        var at = commands.GroupBy(c => (c.Correlation, c.Type)).ToDictionary(g => g.Key, g => g.Min(c => c.At));
        var max = 0.0;
        foreach (var order in load.Orders.Where(o => o.Complete))
        {
            for (var e = 0; e < 3; e++)
            {
                if (at.TryGetValue((order.Id, OrderLoad.CommandTypes[e]), out var t)) max = Math.Max(max, (t - order.AckedAt[e]).TotalSeconds);
            }
        }

        return max;
    }

    private static async Task<long> MetricAsync(ChaosWorld world, string node, string name)
    {
        using var admin = world.Admin(node);
        var (_, body) = await admin.GetAsync("/metrics");
        var text = body.ValueKind == JsonValueKind.String ? body.GetString() ?? "" : body.ToString();
        return text.Split('\n')
            .Where(l => l.StartsWith(name, StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => l[(l.LastIndexOf(' ') + 1)..])
            .Sum(v => (long)double.Parse(v, CultureInfo.InvariantCulture));
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private ScenarioResult Result(ChaosWorld world, string name, Verdict v, bool passed, Stopwatch clock, params string[] extra)
    {
        var ok = passed && v.Clean;
        if (!ok) world.KeepForInspection();
        var line = new StringBuilder($"chaos: scenario={name}");
        foreach (var e in extra.Take(1)) line.Append(' ').Append(e);
        line.Append(CultureInfo.InvariantCulture,
            $" events={v.Events} commands={v.Commands} lost={v.Lost} dup={v.Dup} out-of-order={v.OutOfOrder}");
        foreach (var e in extra.Skip(1)) line.Append(' ').Append(e);
        line.Append(CultureInfo.InvariantCulture,
            $" dup-msgid={v.DupByMsgId} unexpected={v.Unexpected} quick={Quick.ToString().ToLowerInvariant()} seed={options.Seed} seconds={clock.Elapsed.TotalSeconds:0} result={(ok ? "pass" : "fail")}");
        return new ScenarioResult(name, ok, line.ToString());
    }
}
