using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Runner.TestKit;

namespace Runner.Chaos;

/// <summary>The scenario <c>node-loss</c>: a node and its disk lost for good, its tenants taken over from the replicated journal.</summary>
internal sealed partial class Scenarios
{
    private static readonly string[] ThreeNodes = ["n1", "n2", "n3"];

    /// <summary>The product's goal: a lost node's tenants consume again within this long of the node being downed.</summary>
    private static readonly TimeSpan ResumeGoal = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Three nodes in one cluster with open placement (every node takes any tenant) on three nats-servers (streams at three
    /// replicas), journal replication on (<c>RUNNER_REPLICATION</c>), the split-brain resolver's stable-after at 3 s; the
    /// order load on 12 tenants [6], and one unpaid order per tenant whose payment timeout falls due 5 s after the kill.
    /// The node of n2 and n3 that runs the most tenants is SIGKILLed under load, its data directory deleted, and never
    /// restarted: the survivors down it, and custody on a survivor takes each of its tenants over from the replicated
    /// journal. Per lost tenant, from the member seen downed (n1's <c>/admin/cluster</c>) to the tenant consuming again on a
    /// survivor (running there and past where it was, sampled every 200 ms): the p99 must be within 10 s, and every unpaid
    /// order's timer must fire, once. With <c>--replication off</c> the lost node's tenants stay stopped (their home record
    /// names the dead node): the scenario shows that by failing.
    /// </summary>
    private async Task<ScenarioResult> NodeLossAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var limit = Quick ? TimeSpan.FromMinutes(3) : TimeSpan.FromMinutes(6);
        // The scenario's own budget inside the suite's cap: a takeover that never comes ends in a line of its own.
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        budget.CancelAfter(limit);
        var phase = "starting three nats-servers";
        ChaosWorld? world = null;
        var admins = new Dictionary<string, AdminEndpoint>(StringComparer.Ordinal);
        var judged = false;
        try
        {
            // The payment timeout is the order saga's one timer: long enough that no order of the load outlives it across the takeover.
            world = await ChaosWorld.ClusteredAsync("node-loss", options, $"""
                runner.samples.order.payment-timeout = {NodeLossPaymentTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s
                akka.cluster.split-brain-resolver.stable-after = {options.StableAfter.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s
                """, budget.Token);
            phase = "starting three nodes";
            var env = new Dictionary<string, string> { ["RUNNER_REPLICATION"] = Replication };
            foreach (var n in ThreeNodes)
            {
                await world.StartNodeAsync(n, cluster: true, extraEnv: env);
                admins[n] = world.Admin(n, TimeSpan.FromSeconds(10));
            }

            var result = await NodeLossUnderLoadAsync(world, admins, clock, p => phase = p, budget.Token);
            judged = true;
            return result;
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new ScenarioResult("node-loss", false,
                $"chaos: scenario=node-loss error=\"over its budget of {limit.TotalSeconds:0} s while {phase}\" replication={Replication} " +
                $"quick={Quick.ToString().ToLowerInvariant()} seed={options.Seed} seconds={clock.Elapsed.TotalSeconds:0} result=fail");
        }
        finally
        {
            foreach (var admin in admins.Values) admin.Dispose();
            if (world is not null)
            {
                // A scenario that ended without its verdict (over budget, a node that did not start) keeps its logs.
                if (!judged) world.KeepForInspection();
                await world.DisposeAsync();
            }
        }
    }

    private string Replication => (options.Replication ?? true) ? "on" : "off";

    private TimeSpan NodeLossPaymentTimeout => TimeSpan.FromSeconds(Quick ? 30 : 60);

