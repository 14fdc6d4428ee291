using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster;
using Akka.Configuration;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// TLS between nodes: nodes configured by the host's own keys and code (<see cref="RemoteTlsSettings"/>, <see cref="RemoteTls"/>)
/// form a cluster over TLS with certificates of the cluster's CA, and a node whose certificate that CA did not sign cannot join.
/// </summary>
public sealed class RemoteTlsSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>, IDisposable
{
    private readonly TempDirectory _dir = new("runner-tls");
    private readonly List<ActorSystem> _systems = [];

    private static Dictionary<string, string?> Env(params (string Key, string Value)[] vars) =>
        vars.ToDictionary(v => v.Key, v => (string?)v.Value, StringComparer.Ordinal);

    /// <summary>A cluster node on 127.0.0.1:<paramref name="port"/>, TLS from the environment, seeded by <paramref name="seedPort"/>.</summary>
    private ActorSystem Node(int port, int seedPort, IReadOnlyDictionary<string, string?> env)
    {
        var config = RunnerConfiguration.EnvironmentOverrides(env).WithFallback(RunnerConfiguration.Defaults());
        var tls = RemoteTlsSettings.Create(config);
        var (setup, hocon, _) = RemoteTls.Build(tls);
        Assert.NotNull(setup);
        var cluster = ConfigurationFactory.ParseString($$"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
            akka.cluster.seed-nodes = ["{{tls.Scheme}}://runner@127.0.0.1:{{seedPort}}"]
            akka.cluster.sharding.state-store-mode = ddata
            akka.loglevel = INFO
            """);
        var system = ActorSystem.Create("runner", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(cluster.WithFallback(hocon).WithFallback(config)), setup!));
        _systems.Add(system);
        return system;
    }

    private static Task Up(ActorSystem system)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        return up.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Completes with the first error logged on <paramref name="system"/> that contains <paramref name="text"/>.</summary>
    private static Task<string> Logged(ActorSystem system, string text)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var watcher = system.ActorOf(Props.Create(() => new ErrorWatcher(text, seen)));
        system.EventStream.Subscribe(watcher, typeof(Akka.Event.Error));
        return seen.Task;
    }

    private sealed class ErrorWatcher : ReceiveActor
    {
        public ErrorWatcher(string text, TaskCompletionSource<string> seen) =>
            Receive<Akka.Event.Error>(e =>
            {
                var message = e.Message?.ToString() ?? "";
                if (message.Contains(text, StringComparison.Ordinal)) seen.TrySetResult(message);
            });
    }

    [Theory]
    [InlineData("another-ca")]
    [InlineData("self-signed")]
    public async Task Nodes_with_certificates_of_the_cluster_CA_should_form_a_cluster_and_a_node_without_one_should_not_join(string rogue)
    {
        var certs = new TestCertificates(_dir.Path);
        var (ca, caPem) = certs.Ca("runner-cluster-ca");
        string Pfx(string name, System.Security.Cryptography.X509Certificates.X509Certificate2? issuer) => certs.Pfx(TestCertificates.Node(name, issuer), name);
        var ports = Enumerable.Range(0, 3).Select(_ => NatsServerFixture.FreePort()).ToArray();
        IReadOnlyDictionary<string, string?> Member(string pfx) => Env(("RUNNER_REMOTE_TLS_CERT", pfx), ("RUNNER_REMOTE_TLS_PASSWORD", TestCertificates.Password),
            ("RUNNER_REMOTE_TLS_CA", caPem));

        var a = Node(ports[0], ports[0], Member(Pfx("node-a", ca)));
        var refusedOnA = Logged(a, "TLS between nodes: refused");
        var b = Node(ports[1], ports[0], Member(Pfx("node-b", ca)));
        await Task.WhenAll(Up(a), Up(b));
        Assert.Equal("akka.ssl.tcp", Cluster.Get(a).SelfAddress.Protocol);
        Assert.Equal(2, Cluster.Get(a).State.Members.Count(m => m.Status == MemberStatus.Up));

        // The rogue knows the cluster's CA (it trusts node-a's certificate), but its own certificate is not of that CA: with
        // mutual authentication node-a refuses it in the handshake, so it never gets to ask to join.
        var env = rogue == "another-ca"
            ? Member(Pfx("rogue", certs.Ca("rogue-ca").Ca))
            : Env(("RUNNER_REMOTE_TLS_CERT", Pfx("rogue", null)), ("RUNNER_REMOTE_TLS_PASSWORD", TestCertificates.Password),
                ("RUNNER_REMOTE_TLS_SUPPRESS_VALIDATION", "on"));
        var c = Node(ports[2], ports[0], env);
        var refusal = await refusedOnA.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("CN=rogue", refusal, StringComparison.Ordinal);

        Assert.NotEqual(MemberStatus.Up, Cluster.Get(c).SelfMember.Status);
        var members = Cluster.Get(a).State.Members;
        Assert.Equal(2, members.Count);
        Assert.DoesNotContain(members, m => m.Address.Port == ports[2]);
    }

    [Fact]
    public async Task A_node_should_run_over_TLS_from_its_environment_and_show_akka_ssl_tcp_addresses()
    {
        var certs = new TestCertificates(_dir.Path);
        var (ca, caPem) = certs.Ca("runner-cluster-ca");
        var pfx = certs.Pfx(TestCertificates.Node("node-1", ca), "node-1");
        // Akka.Remote's own keys in a HOCON file work as the RUNNER_REMOTE_TLS_* variables do.
        await using var s = new Scenario(nats, $$"""
            akka.remote.dot-netty.tcp.enable-ssl = on
            akka.remote.dot-netty.tcp.ssl.certificate { path = "{{pfx}}", password = "{{TestCertificates.Password}}" }
            runner.remote.tls.trusted-ca = "{{caPem}}"
            """);
        await s.StartNodeAsync();
        using var admin = new AdminClient(s.AdminPort);
        var cluster = await admin.UntilAsync("/admin/cluster", c => c.GetProperty("members").EnumerateArray().Any(m => m.GetProperty("status").GetString() == "Up"));
        Assert.StartsWith("akka.ssl.tcp://runner@", cluster.GetProperty("self").GetString(), StringComparison.Ordinal);
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"tls-1","amount":3}""", "tls-1");
        Assert.Single(await s.CommandsAsync("acme", c => c.Count >= 1));
    }

