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

    [Fact]
    public async Task Runnerctl_should_show_cluster_regions_tenants_set_placement_and_drain_a_node()
    {
        await using var s = new Scenario(nats);
        var env = NodeProcess.Environment(s, nats, "runner.samples.order.payment-timeout = 1h");
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

        var bucket = s.Name + "-ctl-placement";
        var set = await Ctl(at, "placement", "set", "acme", "node-x", "--nats", nats.Url, "--bucket", bucket);
        Assert.Equal(0, set.Code);
        Assert.Contains("acme placed on node-x", set.Out, StringComparison.Ordinal);
        var kv = await new NATS.Client.KeyValueStore.NatsKVContext((NATS.Client.JetStream.NatsJSContext)s.Js).GetStoreAsync(bucket);
        Assert.Equal("node-x", (await kv.GetEntryAsync<string>("acme")).Value);

        var drain = await Ctl(at, "runner", "drain", "--wait", "--token", Token);
        Assert.True(drain.Code == 0, drain.Out + drain.Err + node.Output);
        Assert.Contains("drain complete", drain.Out, StringComparison.Ordinal);
        Assert.Contains("acme", drain.Out, StringComparison.Ordinal);
        Assert.Equal(0, await node.ExitCodeAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Runnerctl_cluster_leave_should_make_the_node_leave_and_exit_0()
    {
        await using var s = new Scenario(nats);
        var env = NodeProcess.Environment(s, nats, "");
        await using var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
        var leave = await Ctl("127.0.0.1:" + env["RUNNER_ADMIN_PORT"], "cluster", "leave");
        Assert.Equal(0, leave.Code);
        Assert.Contains("leaving", leave.Out, StringComparison.Ordinal);
        Assert.Equal(0, await node.ExitCodeAsync(TimeSpan.FromSeconds(60)));
    }
}