    private async Task<ScenarioResult> NodeLossUnderLoadAsync(ChaosWorld world, Dictionary<string, AdminEndpoint> admins, Stopwatch clock, Action<string> phase,
        CancellationToken ct)
    {
        string[] tenants = [.. Enumerable.Range(1, Quick ? 6 : 12).Select(i => "t" + i.ToString(CultureInfo.InvariantCulture))];
        var rate = Quick ? 150 : 300;
        // Long enough to run through the kill (about 30 s [60] in) and the takeover; a tenant caught up after the load counts as consuming.
        var loadSeconds = Quick ? 70 : 130;
        var resumeWithin = Quick ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(60);
        var stableAfter = options.StableAfter;
        var n1 = admins["n1"];
        phase("forming one cluster of three");
        await UntilAsync(async () => (await MembersAsync(n1)).Count(m => m.Status == "Up") == 3, TimeSpan.FromSeconds(60),
            "the three nodes did not form one cluster within 60 s", ct);

        var load = new OrderLoad(world.Js, tenants, rate * loadSeconds / 3, rate);
        var loading = load.RunAsync(ct);
        phase("waiting for every node to run tenants");
        Dictionary<string, List<ConsumerRow>> rows = [];
        await UntilAsync(async () =>
        {
            rows = await ConsumerRowsAsync(admins, ThreeNodes);
            var consuming = rows.Values.SelectMany(r => r).Where(r => r.Running && r.Applied > 0).Select(r => r.Tenant).ToHashSet();
            return ThreeNodes.All(n => rows[n].Any(r => r.Running)) && tenants.All(consuming.Contains);
        }, TimeSpan.FromSeconds(60), "within 60 s of the load, not every node ran tenants (or not every tenant consumed)", ct);

        // One unpaid order per tenant: its payment timeout falls due 5 s after the kill, so the lost node's ones are due while
        // it is gone, and fire (late) on the survivor that took the tenant over, from the timers in the rebuilt journal.
        phase("placing the unpaid orders");
        var unpaid = tenants.ToDictionary(t => t, t => $"{t}-unpaid", StringComparer.Ordinal);
        var placed = Stopwatch.StartNew();
        var unpaidSeqs = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var t in tenants) unpaidSeqs[t] = await OrderLoad.PublishOrderPlacedAsync(world.Js, t, unpaid[t], ct);
        var untilKill = NodeLossPaymentTimeout - TimeSpan.FromSeconds(5) - placed.Elapsed;
        if (untilKill > TimeSpan.Zero) await Task.Delay(untilKill, ct); // under load until the kill moment (a time, not a condition)

        // The node of n2 and n3 (n1 is the seed) that runs the most tenants, with where each of them stood.
        phase("choosing the node to lose");
        rows = await ConsumerRowsAsync(admins, ThreeNodes);
        var target = ThreeNodes.Skip(1).OrderByDescending(n => rows[n].Count(r => r.Running)).ThenBy(_ => _random.Next()).First();
        var lost = rows[target].Where(r => r.Running).ToDictionary(r => r.Tenant, r => r.Applied, StringComparer.Ordinal);
        string[] survivors = [.. ThreeNodes.Where(n => n != target)];

        phase($"losing {target}");
        var sinceKill = Stopwatch.StartNew();
        await world.KillNodeAsync(target);
        world.DeleteDataDirectory(target);

        // The survivors' view of the lost member, every 100 ms: unreachable first, then downed by the split-brain resolver.
        phase($"waiting for the survivors to down {target}");
        TimeSpan? unreachable = null;
        TimeSpan? downed = null;
        var detectWithin = stableAfter + TimeSpan.FromSeconds(60);
        while (downed is null && sinceKill.Elapsed < detectWithin)
        {
            var members = await MembersAsync(n1);
            var member = members.FirstOrDefault(m => m.ShardId == target);
            // An empty answer (no members at all, not even n1) says nothing: asked again.
            if (members.Count > 0 && (member is null || member.Status is "Down" or "Removed")) downed = sinceKill.Elapsed;
            else if (member is { Reachable: false }) unreachable ??= sinceKill.Elapsed;
            if (downed is null) await Task.Delay(100, ct); // polling the survivor's membership for the condition
        }

        // Per lost tenant: the first sample in which a survivor runs it past where it stood on the lost node (or caught up
        // with everything published to it, once the load is over).
        var resumed = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        if (downed is { } seen)
        {
            phase($"waiting for {target}'s tenants to consume again on {string.Join(" or ", survivors)}");
            while (resumed.Count < lost.Count && sinceKill.Elapsed < seen + resumeWithin)
            {
                var published = PublishedUpTo(load, unpaidSeqs);
                foreach (var r in (await ConsumerRowsAsync(admins, survivors)).Values.SelectMany(r => r))
                {
                    if (r.Running && lost.TryGetValue(r.Tenant, out var before) && !resumed.ContainsKey(r.Tenant)
                        && (r.Applied > before || r.Applied >= published.GetValueOrDefault(r.Tenant)))
                        resumed[r.Tenant] = sinceKill.Elapsed;
                }

                if (resumed.Count < lost.Count) await Task.Delay(200, ct); // the sampling period of the survivors' consumption
            }
        }

