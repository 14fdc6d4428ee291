using NATS.Client.KeyValueStore;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// Nodes as separate processes on 127.0.0.1, configured by environment alone, against a real nats-server: the
/// cluster forms, tenants run where the allowlist or the placement bucket puts them (each command carries the
/// shard id of the node that published it), a placement change moves a tenant with its state under load, a node
/// started later receives its tenants, and a killed node's tenants wait for it instead of running elsewhere.
/// </summary>
public sealed class ClusterSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private static string Placed(string order, int amount = 1) => $$"""{"orderId":"{{order}}","amount":{{amount}}}""";

    private static string Order(string order) => $$"""{"orderId":"{{order}}"}""";

    [Fact]
    public async Task Allowlisted_tenants_should_run_on_their_own_nodes()
    {
        await using var s = new Scenario(nats);
        await using var cluster = new ClusterNodes(s, nats);
        try
        {
            await cluster.StartAsync("node-a", allowlist: "t1,t2");
            await cluster.StartAsync("node-b", allowlist: "t3,t4");

            foreach (var t in new[] { "t1", "t2", "t3", "t4" }) await s.PublishAsync(t, "OrderPlaced", Placed(t + "-o1"), t + "-e1");

            foreach (var (t, node) in new[] { ("t1", "node-a"), ("t2", "node-a"), ("t3", "node-b"), ("t4", "node-b") })
            {
                var commands = await s.CommandsAsync(t, c => c.Count >= 1, TimeSpan.FromSeconds(60));
                var command = Assert.Single(commands);
                Assert.Equal("ReserveStock", command.CommandType);
                Assert.Equal(node, command.Node);
            }
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + cluster.Output(), e);
        }
    }

    [Fact]
    public async Task A_placement_change_should_move_a_tenant_with_its_state_under_load_losing_and_duplicating_nothing()
    {
        await using var s = new Scenario(nats);
        await using var cluster = new ClusterNodes(s, nats);
        var kv = await OpenPlacementAsync(s, cluster);
        await kv.PutAsync("mv", "node-a");
        try
        {
            await cluster.StartAsync("node-a", placementBucket: true);
            await cluster.StartAsync("node-b", placementBucket: true);
            // The move must find node-b in the cluster while the load runs.
            await cluster.UpAsync("node-a", 2);

            const int Orders = 40;
            for (var o = 0; o < Orders / 2; o++) await s.PublishAsync("mv", "OrderPlaced", Placed($"o{o}", o + 1), $"placed-{o}");
            var before = await s.CommandsAsync("mv", c => c.Count >= Orders / 2, TimeSpan.FromSeconds(60));
            Assert.All(before, c => Assert.Equal("node-a", c.Node));

            // Steady load: orders placed on node-a get their StockReserved, new orders arrive; the move happens mid-way. The last
            // quarter waits until node-b runs the tenant, so that some sagas node-a began are continued by node-b whatever the
            // move takes (a fast node-a had applied every event before a slow move).
            using var b = new AdminClient(cluster.AdminPort("node-b"));
            var load = Task.Run(async () =>
            {
                for (var i = 0; i < Orders / 2; i++)
                {
                    if (i == Orders / 2 - Orders / 8)
                    {
                        await b.UntilAsync("/admin/tenants?search=mv", t => t.GetProperty("tenants").EnumerateArray()
                            .Any(r => r.GetProperty("tenant").GetString() == "mv" && r.GetProperty("runningHere").GetBoolean()), TimeSpan.FromSeconds(60));
                    }

                    await s.PublishAsync("mv", "StockReserved", Order($"o{i}"), $"reserved-{i}");
                    await s.PublishAsync("mv", "OrderPlaced", Placed($"o{Orders / 2 + i}", i + 1), $"placed-{Orders / 2 + i}");
                    if (i == Orders / 8) await kv.PutAsync("mv", "node-b");
                    await Task.Delay(50); // pacing the producer, not waiting for a condition
                }
            });
            await load.WaitAsync(TimeSpan.FromSeconds(120));

            var all = await s.CommandsAsync("mv", c => c.Count >= Orders + Orders / 2, TimeSpan.FromSeconds(90));
            all = await s.CommandsAsync("mv", c => c.Count > Orders + Orders / 2, TimeSpan.FromSeconds(2));

            // Nothing lost, nothing duplicated: every order has exactly its commands, each once.
            Assert.Equal(all.Count, all.Select(c => c.MsgId).Distinct().Count());
            for (var o = 0; o < Orders; o++)
            {
                var expected = o < Orders / 2 ? new[] { "ReserveStock", "ChargePayment" } : ["ReserveStock"];
                var got = all.Where(c => c.MsgId.StartsWith($"mv:order:o{o}:", StringComparison.Ordinal)).Select(c => c.CommandType);
                Assert.Equal(expected, got);
            }

            Assert.Equal(Orders + Orders / 2, all.Count);

            // node-b continued sagas whose earlier events node-a applied: their state came with the tenant.
            var continued = all.Where(c => c is { CommandType: "ChargePayment", Node: "node-b" }).ToList();
            Assert.NotEmpty(continued);
            Assert.Equal("node-b", all[^1].Node);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + cluster.Output(), e);
        }
    }

    [Fact]
    public async Task A_node_started_later_by_env_alone_should_receive_the_tenants_placed_on_it()
    {
        await using var s = new Scenario(nats);
        await using var cluster = new ClusterNodes(s, nats);
        var kv = await OpenPlacementAsync(s, cluster);
        await kv.PutAsync("late", "node-c");
        await kv.PutAsync("early", "node-a");
        try
        {
            await cluster.StartAsync("node-a", placementBucket: true);
            await s.PublishAsync("late", "OrderPlaced", Placed("l1"), "late-1");
            await s.PublishAsync("early", "OrderPlaced", Placed("e1"), "early-1");
            Assert.Equal("node-a", Assert.Single(await s.CommandsAsync("early", c => c.Count >= 1, TimeSpan.FromSeconds(60))).Node);

            // Placed on a node that is not there: not run anywhere.
            Assert.Empty(await s.CommandsAsync("late", c => c.Count >= 1, TimeSpan.FromSeconds(3)));

            await cluster.StartAsync("node-c", placementBucket: true);
            var late = await s.CommandsAsync("late", c => c.Count >= 1, TimeSpan.FromSeconds(60));
            Assert.Equal("node-c", Assert.Single(late).Node);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + cluster.Output(), e);
        }
    }

    [Fact]
    public async Task A_killed_nodes_tenants_should_wait_for_it_and_resume_with_their_state_when_it_returns()
    {
        await using var s = new Scenario(nats);
        await using var cluster = new ClusterNodes(s, nats);
        try
        {
            await cluster.StartAsync("node-a", allowlist: "ka");
            await cluster.StartAsync("node-b", allowlist: "kb");
            await s.PublishAsync("kb", "OrderPlaced", Placed("k1"), "kb-1");
            Assert.Equal("node-b", Assert.Single(await s.CommandsAsync("kb", c => c.Count >= 1, TimeSpan.FromSeconds(60))).Node);

            await cluster.KillAsync("node-b");
            await s.PublishAsync("kb", "StockReserved", Order("k1"), "kb-2");
            await s.PublishAsync("ka", "OrderPlaced", Placed("k2"), "ka-1");

            // node-a keeps working; kb's event waits: nothing runs kb without its state.
            Assert.Equal("node-a", Assert.Single(await s.CommandsAsync("ka", c => c.Count >= 1, TimeSpan.FromSeconds(60))).Node);
            Assert.Single(await s.CommandsAsync("kb", c => c.Count >= 2, TimeSpan.FromSeconds(8)));

            await cluster.StartAsync("node-b");
            var kb = await s.CommandsAsync("kb", c => c.Count >= 2, TimeSpan.FromSeconds(90));
            Assert.Equal(["ReserveStock", "ChargePayment"], kb.Select(c => c.CommandType));
            Assert.All(kb, c => Assert.Equal("node-b", c.Node));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + cluster.Output(), e);
        }
    }

    [Fact]
    public async Task Draining_a_node_under_load_should_move_its_open_tenant_with_its_state_losing_and_duplicating_nothing()
    {
        await using var s = new Scenario(nats);
        await using var cluster = new ClusterNodes(s, nats);
        try
        {
            // Neither node has an allowlist or a bucket: both are open. The tenant starts on node-a, alone; node-b starts just before
            // the drain, so the drain often finds it still joining (not Up, not a place yet) and waits for it to take the tenant.
            await cluster.StartAsync("node-a");
            const int Orders = 30;
            for (var o = 0; o < Orders; o++) await s.PublishAsync("dr", "OrderPlaced", Placed($"o{o}", o + 1), $"placed-{o}");
            var before = await s.CommandsAsync("dr", c => c.Count >= Orders, TimeSpan.FromSeconds(60));
            const string first = "node-a";
            Assert.All(before, c => Assert.Equal(first, c.Node));
            await cluster.StartAsync("node-b");

            // Load while the node that runs the tenant drains: StockReserved for every order, which only the moved state turns into ChargePayment.
            var load = Task.Run(async () =>
            {
                for (var o = 0; o < Orders; o++)
                {
                    await s.PublishAsync("dr", "StockReserved", Order($"o{o}"), $"reserved-{o}");
                    await Task.Delay(40); // pacing the producer
                }
            });
            var port = cluster.AdminPort(first);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(3) };
            using var response = await http.PostAsync(new Uri($"http://127.0.0.1:{port}/admin/drain?wait=true"), null);
            var receipt = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, receipt);
            const string other = "node-b";
            using (var doc = System.Text.Json.JsonDocument.Parse(receipt))
            {
                Assert.True(doc.RootElement.GetProperty("complete").GetBoolean(), receipt);
                var dr = Assert.Single(doc.RootElement.GetProperty("tenants").EnumerateArray());
                Assert.Equal(("dr", 0, true), (dr.GetProperty("tenant").GetString(), dr.GetProperty("outboxPending").GetInt32(),
                    dr.GetProperty("inFlightFinished").GetBoolean()));
                Assert.StartsWith($"released to {other}", dr.GetProperty("custody").GetString(), StringComparison.Ordinal); // the state went along
                Assert.True(dr.GetProperty("lastAcked").GetProperty("order").GetUInt64() >= Orders, receipt);
            }

            await load.WaitAsync(TimeSpan.FromSeconds(60));

            var all = await s.CommandsAsync("dr", c => c.Count >= 2 * Orders, TimeSpan.FromSeconds(90));
            all = await s.CommandsAsync("dr", c => c.Count > 2 * Orders, TimeSpan.FromSeconds(2));
            Assert.Equal(2 * Orders, all.Count);
            Assert.Equal(all.Count, all.Select(c => c.MsgId).Distinct().Count());
            for (var o = 0; o < Orders; o++)
                Assert.Equal(["ReserveStock", "ChargePayment"], all.Where(c => c.MsgId.StartsWith($"dr:order:o{o}:", StringComparison.Ordinal)).Select(c => c.CommandType));
            Assert.Contains(all, c => c is { CommandType: "ChargePayment" } && c.Node == other);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + cluster.Output(), e);
        }
    }

    [Fact]
    public async Task Replays_and_saga_views_asked_on_any_node_should_run_on_the_node_that_runs_the_tenant()
    {
        await using var s = new Scenario(nats);
        await using var cluster = new ClusterNodes(s, nats);
        try
        {
            await cluster.StartAsync("node-a", allowlist: "t1");
            await cluster.StartAsync("node-b", allowlist: "t2");
            await s.PublishAsync("t1", "OrderPlaced", Placed("r-1"), "r-1");
            await s.CommandsAsync("t1", c => c.Count >= 1, TimeSpan.FromSeconds(60));

            // Asked on node-b, answered by node-a from its own LMDB.
            using var b = new AdminClient(cluster.AdminPort("node-b"));
            var saga = await b.UntilAsync("/admin/tenants/t1/sagas/order/r-1", j => j.GetProperty("sequenceNr").GetInt64() >= 2, TimeSpan.FromSeconds(60));
            Assert.Equal("AwaitingStock", saga.GetProperty("status").GetString());
            var id = await b.StartReplayAsync("t1", "order", "checkpoint_only");
            var done = await b.WaitReplayAsync(id, TimeSpan.FromSeconds(60));
            Assert.Equal("node-a", done.GetProperty("node").GetString());
            Assert.Equal(1, done.GetProperty("counts").GetProperty("duplicates").GetInt32());
            var list = await b.OkAsync("/admin/tenants/t1/sagas");
            Assert.Equal("r-1", Assert.Single(list.GetProperty("instances").EnumerateArray()).GetProperty("correlationId").GetString());
            Assert.Single(await s.CommandsAsync("t1", c => c.Count > 1, TimeSpan.FromSeconds(1)));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + cluster.Output(), e);
        }
    }

    private static async Task<INatsKVStore> OpenPlacementAsync(Scenario s, ClusterNodes cluster)
    {
        var kv = new NatsKVContext((NATS.Client.JetStream.NatsJSContext)s.Js);
        return await kv.CreateStoreAsync(new NatsKVConfig(cluster.PlacementBucket));
    }
}
