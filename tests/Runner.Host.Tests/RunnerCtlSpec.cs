using System.Text.Json;
using Runner.Ctl;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary><c>runnerctl</c> against a running node process: every verb it has, tables and JSON, exit codes.</summary>
public sealed class RunnerCtlSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private const string Token = "ctl-token";

    private static async Task<(int Code, string Out, string Err)> Ctl(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Runs <paramref name="args"/> until <paramref name="done"/> holds for the answer (or 30 seconds pass) and returns the last answer.</summary>
    private static async Task<(int Code, string Out, string Err)> CtlUntil(Func<(int Code, string Out, string Err), bool> done, params string[] args)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var answer = await Ctl(args);
            if (done(answer) || DateTime.UtcNow > deadline) return answer;
            await Task.Delay(100); // polling the node for the condition
        }
    }

    private static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private static int Count(JsonElement replay, string name) => replay.GetProperty("counts").GetProperty(name).GetInt32();


    [Fact]
    public async Task Runnerctl_should_show_cluster_regions_tenants_and_drain_a_node()
    {
        await using var s = new Scenario(nats);
        var env = NodeEnvironment.For(s, nats, "runner.samples.order.payment-timeout = 1h");
        env["RUNNER_ADMIN_TOKEN"] = Token;
        await using var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
        var at = "127.0.0.1:" + env["RUNNER_ADMIN_PORT"];
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"c-1","amount":3}""", "ctl-1");
        await s.CommandsAsync("acme", c => c.Count >= 1, TimeSpan.FromSeconds(60));

        // Without the token: refused, exit 1, the node's message.
        var refused = await Ctl(at, "cluster", "show");
        Assert.Equal(1, refused.Code);
        Assert.Contains("401", refused.Err, StringComparison.Ordinal);

        var cluster = await Ctl(at, "cluster", "show", "--token", Token);
        Assert.Equal(0, cluster.Code);
        Assert.Contains(s.Name, cluster.Out, StringComparison.Ordinal);
        Assert.Contains("leader akka.tcp://runner@", cluster.Out, StringComparison.Ordinal);

        var regions = await Ctl(at, "cluster-sharding", "regions", "--token", Token, "--json");
        using (var doc = JsonDocument.Parse(regions.Out))
            Assert.Contains(doc.RootElement.GetProperty("regions").EnumerateArray(), r => r.GetProperty("tenants").EnumerateArray().Any(t => t.GetString() == "acme"));

        var list = await Ctl(at, "tenants", "list", "--token", Token);
        Assert.Equal(0, list.Code);
        Assert.Contains("acme", list.Out, StringComparison.Ordinal);
        var show = await Ctl(at, "tenant", "show", "acme", "--token", Token);
        Assert.Contains("is placed on " + s.Name, show.Out, StringComparison.Ordinal);
        Assert.Equal(2, (await Ctl(at, "tenant", "show", "Bad.Tenant", "--token", Token)).Code);
        var unknown = await Ctl(at, "tenant", "show", "nobody", "--token", Token);
        Assert.Equal((1, true), (unknown.Code, unknown.Err.Contains("404", StringComparison.Ordinal)));
        Assert.Equal(3, (await Ctl("127.0.0.1:" + NatsServerFixture.FreePort(), "cluster", "show")).Code);
        Assert.Equal(2, (await Ctl(at, "no-such-verb")).Code);
        var noNode = await Ctl("cluster", "show", "--token", Token);
        Assert.Equal((2, true), (noNode.Code, noNode.Err.Contains("cluster show asks a node", StringComparison.Ordinal)));

        var drain = await Ctl(at, "runner", "drain", "--wait", "--token", Token);
        Assert.True(drain.Code == 0, drain.Out + drain.Err + node.Output);
        Assert.Contains("drain complete", drain.Out, StringComparison.Ordinal);
        Assert.Contains("acme", drain.Out, StringComparison.Ordinal);
        Assert.Equal(0, await node.ExitCodeAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>A node process (payment timeout 1 h) with orders c-1 and c-2 placed for tenant acme; its admin endpoint.</summary>
    private async Task<(NodeProcess Node, string At)> StartNodeWithTwoOrdersAsync(Scenario s)
    {
        var env = NodeEnvironment.For(s, nats, "runner.samples.order.payment-timeout = 1h");
        var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"c-1","amount":3}""", "ctl-1");
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"c-2","amount":5}""", "ctl-2");
        return (node, "127.0.0.1:" + env["RUNNER_ADMIN_PORT"]);
    }

    [Fact]
    public async Task Runnerctl_runner_replay_should_dry_run_replay_to_done_follow_by_id_and_refuse_bad_input()
    {
        await using var s = new Scenario(nats);
        var (node, at) = await StartNodeWithTwoOrdersAsync(s);
        await using var running = node;
        var commands = await s.CommandsAsync("acme", c => c.Count >= 2, TimeSpan.FromSeconds(60));
        // Both events acknowledged: the order saga's checkpoint is at the end of the stream.
        var checkpoint = await CtlUntil(r => r.Code == 0 && Json(r.Out).GetProperty("checkpoints").TryGetProperty("order", out var c) && c.GetUInt64() == 2,
            at, "tenant", "replays", "acme", "--json");
        Assert.True(checkpoint.Code == 0, checkpoint.Out + checkpoint.Err + node.Output);

        // A dry run of checkpoint_only: dedupe markers would suppress both events, nothing is re-emitted.
        var dry = await Ctl(at, "runner", "replay", "-t", "acme", "-s", "order", "-m", "checkpoint_only", "--dry-run");
        Assert.True(dry.Code == 0, dry.Out + dry.Err);
        Assert.Contains("finished: checkpoint_only (dry run) of acme/order", dry.Out, StringComparison.Ordinal);
        Assert.Contains("events dedupe would suppress (2)", dry.Out, StringComparison.Ordinal);
        Assert.Contains("id:ctl-1", dry.Out, StringComparison.Ordinal);
        Assert.Contains("id:ctl-2", dry.Out, StringComparison.Ordinal);
        Assert.Contains("commands it would re-emit: none", dry.Out, StringComparison.Ordinal);

        // A dry run of full_reset, as JSON: both orders rebuilt from New, so both ReserveStock commands again.
        var reset = await Ctl(at, "runner", "replay", "--tenant", "acme", "--saga", "order", "--mode", "full_reset", "--dry-run", "--json");
        Assert.True(reset.Code == 0, reset.Out + reset.Err);
        var predicted = Json(reset.Out);
        Assert.Equal((true, true, "finished"), (predicted.GetProperty("done").GetBoolean(), predicted.GetProperty("dryRun").GetBoolean(),
            predicted.GetProperty("stage").GetString()));
        var reEmitted = predicted.GetProperty("report").GetProperty("commandsReEmitted").EnumerateArray().ToList();
        Assert.Equal(["c-1", "c-2"], reEmitted.Select(c => c.GetProperty("correlationId").GetString()));
        Assert.All(reEmitted, c => Assert.Equal(commands[0].CommandType, c.GetProperty("commandType").GetString()));
        Assert.Equal(3, reEmitted[0].GetProperty("payload").GetProperty("amount").GetInt32());

        // The real checkpoint_only replay, followed to its end: every event replayed is a duplicate.
        var real = await Ctl(at, "runner", "replay", "-t", "acme", "-s", "order", "-m", "checkpoint_only", "--json");
        Assert.True(real.Code == 0, real.Out + real.Err + node.Output);
        var done = Json(real.Out);
        Assert.Equal(("finished", false), (done.GetProperty("stage").GetString(), done.GetProperty("dryRun").GetBoolean()));
        Assert.Equal((2, 2, 0, 0), (Count(done, "events"), Count(done, "duplicates"), Count(done, "applied"), Count(done, "commands")));

        // Started without waiting, then followed by its id.
        var started = await Ctl(at, "runner", "replay", "-t", "acme", "-s", "order", "-m", "checkpoint_only", "--from-seq", "2", "--no-wait");
        Assert.True(started.Code == 0, started.Out + started.Err);
        var id = System.Text.RegularExpressions.Regex.Match(started.Out, @"replay (acme\.order\.\S+) accepted").Groups[1].Value;
        Assert.StartsWith("acme.order.", id, StringComparison.Ordinal);
        var status = await CtlUntil(r => r.Code == 0 && Json(r.Out).GetProperty("done").GetBoolean(), at, "runner", "replay-status", id, "--json");
        Assert.True(status.Code == 0, status.Out + status.Err);
        Assert.Equal((2ul, 1, 1), (Json(status.Out).GetProperty("fromSeq").GetUInt64(), Count(Json(status.Out), "events"), Count(Json(status.Out), "duplicates")));
        var table = await Ctl(at, "runner", "replay-status", id);
        Assert.True(table.Code == 0, table.Out + table.Err);
        Assert.Contains(id, table.Out, StringComparison.Ordinal);
        Assert.Contains("finished", table.Out, StringComparison.Ordinal);

        // Both real replays are recorded, newest first; the checkpoint is back at the end of the stream.
        var replays = await Ctl(at, "tenant", "replays", "acme");
        Assert.True(replays.Code == 0, replays.Out + replays.Err);
        Assert.Contains("checkpoint_only", replays.Out, StringComparison.Ordinal);
        Assert.Contains("finished", replays.Out, StringComparison.Ordinal);
        var recorded = Json((await CtlUntil(r => r.Code == 0 && Json(r.Out).GetProperty("checkpoints").GetProperty("order").GetUInt64() == 2,
            at, "tenant", "replays", "acme", "--json")).Out);
        Assert.Equal([id, done.GetProperty("id").GetString()], recorded.GetProperty("replays").EnumerateArray().Select(r => r.GetProperty("id").GetString()));

        // Refused locally (exit 2) or by the node (exit 1, its message).
        var badMode = await Ctl(at, "runner", "replay", "-t", "acme", "-s", "order", "-m", "sideways");
        Assert.Equal((2, true), (badMode.Code, badMode.Err.Contains("mode must be one of", StringComparison.Ordinal)));
        Assert.Equal(2, (await Ctl(at, "runner", "replay", "-t", "Bad.Tenant", "-s", "order", "-m", "full_reset")).Code);
        Assert.Equal(2, (await Ctl(at, "runner", "replay", "-t", "acme", "-s", "order", "-m", "full_reset", "--from-seq", "0")).Code);
        Assert.Equal(2, (await Ctl(at, "runner", "replay", "-t", "acme", "-s", "order")).Code);
        var unknownSaga = await Ctl(at, "runner", "replay", "-t", "acme", "-s", "nosuch", "-m", "checkpoint_only");
        Assert.Equal((1, true), (unknownSaga.Code, unknownSaga.Err.Contains("404", StringComparison.Ordinal)));
        var unknownReplay = await Ctl(at, "runner", "replay-status", "acme.order.nope");
        Assert.Equal((1, true), (unknownReplay.Code, unknownReplay.Err.Contains("404", StringComparison.Ordinal)));
        Assert.Equal(2, (await Ctl(at, "tenant", "replays", "Bad.Tenant")).Code);
    }

    [Fact]
    public async Task Runnerctl_saga_and_tenant_verbs_should_list_filter_and_show_instances_with_their_history_and_timers()
    {
        await using var s = new Scenario(nats);
        var (node, at) = await StartNodeWithTwoOrdersAsync(s);
        await using var running = node;
        await s.PublishAsync("acme", "StockUnavailable", """{"orderId":"c-2","reason":"none left"}""", "ctl-3");
        await s.CommandsAsync("acme", c => c.Count >= 3, TimeSpan.FromSeconds(60)); // ReserveStock twice, CancelOrder

        var list = await Ctl(at, "saga", "list", "acme");
        Assert.True(list.Code == 0, list.Out + list.Err + node.Output);
        Assert.Contains("AwaitingStock", list.Out, StringComparison.Ordinal);
        Assert.Contains("Cancelled", list.Out, StringComparison.Ordinal);
        Assert.Contains("payment-timeout", list.Out, StringComparison.Ordinal);
        Assert.Contains("showing 1-2 of 2", list.Out, StringComparison.Ordinal);

        var page = await Ctl(at, "saga", "list", "acme", "-s", "order", "--limit", "1");
        Assert.Contains("showing 1-1 of 2; more: --offset 1", page.Out, StringComparison.Ordinal);
        var json = await Ctl(at, "saga", "list", "acme", "--offset", "1", "--json");
        var second = Json(json.Out);
        Assert.Equal((2, false, "c-2"), (second.GetProperty("total").GetInt32(), second.GetProperty("more").GetBoolean(),
            Assert.Single(second.GetProperty("instances").EnumerateArray()).GetProperty("correlationId").GetString()));

        var awaiting = Json((await Ctl(at, "saga", "list", "acme", "--state", "AwaitingStock", "--json")).Out);
        var c1 = Assert.Single(awaiting.GetProperty("instances").EnumerateArray());
        Assert.Equal(("c-1", "AwaitingStock", 3), (c1.GetProperty("correlationId").GetString(), c1.GetProperty("status").GetString(),
            c1.GetProperty("state").GetProperty("amount").GetInt32()));
        var completed = await Ctl(at, "saga", "list", "acme", "--state", "completed");
        Assert.True(completed.Code == 0, completed.Out + completed.Err);
        Assert.Contains("c-2", completed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("c-1", completed.Out, StringComparison.Ordinal);
        Assert.Contains("showing 1-1 of 1", completed.Out, StringComparison.Ordinal);

        var show = await Ctl(at, "saga", "show", "acme", "order", "c-1");
        Assert.True(show.Code == 0, show.Out + show.Err);
        Assert.Contains("AwaitingStock", show.Out, StringComparison.Ordinal);
        Assert.Contains("\"amount\": 3", show.Out, StringComparison.Ordinal); // the state, pretty
        Assert.Contains("applied", show.Out, StringComparison.Ordinal);
        Assert.Contains("id:ctl-1", show.Out, StringComparison.Ordinal);
        Assert.Contains("scheduled payment-timeout", show.Out, StringComparison.Ordinal);
        var cancelled = Json((await Ctl(at, "saga", "show", "acme", "order", "c-2", "--history", "1", "--json")).Out);
        Assert.True(cancelled.GetProperty("completed").GetBoolean());
        Assert.True(cancelled.GetProperty("historyTruncated").GetBoolean());
        Assert.Single(cancelled.GetProperty("history").EnumerateArray());
        var unknown = await Ctl(at, "saga", "show", "acme", "order", "nope");
        Assert.Equal((1, true), (unknown.Code, unknown.Err.Contains("404", StringComparison.Ordinal)));
        Assert.Equal(2, (await Ctl(at, "saga", "show", "Bad.Tenant", "order", "c-1")).Code);
        Assert.Equal(2, (await Ctl(at, "saga", "list", "Bad.Tenant")).Code);

        // The schedule index follows the journal: c-1's payment timeout is pending, c-2's was cancelled.
        var timers = await CtlUntil(r => r.Code == 0 && r.Out.Contains("1 pending, next due", StringComparison.Ordinal), at, "tenant", "timers", "acme");
        Assert.True(timers.Code == 0 && timers.Out.Contains("1 pending", StringComparison.Ordinal), timers.Out + timers.Err);
        Assert.Contains("c-1", timers.Out, StringComparison.Ordinal);
        Assert.Contains("payment-timeout", timers.Out, StringComparison.Ordinal);
        Assert.Equal(2, (await Ctl(at, "tenant", "timers", "Bad.Tenant")).Code);
    }

    [Fact]
    public async Task Runnerctl_cluster_leave_should_make_the_node_leave_and_exit_0()
    {
        await using var s = new Scenario(nats);
        var env = NodeEnvironment.For(s, nats, "");
        await using var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
        var leave = await Ctl("127.0.0.1:" + env["RUNNER_ADMIN_PORT"], "cluster", "leave");
        Assert.Equal(0, leave.Code);
        Assert.Contains("leaving", leave.Out, StringComparison.Ordinal);
        var code = await node.ExitCodeAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"exit {code}:\n{node.Output}");
    }

    [Fact]
    public async Task Runnerctl_dlq_verbs_should_list_show_dry_run_redrive_and_purge_parked_events()
    {
        await using var s = new Scenario(nats);
        var env = NodeEnvironment.For(s, nats, "runner.samples.order.payment-timeout = 1h");
        env["RUNNER_ADMIN_TOKEN"] = Token;
        await using var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
        var at = "127.0.0.1:" + env["RUNNER_ADMIN_PORT"];
        await s.PublishAsync("acme", "StockReserved", """{"orderId":"d-1"}""", "d1-reserved");
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"d-2"}""", "d2-placed");
        await s.DeadLettersAsync("acme", d => d.Count >= 2, TimeSpan.FromSeconds(60));

        var list = await Ctl(at, "dlq", "list", "-t", "acme", "--token", Token);
        Assert.Equal(0, list.Code);
        Assert.Contains("UnexpectedEvent", list.Out, StringComparison.Ordinal);
        Assert.Contains("MalformedPayload", list.Out, StringComparison.Ordinal);
        var json = Json((await Ctl(at, "dlq", "list", "-k", "UnexpectedEvent", "--json", "--token", Token)).Out);
        var seq = Assert.Single(json.GetProperty("events").EnumerateArray()).GetProperty("seq").GetUInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var show = await Ctl(at, "dlq", "show", seq, "--token", Token);
        Assert.Equal(0, show.Code);
        Assert.Contains("StockReserved while the order is New", show.Out, StringComparison.Ordinal);
        Assert.Contains("d1-reserved", show.Out, StringComparison.Ordinal);
        Assert.Contains("a redrive sends it to " + s.EventSubject("acme", "StockReserved"), show.Out, StringComparison.Ordinal);

        // Its order arrives; a dry run sends nothing, the redrive lets the saga go on.
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"d-1","amount":2}""", "d1-placed");
        await s.CommandsAsync("acme", c => c.Count >= 1, TimeSpan.FromSeconds(60));
        var dry = await Ctl(at, "dlq", "redrive", "--seq", seq, "--dry-run", "--token", Token);
        Assert.Equal(0, dry.Code);
        Assert.Contains("1 would be sent", dry.Out, StringComparison.Ordinal);
        Assert.Contains("would_send", dry.Out, StringComparison.Ordinal);
        Assert.Equal(2, Json((await Ctl(at, "dlq", "list", "--json", "--token", Token)).Out).GetProperty("events").GetArrayLength());

        var redrive = await Ctl(at, "dlq", "redrive", "-t", "acme", "-k", "UnexpectedEvent", "--token", Token);
        Assert.Equal(0, redrive.Code);
        Assert.Contains("1 sent", redrive.Out, StringComparison.Ordinal);
        var commands = await s.CommandsAsync("acme", c => c.Any(x => x.CommandType == "ChargePayment"), TimeSpan.FromSeconds(60));
        Assert.Single(commands, c => c.CommandType == "ChargePayment");
        var gone = await Ctl(at, "dlq", "show", seq, "--token", Token);
        Assert.Equal((1, true), (gone.Code, gone.Err.Contains("404", StringComparison.Ordinal)));

        // Bad input is refused before asking; a purge needs --yes.
        Assert.Equal(2, (await Ctl(at, "dlq", "list", "-t", "Bad.Tenant", "--token", Token)).Code);
        Assert.Equal(2, (await Ctl(at, "dlq", "list", "--from-seq", "5", "--to-seq", "2", "--token", Token)).Code);
        var unconfirmed = await Ctl(at, "dlq", "purge", "-t", "acme", "--token", Token);
        Assert.Equal((2, true), (unconfirmed.Code, unconfirmed.Err.Contains("--yes", StringComparison.Ordinal)));
        Assert.Contains("1 would be deleted", (await Ctl(at, "dlq", "purge", "-t", "acme", "--dry-run", "--token", Token)).Out, StringComparison.Ordinal);
        var purge = await Ctl(at, "dlq", "purge", "-t", "acme", "--yes", "--token", Token);
        Assert.Equal(0, purge.Code);
        Assert.Contains("1 deleted", purge.Out, StringComparison.Ordinal);
        Assert.Contains("no parked events match", (await Ctl(at, "dlq", "list", "--token", Token)).Out, StringComparison.Ordinal);
        Assert.Equal(1, (await Ctl(at, "dlq", "redrive", "--seq", seq)).Code);
    }
}