        phase("finishing the load");
        await loading;
        var allResumed = downed is not null && resumed.Count == lost.Count;
        phase("waiting for the effects to settle");
        // Tenants that never resumed will not settle: a short wait for what is in flight, then the ledger says what is missing.
        var settled = await Ledger.WaitSettledAsync(world.Js, tenants, load.Orders.Count * 3 + tenants.Length * 2, allResumed ? Settle : TimeSpan.FromSeconds(15), ct,
            async _ =>
            {
                var idle = (await ConsumerRowsAsync(admins, survivors)).Values.SelectMany(r => r).Where(r => r.Running && r.Lag == 0).Select(r => r.Tenant).ToHashSet();
                return tenants.All(idle.Contains);
            });

        phase("judging");
        var unpaidIds = unpaid.Values.ToHashSet(StringComparer.Ordinal);
        var v = await Ledger.JudgeAsync(world, load, tenants.ToHashSet(), ct, unpaidIds);
        var unpaidCommands = (await Ledger.ReadAsync(world.Js, ChaosWorld.CommandsStream, ct)).Where(c => unpaidIds.Contains(c.Correlation)).ToList();
        var fired = unpaidCommands.Where(c => c.Type == "CancelOrder").Select(c => c.Correlation).ToHashSet(StringComparer.Ordinal);
        var unpaidDup = unpaidCommands.Count - unpaidCommands.Select(c => (c.Correlation, c.Type)).Distinct().Count();
        var late = new List<double>();
        foreach (var (t, id) in unpaid.Where(u => fired.Contains(u.Value)))
        {
            if (await TimerLateSecondsAsync(n1, t, id) is { } s) late.Add(s);
        }

        var detect = downed?.TotalSeconds ?? double.NaN;
        var resumes = resumed.Values.Select(r => (r - downed!.Value).TotalSeconds).ToList();
        var p99 = allResumed ? Percentile(resumes, 0.99) : double.NaN;
        static string F(double x) => double.IsNaN(x) ? "n/a" : x.ToString("0.00", CultureInfo.InvariantCulture);
        Console.WriteLine($"chaos: node-loss killed {target} running [{string.Join(" ", lost.Keys.Order(StringComparer.Ordinal))}]; unreachable after {F(unreachable?.TotalSeconds ?? double.NaN)} s, " +
                          $"downed after {F(detect)} s; resumed [{string.Join(" ", lost.Keys.Order(StringComparer.Ordinal).Select(t => resumed.TryGetValue(t, out var r) ? $"{t}={F((r - downed!.Value).TotalSeconds)}s" : t + "=never"))}]");
        if (downed is null)
            Console.WriteLine($"chaos: node-loss: the survivors did not see {target} downed within {detectWithin.TotalSeconds:0} s of the kill");
        else if (!allResumed)
        {
            Console.WriteLine($"chaos: node-loss: {lost.Count - resumed.Count} of {target}'s {lost.Count} tenant(s) did not consume again on a survivor within " +
                              $"{resumeWithin.TotalSeconds:0} s of it being downed" +
                              ((options.Replication ?? true) ? "" : " (replication off: custody refuses them while their home record names the lost node)"));
        }

