using Akka.Discovery.Config.Hosting;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Akka.Management;
using Akka.Management.Cluster.Bootstrap;

namespace Runner.Host;

/// <summary>
/// How the node forms its cluster: the seed nodes (in the host's HOCON), or Akka.Management cluster bootstrap with the
/// Kubernetes API or a fixed list of endpoints as its discovery.
/// </summary>
/// <remarks>
/// Bootstrap joins with the node's own scheme: it forms a new cluster by joining <c>Cluster.SelfAddress</c>, and joins an
/// existing one through the member addresses other nodes' management endpoints report, so with TLS between nodes every
/// address stays <c>akka.ssl.tcp://</c>. Seed nodes must then stay empty (bootstrap bails out when any is configured).
/// </remarks>
internal static class ClusterFormation
{
    /// <summary>The seed nodes of the cluster HOCON: none under bootstrap, else the configured ones or the node itself.</summary>
    public static IReadOnlyList<string> SeedNodes(RunnerNodeSettings node, string scheme, string self) =>
        node.Discovery.UsesBootstrap ? []
        : node.SeedNodes.Count == 0 ? [self]
        : [.. node.SeedNodes.Select(s => $"{scheme}://runner@{s}")];

    /// <summary>
    /// Adds the settings of Akka.Management, its cluster bootstrap and the discovery method. Nothing starts with the actor
    /// system: <see cref="ManagementEndpoint"/> serves the contact point and then starts the bootstrap.
    /// </summary>
    public static AkkaConfigurationBuilder WithClusterFormation(this AkkaConfigurationBuilder builder, ClusterDiscoverySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.UsesBootstrap) return builder;
        builder.WithAkkaManagement(ManagementOptions(settings), autoStart: false);
        builder.WithClusterBootstrap(BootstrapOptions(settings), autoStart: false);
        return settings.Method == ClusterDiscovery.Kubernetes
            ? builder.WithKubernetesDiscovery(KubernetesOptions(settings))
            : builder.WithConfigDiscovery(ConfigOptions(settings));
    }

    /// <summary>The management endpoint: bound on the node's bind address, advertised at the management host name.</summary>
    internal static AkkaManagementOptions ManagementOptions(ClusterDiscoverySettings settings) => new()
    {
        HostName = settings.ManagementHostname,
        Port = settings.ManagementPort,
        BindHostName = settings.ManagementBindHostname,
        BindPort = settings.ManagementPort,
    };

    /// <summary>The bootstrap: which name to look up, how many contact points to wait for, how to reach them.</summary>
    internal static ClusterBootstrapOptions BootstrapOptions(ClusterDiscoverySettings settings)
    {
        var options = new ClusterBootstrapOptions { NewClusterEnabled = settings.NewClusterEnabled };
        var discovery = options.ContactPointDiscovery;
        discovery.ServiceName = settings.ServiceName;
        discovery.RequiredContactPointsNr = settings.RequiredContactPoints;
        discovery.StableMargin = settings.StableMargin;
        // Kubernetes returns each pod's port of that name; config endpoints carry their port ("" = no port name).
        discovery.PortName = settings.Method == ClusterDiscovery.Kubernetes ? settings.PortName : "";
        options.ContactPoint.FallbackPort = settings.ManagementPort;
        // Without a port name bootstrap keeps, of several endpoints on one host, only those on its own port: config endpoints
        // may share a host (several nodes on one machine), each on its own port.
        options.ContactPoint.FilterOnFallbackPort = settings.Method == ClusterDiscovery.Kubernetes;
        return options;
    }

    /// <summary>Kubernetes API discovery: the pods of the label selector in the configured (or the pod's own) namespace.</summary>
    internal static KubernetesDiscoveryOptions KubernetesOptions(ClusterDiscoverySettings settings) => new()
    {
        PodLabelSelector = settings.PodLabelSelector,
        PodNamespace = settings.PodNamespace.Length > 0 ? settings.PodNamespace : null,
        PodNamespacePath = settings.PodNamespacePath,
    };

    /// <summary>Static discovery: the service name resolves to the configured management endpoints.</summary>
    internal static ConfigServiceDiscoveryOptions ConfigOptions(ClusterDiscoverySettings settings) => new()
    {
        Services = [new Service { Name = settings.ServiceName, Endpoints = [.. settings.ConfigEndpoints] }],
    };
}