    [Fact]
    public void Remote_TLS_settings_should_come_from_the_environment_and_refuse_what_cannot_work()
    {
        var certs = new TestCertificates(_dir.Path);
        var pfx = certs.Pfx(TestCertificates.Node("node-1", null), "node-1");
        Config Load(params (string, string)[] vars) => RunnerConfiguration.Load([], Env(vars));

        Assert.False(RemoteTlsSettings.Create(Load()).Enabled);
        Assert.Equal("akka.tcp", RemoteTlsSettings.Create(Load()).Scheme);

        var config = Load(("RUNNER_REMOTE_TLS_CERT", pfx), ("RUNNER_REMOTE_TLS_PASSWORD", TestCertificates.Password), ("RUNNER_REMOTE_TLS_CA", "/etc/runner/ca.pem"));
        Assert.True(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.Equal(pfx, config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.path"));
        var settings = RemoteTlsSettings.Create(config);
        Assert.Equal(("akka.ssl.tcp", "/etc/runner/ca.pem", true, false), (settings.Scheme, settings.TrustedCaPath, settings.RequireMutualAuthentication, settings.SuppressValidation));
        using (var loaded = settings.LoadCertificate()) Assert.True(loaded.HasPrivateKey);
        Assert.False(RemoteTlsSettings.Create(Load(("RUNNER_REMOTE_TLS_CERT", pfx), ("RUNNER_REMOTE_TLS", "off"))).Enabled);

        var byThumbprint = RemoteTlsSettings.Create(Load(("RUNNER_REMOTE_TLS_THUMBPRINT", "ABC123"), ("RUNNER_REMOTE_TLS_STORE_LOCATION", "local-machine")));
        Assert.Equal(("ABC123", "My", System.Security.Cryptography.X509Certificates.StoreLocation.LocalMachine),
            (byThumbprint.Thumbprint, byThumbprint.StoreName, byThumbprint.StoreLocation));

        // Refused, with the key to set and without the password in the message.
        Assert.Contains("RUNNER_REMOTE_TLS_CERT", Assert.Throws<ConfigurationException>(() => RemoteTlsSettings.Create(Load(("RUNNER_REMOTE_TLS", "on")))).Message,
            StringComparison.Ordinal);
        Assert.Contains("RUNNER_REMOTE_TLS", Assert.Throws<ConfigurationException>(() => Load(("RUNNER_REMOTE_TLS", "maybe"))).Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<ConfigurationException>(() =>
            RemoteTlsSettings.Create(Load(("RUNNER_REMOTE_TLS_CERT", pfx), ("RUNNER_REMOTE_TLS_PASSWORD", "not-the-password"))).LoadCertificate());
        Assert.Contains("RUNNER_REMOTE_TLS_PASSWORD", wrong.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", wrong.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<ConfigurationException>(() =>
            RemoteTlsSettings.Create(Load(("RUNNER_REMOTE_TLS_CERT", "/nonexistent/node.pfx"))).LoadCertificate()).Message, StringComparison.Ordinal);
        Assert.Contains("RUNNER_REMOTE_TLS_CA", Assert.Throws<ConfigurationException>(() =>
            RemoteTls.Build(RemoteTlsSettings.Create(Load(("RUNNER_REMOTE_TLS_CERT", pfx), ("RUNNER_REMOTE_TLS_PASSWORD", TestCertificates.Password),
                ("RUNNER_REMOTE_TLS_CA", "/nonexistent/ca.pem"))))).Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var system in _systems) system.Terminate().Wait(TimeSpan.FromSeconds(10));
        _dir.Dispose();
    }
}