        var passed = settled && allResumed && p99 <= ResumeGoal.TotalSeconds && fired.Count == tenants.Length && unpaidDup == 0;
        return Result(world, "node-loss", v, passed, clock, $"nodes=3 tenants={tenants.Length}",
            $"resume-p99-s={F(p99)}", $"detect-s={F(detect)}", $"stable-after-s={stableAfter.TotalSeconds.ToString(CultureInfo.InvariantCulture)}",
            $"replication={Replication}", $"killed={target}", $"resumed={resumed.Count}/{lost.Count}", $"timers={fired.Count}/{tenants.Length}",
            $"timers-dup={unpaidDup}", $"timers-late-max-s={F(late.DefaultIfEmpty(double.NaN).Max())}");
    }

    /// <summary>Per tenant, the highest stream sequence acknowledged to the load so far.</summary>
    private static Dictionary<string, ulong> PublishedUpTo(OrderLoad load, Dictionary<string, ulong> unpaidSeqs)
    {
        var published = new Dictionary<string, ulong>(unpaidSeqs, StringComparer.Ordinal);
        foreach (var order in load.Orders)
        {
            for (var e = 0; e < 3; e++)
            {
                var seq = Volatile.Read(ref order.Seqs[e]);
                if (seq > published.GetValueOrDefault(order.Tenant)) published[order.Tenant] = seq;
            }
        }

        return published;
    }

    /// <summary>
    /// How long after its due time the unpaid order's payment timeout fired, both read from the instance's journal (the
    /// <c>dueAt</c> its <c>OrderPlaced</c> scheduled, the <c>at</c> of the timer's application); null when unreadable.
    /// </summary>
    private static async Task<double?> TimerLateSecondsAsync(AdminEndpoint admin, string tenant, string orderId)
    {
        var (status, body) = await admin.GetAsync($"/admin/tenants/{tenant}/sagas/order/{Uri.EscapeDataString(orderId)}?history=20");
        if (status != System.Net.HttpStatusCode.OK) return null;
        DateTimeOffset? due = null;
        DateTimeOffset? firedAt = null;
        foreach (var e in body.GetProperty("history").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "applied"))
        {
            if (e.TryGetProperty("scheduled", out var scheduled) && scheduled.ValueKind == JsonValueKind.Array)
            {
                foreach (var timer in scheduled.EnumerateArray().Where(x => x.GetProperty("name").GetString() == "payment-timeout"))
                    due = timer.GetProperty("dueAt").GetDateTimeOffset();
            }

            if (e.GetProperty("trigger").GetString()?.StartsWith("timer:", StringComparison.Ordinal) == true) firedAt = e.GetProperty("at").GetDateTimeOffset();
        }

        return due is { } d && firedAt is { } f ? (f - d).TotalSeconds : null;
    }

    private sealed record Member(string? ShardId, string Status, bool Reachable);

    private static async Task<List<Member>> MembersAsync(AdminEndpoint admin)
    {
        var (_, body) = await admin.GetAsync("/admin/cluster");
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("members", out var members)) return [];
        return [.. members.EnumerateArray().Select(m => new Member(
            m.TryGetProperty("shardId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null,
            m.GetProperty("status").GetString() ?? "",
            m.GetProperty("reachable").GetBoolean()))];
    }

    private sealed record ConsumerRow(string Tenant, bool Running, ulong Applied, ulong Lag);

    /// <summary>The order saga's consumption on each node, from its <c>/admin/consumers</c> (the node's own bookkeeping).</summary>
    private static async Task<Dictionary<string, List<ConsumerRow>>> ConsumerRowsAsync(Dictionary<string, AdminEndpoint> admins, IEnumerable<string> nodes)
    {
        var result = new Dictionary<string, List<ConsumerRow>>(StringComparer.Ordinal);
        foreach (var n in nodes)
        {
            var (_, body) = await admins[n].GetAsync("/admin/consumers");
            result[n] = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("consumers", out var consumers)
                ? [.. consumers.EnumerateArray().Where(c => c.GetProperty("saga").GetString() == "order").Select(c => new ConsumerRow(
                    c.GetProperty("tenant").GetString()!, c.GetProperty("running").GetBoolean(), c.GetProperty("appliedSeq").GetUInt64(), c.GetProperty("lag").GetUInt64()))]
                : [];
        }

        return result;
    }

    /// <summary>Polls <paramref name="condition"/> every 250 ms until it holds; past <paramref name="within"/> the scenario fails with <paramref name="failure"/>.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan within, string failure, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > within) throw new TimeoutException("node-loss: " + failure);
            await Task.Delay(250, ct); // polling the nodes' own views for the condition
        }
    }
}
