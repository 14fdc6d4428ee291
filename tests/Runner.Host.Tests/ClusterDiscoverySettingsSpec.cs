using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// <c>runner.node.discovery</c> and its keys: seed nodes stay the default and unchanged, bad values are refused with a message
/// naming the variable, and kubernetes / config discovery become the Akka.Management, bootstrap and discovery HOCON.
/// </summary>
public sealed class ClusterDiscoverySettingsSpec
{
    private static Dictionary<string, string?> Env(params (string Key, string Value)[] vars) =>
        vars.ToDictionary(v => v.Key, v => (string?)v.Value, StringComparer.Ordinal);

    private static RunnerNodeSettings Node(params (string Key, string Value)[] vars) =>
        RunnerNodeSettings.Create(RunnerConfiguration.Load([], Env(vars)));

    /// <summary>The HOCON that <see cref="ClusterFormation.WithClusterFormation"/> adds for <paramref name="settings"/>.</summary>
    private static Config Formation(ClusterDiscoverySettings settings)
    {
        var builder = new AkkaConfigurationBuilder(new ServiceCollection(), "runner");
        builder.WithClusterFormation(settings);
        return builder.Configuration.Value;
    }

    [Fact]
    public void Seed_nodes_should_stay_the_default_and_add_no_management()
    {
        var alone = Node(("RUNNER_SHARD_ID", "node-1"));
        Assert.Equal(ClusterDiscovery.SeedNodes, alone.Discovery.Method);
        Assert.False(alone.Discovery.UsesBootstrap);
        Assert.Equal(["akka.tcp://runner@127.0.0.1:4053"], ClusterFormation.SeedNodes(alone, "akka.tcp", "akka.tcp://runner@127.0.0.1:4053"));

        var seeded = Node(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_SEED_NODES", "10.0.0.1:4053,10.0.0.2:4053"));
        Assert.Equal(["akka.ssl.tcp://runner@10.0.0.1:4053", "akka.ssl.tcp://runner@10.0.0.2:4053"],
            ClusterFormation.SeedNodes(seeded, "akka.ssl.tcp", "akka.ssl.tcp://runner@127.0.0.1:4053"));

        var builder = new AkkaConfigurationBuilder(new ServiceCollection(), "runner");
        builder.WithClusterFormation(seeded.Discovery);
        Assert.False(builder.Configuration.HasValue && builder.Configuration.Value.HasPath("akka.management.http.port"));
    }

    [Theory]
    [InlineData("RUNNER_DISCOVERY", "consul", "RUNNER_DISCOVERY")]
    [InlineData("RUNNER_DISCOVERY", "consul", "'consul'")]
    [InlineData("RUNNER_MANAGEMENT_PORT", "http", "RUNNER_MANAGEMENT_PORT")]
    [InlineData("RUNNER_MANAGEMENT_PORT", "0", "RUNNER_MANAGEMENT_PORT")]
    [InlineData("RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS", "0", "RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS")]
    public void Invalid_values_should_be_refused_with_a_message_naming_them(string variable, string value, string named)
    {
        var e = Assert.Throws<ConfigurationException>(() => Node(("RUNNER_SHARD_ID", "node-1"), (variable, value)));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bootstrap_should_refuse_seed_nodes_and_config_discovery_should_need_its_endpoints()
    {
        var both = Assert.Throws<ConfigurationException>(() =>
            Node(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_DISCOVERY", "kubernetes"), ("RUNNER_SEED_NODES", "runner-0.runner:4053")));
        Assert.Contains("RUNNER_SEED_NODES", both.Message, StringComparison.Ordinal);

        var none = Assert.Throws<ConfigurationException>(() => Node(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_DISCOVERY", "config")));
        Assert.Contains("RUNNER_BOOTSTRAP_ENDPOINTS", none.Message, StringComparison.Ordinal);

        var bad = Assert.Throws<ConfigurationException>(() =>
            Node(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_DISCOVERY", "config"), ("RUNNER_BOOTSTRAP_ENDPOINTS", "127.0.0.1:8559,node-b")));
        Assert.Contains("'node-b'", bad.Message, StringComparison.Ordinal);

        var selector = Assert.Throws<ConfigurationException>(() =>
            Node(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_DISCOVERY", "kubernetes"), ("RUNNER_KUBERNETES_POD_LABEL_SELECTOR", "app={1}")));
        Assert.Contains("RUNNER_KUBERNETES_POD_LABEL_SELECTOR", selector.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_management_port_shared_with_the_admin_endpoint_should_stop_the_build()
    {
        var config = RunnerConfiguration.Load([], Env(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_DISCOVERY", "kubernetes"), ("RUNNER_MANAGEMENT_PORT", "8558")));
        var e = Assert.Throws<ConfigurationException>(() => RunnerNode.Build([], config));
        Assert.Contains("RUNNER_ADMIN_PORT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kubernetes_discovery_should_map_to_management_bootstrap_and_kubernetes_api_hocon()
    {
        var node = Node(("RUNNER_SHARD_ID", "runner-0"), ("RUNNER_HOSTNAME", "0.0.0.0"), ("RUNNER_PUBLIC_HOSTNAME", "runner-0.runner"),
            ("RUNNER_DISCOVERY", "Kubernetes"), ("RUNNER_MANAGEMENT_HOSTNAME", "10.1.2.3"), ("RUNNER_MANAGEMENT_PORT", "8559"),
            ("RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS", "3"), ("RUNNER_KUBERNETES_NAMESPACE", "saga"),
            ("RUNNER_KUBERNETES_POD_LABEL_SELECTOR", "app.kubernetes.io/name={0}"));
        Assert.Equal(ClusterDiscovery.Kubernetes, node.Discovery.Method);
        Assert.Empty(ClusterFormation.SeedNodes(node, "akka.tcp", "akka.tcp://runner@runner-0.runner:4053"));
        Assert.Equal("app.kubernetes.io/name=runner", node.Discovery.EffectivePodLabelSelector);

        var hocon = Formation(node.Discovery);
        Assert.Equal("10.1.2.3", hocon.GetString("akka.management.http.hostname"));
        Assert.Equal("0.0.0.0", hocon.GetString("akka.management.http.bind-hostname"));
        Assert.Equal(8559, hocon.GetInt("akka.management.http.port"));
        Assert.Equal(8559, hocon.GetInt("akka.management.http.bind-port"));
        const string Discovery = "akka.management.cluster.bootstrap.contact-point-discovery";
        Assert.Equal("runner", hocon.GetString($"{Discovery}.service-name"));
        Assert.Equal("management", hocon.GetString($"{Discovery}.port-name"));
        Assert.Equal(3, hocon.GetInt($"{Discovery}.required-contact-point-nr"));
        Assert.Equal(TimeSpan.FromSeconds(5), hocon.GetTimeSpan($"{Discovery}.stable-margin"));
        Assert.True(hocon.GetBoolean("akka.management.cluster.bootstrap.new-cluster-enabled"));
        Assert.Equal("kubernetes-api", hocon.GetString("akka.discovery.method"));
        Assert.Equal("app.kubernetes.io/name={0}", hocon.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
        Assert.Equal("saga", hocon.GetString("akka.discovery.kubernetes-api.pod-namespace"));
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/namespace", hocon.GetString("akka.discovery.kubernetes-api.pod-namespace-path"));
    }

    [Fact]
    public void Kubernetes_discovery_without_a_namespace_should_read_the_pods_own()
    {
        var node = Node(("RUNNER_SHARD_ID", "runner-0"), ("RUNNER_DISCOVERY", "kubernetes"));
        Assert.Equal("", node.Discovery.PodNamespace);
        Assert.Equal("127.0.0.1", node.Discovery.ManagementHostname); // public hostname, itself the bind hostname by default
        var hocon = Formation(node.Discovery);
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/namespace", hocon.GetString("akka.discovery.kubernetes-api.pod-namespace-path"));
        Assert.Equal("<pod-namespace>", hocon.GetString("akka.discovery.kubernetes-api.pod-namespace")); // the plugin's "not set"
    }

    [Fact]
    public void Config_discovery_should_list_the_endpoints_under_the_service_name_without_filtering_on_one_port()
    {
        var node = Node(("RUNNER_SHARD_ID", "node-a"), ("RUNNER_DISCOVERY", "config"), ("RUNNER_MANAGEMENT_PORT", "9001"),
            ("RUNNER_BOOTSTRAP_ENDPOINTS", "127.0.0.1:9001, 127.0.0.1:9002"), ("RUNNER_BOOTSTRAP_SERVICE_NAME", "saga-runner"));
        var hocon = Formation(node.Discovery);
        Assert.Equal("config", hocon.GetString("akka.discovery.method"));
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002"], hocon.GetStringList("akka.discovery.config.services.saga-runner.endpoints"));
        Assert.Equal("saga-runner", hocon.GetString("akka.management.cluster.bootstrap.contact-point-discovery.service-name"));
        Assert.Equal("", hocon.GetString("akka.management.cluster.bootstrap.contact-point-discovery.port-name"));
        Assert.False(hocon.GetBoolean("akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port"));
        Assert.Equal(9001, hocon.GetInt("akka.management.cluster.bootstrap.contact-point.fallback-port"));
    }

    [Fact]
    public void The_host_should_register_Akka_liveness_and_readiness_checks_under_the_tags_the_probes_run()
    {
        using var host = RunnerNode.Build([], RunnerConfiguration.Load([], Env(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_ADMIN_PORT", "0"))));
        var registrations = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckServiceOptions>>()
            .Value.Registrations;
        var described = string.Join("; ", registrations.Select(r => $"{r.Name} [{string.Join(", ", r.Tags)}]"));
        Assert.True(registrations.Any(r => r.Tags.Contains(HealthProbes.LivenessTag)), described);
        Assert.True(registrations.Any(r => r.Tags.Contains(HealthProbes.ReadinessTag)), described);
    }
}
