using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// Nodes as processes on 127.0.0.1 that form their cluster through Akka.Management cluster bootstrap with static (config)
/// discovery: the code path of <c>RUNNER_DISCOVERY=kubernetes</c> but for where the contact points come from. A node
/// alone is alive but neither joined nor ready (bootstrap waits for every contact point); once the second node is up both
/// join one cluster and become ready, over <c>akka.ssl.tcp</c> when TLS between nodes is on.
/// </summary>
public sealed class ClusterBootstrapSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>, IDisposable
{
    private readonly TempDirectory _dir = new("runner-bootstrap");

    /// <summary>Shorter waits than production's: discovery stable for 1 s, probes every second.</summary>
    private const string Hocon = """
        runner.node.bootstrap.stable-margin = 1s
        akka.management.cluster.bootstrap.contact-point.probe-interval = 1s
        """;

    /// <summary>Remoting, admin and management ports of two nodes, all different (taken while each is held).</summary>
    private sealed record Ports(int[] Remoting, int[] Admin, int[] Management)
    {
        public static Ports Take()
        {
            var listeners = Enumerable.Range(0, 6).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
            foreach (var l in listeners) l.Start();
            var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
            foreach (var l in listeners) l.Stop();
            return new Ports([.. ports[..2].Order()], ports[2..4], [.. ports[4..].Order()]);
        }
    }

    /// <summary>The bootstrap environment of node <paramref name="i"/>: no seed nodes, config discovery over both management endpoints.</summary>
    private static Dictionary<string, string?> Bootstrap(Ports ports, int i, Dictionary<string, string?>? extra = null)
    {
        string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["RUNNER_SEED_NODES"] = null,
            ["RUNNER_PORT"] = Text(ports.Remoting[i]),
            ["RUNNER_ADMIN_PORT"] = Text(ports.Admin[i]),
            ["RUNNER_DISCOVERY"] = "config",
            ["RUNNER_MANAGEMENT_PORT"] = Text(ports.Management[i]),
            ["RUNNER_BOOTSTRAP_ENDPOINTS"] = string.Join(",", ports.Management.Select(p => "127.0.0.1:" + Text(p))),
        };
        foreach (var (k, v) in extra ?? []) env[k] = v;
        return env;
    }

    /// <summary>Waits until the node's output contains <paramref name="text"/>.</summary>
    private static async Task LoggedAsync(NodeProcess node, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!node.Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline || node.HasExited) throw new TimeoutException($"the node never logged '{text}'");
            await Task.Delay(100); // polling the output for the condition
        }
    }

    private static async Task<JsonElement> UpMembersAsync(AdminClient admin, int count) =>
        await admin.UntilAsync("/admin/cluster",
            c => c.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "Up") == count,
            TimeSpan.FromSeconds(60));

    [Fact]
    public async Task Two_nodes_should_form_a_cluster_through_bootstrap_and_be_ready_only_once_joined()
    {
        await using var s = new Scenario(nats);
        await using var cluster = new ClusterNodes(s, nats, Hocon);
        var ports = Ports.Take();
        try
        {
            var a = await cluster.StartAsync("node-a", overrides: Bootstrap(ports, 0));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.AdminPort("node-a")}") };
            using var adminA = new AdminClient(cluster.AdminPort("node-a"));

            // Alone: bootstrap has found both contact points but cannot probe node-b, so it neither forms nor joins a cluster.
            await LoggedAsync(a, "Located service members", TimeSpan.FromSeconds(30));
            Assert.Equal("alive\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
            var (status, ready) = await adminA.GetAsync("/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.False(ready.GetProperty("ready").GetBoolean());
            Assert.False(ready.GetProperty("joined").GetBoolean());
            Assert.True(ready.GetProperty("natsConnected").GetBoolean());
            var akka = Assert.Single(ready.GetProperty("akka").EnumerateArray());
            Assert.Equal("Unhealthy", akka.GetProperty("status").GetString());

            await cluster.StartAsync("node-b", overrides: Bootstrap(ports, 1));
            using var adminB = new AdminClient(cluster.AdminPort("node-b"));
            foreach (var admin in new[] { adminA, adminB })
            {
                var up = await admin.UntilAsync("/ready", r => r.GetProperty("ready").GetBoolean(), TimeSpan.FromSeconds(60));
                Assert.All(up.GetProperty("akka").EnumerateArray(), c => Assert.Equal("Healthy", c.GetProperty("status").GetString()));
            }

            var members = (await UpMembersAsync(adminA, 2)).GetProperty("members").EnumerateArray()
                .Select(m => m.GetProperty("shardId").GetString()).Order(StringComparer.Ordinal);
            Assert.Equal(["node-a", "node-b"], members);
            Assert.Equal("alive\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));

            // The cluster runs tenants as one formed from seed nodes does.
            await s.PublishAsync("boot", "OrderPlaced", """{"orderId":"b-1","amount":1}""", "boot-1");
            Assert.Single(await s.CommandsAsync("boot", c => c.Count >= 1, TimeSpan.FromSeconds(60)));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + cluster.Output(), e);
        }
    }

    [Fact]
    public async Task Bootstrap_should_form_the_cluster_over_TLS_with_akka_ssl_tcp_addresses()
    {
        var certs = new TestCertificates(_dir.Path);
        var (ca, caPem) = certs.Ca("runner-cluster-ca");
        Dictionary<string, string?> Tls(string name) => new(StringComparer.Ordinal)
        {
            ["RUNNER_REMOTE_TLS_CERT"] = certs.Pfx(TestCertificates.Node(name, ca), name),
            ["RUNNER_REMOTE_TLS_PASSWORD"] = TestCertificates.Password,
            ["RUNNER_REMOTE_TLS_CA"] = caPem,
        };

        await using var s = new Scenario(nats);
        await using var cluster = new ClusterNodes(s, nats, Hocon);
        var ports = Ports.Take();
        try
        {
            await cluster.StartAsync("node-a", overrides: Bootstrap(ports, 0, Tls("node-a")));
            await cluster.StartAsync("node-b", overrides: Bootstrap(ports, 1, Tls("node-b")));
            using var adminB = new AdminClient(cluster.AdminPort("node-b"));
            var state = await UpMembersAsync(adminB, 2);
            Assert.StartsWith("akka.ssl.tcp://runner@", state.GetProperty("self").GetString(), StringComparison.Ordinal);
            Assert.All(state.GetProperty("members").EnumerateArray(),
                m => Assert.StartsWith("akka.ssl.tcp://runner@", m.GetProperty("address").GetString(), StringComparison.Ordinal));
            await adminB.UntilAsync("/ready", r => r.GetProperty("ready").GetBoolean(), TimeSpan.FromSeconds(60));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + cluster.Output(), e);
        }
    }

    public void Dispose() => _dir.Dispose();
}
