using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Runner.TestKit;

namespace Runner.Chaos;

/// <summary>
/// The measurement <c>cluster-tenants</c> (not part of <c>all</c>): many tenants on one node on a three-server cluster
/// (streams at three replicas, consumers at one with standbys). How long until every tenant consumes with a standby on
/// each other server; what that costs NATS while idle (consumers, CPU, memory); then the events stream's leader (and
/// with it about a third of the active consumers) is SIGKILLed and every tenant gets one order at once: the longest time
/// any tenant took from its event's PubAck to applying it may exceed that of the same burst with every server up (the
/// node creating 1,000 instances at once) by at most 2 s, with every order's first command published once.
/// </summary>
internal sealed class ClusterTenants(ChaosOptions options)
{
    private static readonly TimeSpan Within = TimeSpan.FromMinutes(5);

    public async Task<(bool Passed, string Line)> RunAsync(CancellationToken ct)
    {
        var count = options.Quick ? 200 : 1000;
        var tenants = Enumerable.Range(1, count).Select(i => "c" + i.ToString("0000", CultureInfo.InvariantCulture)).ToList();
        var clock = Stopwatch.StartNew();
        var allow = string.Join(", ", tenants.Select(t => $"\"{t}\""));
        await using var world = await ChaosWorld.ClusteredAsync("cluster-tenants", options, $"runner.tenants.allowlist = [{allow}]\n", ct);
        var cluster = world.Cluster!;

        var starting = Stopwatch.StartNew();
        var node = await world.StartNodeAsync("n1");
        using var admin = world.Admin("n1");
        await UntilAsync(admin, rows => rows.Count(r => r.Running) == count, ct);
        var startS = starting.Elapsed.TotalSeconds;
        await UntilAsync(admin, rows => rows.Count(r => r.Running && r.Standbys == 2) == count, ct);
        var standbyS = starting.Elapsed.TotalSeconds;

        // Idle: what the tenants cost NATS and the node for 20 s with nothing to do.
        var stream = await world.Js.GetStreamAsync(ChaosWorld.EventsStream, cancellationToken: ct);
        var consumers = stream.Info.State.ConsumerCount;
        var pids = cluster.Servers.Select(s => s.Pid ?? 0).ToArray();
        var before = pids.Select(CpuTicks).ToArray();
        var nodeBefore = CpuTicks(node.Pid);
        var idle = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(20), ct); // the idle window measured
        var seconds = idle.Elapsed.TotalSeconds;
        var natsCores = pids.Select((p, i) => (CpuTicks(p) - before[i]) / 100.0 / seconds).Sum();
        var nodeCores = (CpuTicks(node.Pid) - nodeBefore) / 100.0 / seconds;
        var natsMb = pids.Sum(RssMb);
        var nodeMb = RssMb(node.Pid);

        // A burst with every server up first: one order per tenant at once, the node creating 1,000 instances; what it costs
        // is the baseline the burst after the kill is compared with.
        var baseline = await BurstAsync(world, admin, tenants, "a", ct);

        // The events stream's leader goes (publishes wait for an election, and about a third of the active consumers go with
        // it); every tenant gets another order at once.
        var rows = await RowsAsync(admin);
        var leader = await NatsClusterFixture.LeaderIndexAsync(world.Js, ChaosWorld.EventsStream, cluster, ct);
        var victim = leader >= 0 ? leader : cluster.IndexOf(rows.GroupBy(r => r.Server).OrderByDescending(g => g.Count()).First().Key);
        var hosted = rows.Count(r => r.Server == NatsClusterFixture.Name(victim));
        await cluster.Kill(victim);
        var afterKill = await BurstAsync(world, admin, tenants, "b", ct);

        // Every order's first command, once (the outbox publishes after the event is applied: waited for, bounded).
        Dictionary<string, int> reserved;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var commands = await Ledger.ReadAsync(world.Js, ChaosWorld.CommandsStream, ct);
            reserved = commands.Where(c => c.Type == "ReserveStock").GroupBy(c => c.Correlation).ToDictionary(g => g.Key, g => g.Count());
            if (reserved.Count >= 2 * count || DateTime.UtcNow > until) break;
            await Task.Delay(500, ct); // the outbox catching up after the commands stream's election
        }

        var lost = tenants.Sum(t => (reserved.ContainsKey(OrderId(t, "a")) ? 0 : 1) + (reserved.ContainsKey(OrderId(t, "b")) ? 0 : 1));
        var dup = reserved.Values.Sum(n => n - 1);
        var applied = baseline.Applied + afterKill.Applied;
        var added = afterKill.Max - baseline.Max;

        // The kill may add at most 2 s to the longest PubAck-to-applied time of the same burst with every server up.
        var passed = applied == 2 * count && lost == 0 && dup == 0 && added <= 2.0;
        string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        var line = new StringBuilder().Append(CultureInfo.InvariantCulture,
            $"chaos: scenario=cluster-tenants tenants={count} consumers={consumers} start-s={F(startS)} standbys-s={F(standbyS)} ");
        line.Append(CultureInfo.InvariantCulture,
            $"idle-nats-cores={F(natsCores)} idle-node-cores={F(nodeCores)} nats-rss-mb={natsMb:0} node-rss-mb={nodeMb:0} ");
        line.Append(CultureInfo.InvariantCulture,
            $"killed={NatsClusterFixture.Name(victim)}{(victim == leader ? "(leader)" : "")} its-consumers={hosted} published-s={F(afterKill.PublishedS)} ");
        line.Append(CultureInfo.InvariantCulture,
            $"applied={applied} lost={lost} dup={dup} base-p99-s={F(baseline.P99)} base-max-s={F(baseline.Max)} kill-p99-s={F(afterKill.P99)} kill-max-s={F(afterKill.Max)} added-s={F(added)} seed={options.Seed} seconds={clock.Elapsed.TotalSeconds:0} result={(passed ? "pass" : "fail")}");
        return (passed, line.ToString());
    }

    private static string OrderId(string tenant, string round) => $"o-{tenant}-{round}";

    private sealed record Burst(int Applied, double P99, double Max, double PublishedS);

    /// <summary>
    /// Publishes one order per tenant at once (retrying while the stream has no leader) and measures, per tenant, from its
    /// PubAck to the node's applied position passing it (sampled every 100 ms).
    /// </summary>
    private static async Task<Burst> BurstAsync(ChaosWorld world, AdminEndpoint admin, List<string> tenants, string round, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var acked = new Dictionary<string, (ulong Seq, TimeSpan At)>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(tenants, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (tenant, c) =>
        {
            var seq = await OrderLoad.PublishOrderPlacedAsync(world.Js, tenant, OrderId(tenant, round), c);
            lock (acked) acked[tenant] = (seq, clock.Elapsed);
        });

        var applied = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + Within;
        while (applied.Count < tenants.Count && DateTime.UtcNow < deadline)
        {
            foreach (var r in await RowsAsync(admin))
            {
                if (!applied.ContainsKey(r.Tenant) && acked.TryGetValue(r.Tenant, out var a) && r.Applied >= a.Seq) applied[r.Tenant] = clock.Elapsed;
            }

            await Task.Delay(100, ct); // the sampling period of the applied positions
        }

        var latencies = applied.Select(kv => (kv.Value - acked[kv.Key].At).TotalSeconds).Order().ToList();
        var p99 = latencies.Count == 0 ? double.NaN : latencies[(int)Math.Ceiling(latencies.Count * 0.99) - 1];
        return new Burst(applied.Count, p99, latencies.DefaultIfEmpty(double.NaN).Max(), acked.Values.Max(a => a.At).TotalSeconds);
    }

    private sealed record Row(string Tenant, bool Running, int Standbys, string Server, ulong Applied);

    private static async Task<List<Row>> RowsAsync(AdminEndpoint admin)
    {
        var (_, body) = await admin.GetAsync("/admin/consumers");
        if (!body.TryGetProperty("consumers", out var consumers)) return [];
        return consumers.EnumerateArray().Select(c => new Row(
            c.GetProperty("tenant").GetString()!,
            c.GetProperty("running").GetBoolean(),
            c.TryGetProperty("standbys", out var s) ? s.GetArrayLength() : 0,
            c.TryGetProperty("server", out var server) && server.ValueKind == JsonValueKind.String ? server.GetString()! : "",
            c.GetProperty("appliedSeq").GetUInt64())).ToList();
    }

    private static async Task UntilAsync(AdminEndpoint admin, Func<List<Row>, bool> condition, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + Within;
        while (!condition(await RowsAsync(admin)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"cluster-tenants: the node did not get there within {Within}");
            await Task.Delay(500, ct); // polling the node's own view
        }
    }

    /// <summary>User + system CPU time of a process in clock ticks (1/100 s), from /proc.</summary>
    private static long CpuTicks(int pid)
    {
        if (pid <= 0 || !File.Exists($"/proc/{pid}/stat")) return 0;
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static double RssMb(int pid)
    {
        if (pid <= 0 || !File.Exists($"/proc/{pid}/status")) return 0;
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}
