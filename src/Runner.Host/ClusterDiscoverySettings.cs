using System.Globalization;
using Akka.Configuration;

namespace Runner.Host;

/// <summary>How a node finds the other nodes of its cluster (<c>runner.node.discovery</c>).</summary>
public enum ClusterDiscovery
{
    /// <summary>The configured seed nodes, or a one-node cluster without any (the default).</summary>
    SeedNodes,

    /// <summary>Akka.Management cluster bootstrap over the Kubernetes API (Akka.Discovery.KubernetesApi).</summary>
    Kubernetes,

    /// <summary>Akka.Management cluster bootstrap over a fixed list of management endpoints (Akka.Discovery's config method).</summary>
    Config,
}

/// <summary>
/// Settings of Akka.Management and its cluster bootstrap (<c>runner.node.discovery</c>, <c>runner.node.management</c>,
/// <c>runner.node.bootstrap</c>), read once as part of <see cref="RunnerNodeSettings"/>.
/// </summary>
public sealed record ClusterDiscoverySettings
{
    /// <summary>How the node finds its cluster.</summary>
    public ClusterDiscovery Method { get; init; } = ClusterDiscovery.SeedNodes;

    /// <summary>Whether the cluster is formed by Akka.Management cluster bootstrap (kubernetes or config).</summary>
    public bool UsesBootstrap => Method != ClusterDiscovery.SeedNodes;

    /// <summary>Address others reach the management endpoint at (and by which the node recognises itself among the contact points).</summary>
    public string ManagementHostname { get; init; } = "";

    /// <summary>Address the management endpoint binds.</summary>
    public string ManagementBindHostname { get; init; } = "";

    /// <summary>Port of the management endpoint.</summary>
    public int ManagementPort { get; init; } = 8559;

    /// <summary>Name looked up in discovery.</summary>
    public string ServiceName { get; init; } = "runner";

    /// <summary>Contact points discovery must return before a new cluster may be formed.</summary>
    public int RequiredContactPoints { get; init; } = 2;

    /// <summary>How long discovery's answer must stay unchanged before a new cluster is formed.</summary>
    public TimeSpan StableMargin { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether a new cluster may be formed when no contact point is in one.</summary>
    public bool NewClusterEnabled { get; init; } = true;

    /// <summary>Name of the management port in the pod spec (kubernetes).</summary>
    public string PortName { get; init; } = "management";

    /// <summary>Label selector of the pods (kubernetes); <c>{0}</c> stands for <see cref="ServiceName"/>.</summary>
    public string PodLabelSelector { get; init; } = "app={0}";

    /// <summary>Namespace of the pods (kubernetes); empty = read from <see cref="PodNamespacePath"/>.</summary>
    public string PodNamespace { get; init; } = "";

    /// <summary>File holding the pod's namespace (kubernetes).</summary>
    public string PodNamespacePath { get; init; } = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    /// <summary>Management endpoints of every node as host:port (config).</summary>
    public IReadOnlyList<string> ConfigEndpoints { get; init; } = [];

    /// <summary>The label selector with the service name in it, as the Kubernetes API is asked.</summary>
    public string EffectivePodLabelSelector => string.Format(CultureInfo.InvariantCulture, PodLabelSelector, ServiceName);

    /// <summary>
    /// Reads and validates the discovery settings of <paramref name="node"/> (<c>runner.node</c>); <paramref name="bindHostname"/>
    /// and <paramref name="publicHostname"/> are the node's remoting addresses, the defaults of the management endpoint's.
    /// </summary>
    internal static ClusterDiscoverySettings Create(Config node, string bindHostname, string publicHostname, IReadOnlyList<string> seedNodes)
    {
        var text = node.GetString("discovery", "seed-nodes")?.Trim() ?? "seed-nodes";
        var method = text.ToLowerInvariant() switch
        {
            "seed-nodes" or "" => ClusterDiscovery.SeedNodes,
            "kubernetes" => ClusterDiscovery.Kubernetes,
            "config" => ClusterDiscovery.Config,
            _ => throw new ConfigurationException($"runner.node.discovery (RUNNER_DISCOVERY) must be seed-nodes, kubernetes or config, not '{text}'."),
        };
        var management = node.GetConfig("management") ?? Config.Empty;
        var bootstrap = node.GetConfig("bootstrap") ?? Config.Empty;
        var hostname = management.GetString("hostname", "");
        var settings = new ClusterDiscoverySettings
        {
            Method = method,
            ManagementHostname = string.IsNullOrWhiteSpace(hostname) ? publicHostname : hostname.Trim(),
            ManagementBindHostname = bindHostname,
            ManagementPort = management.GetInt("port", 8559),
            ServiceName = bootstrap.GetString("service-name", "runner")?.Trim() ?? "",
            RequiredContactPoints = bootstrap.GetInt("required-contact-points", 2),
            StableMargin = bootstrap.GetTimeSpan("stable-margin", TimeSpan.FromSeconds(5)),
            NewClusterEnabled = bootstrap.GetBoolean("new-cluster-enabled", true),
            PortName = bootstrap.GetString("port-name", "management")?.Trim() ?? "",
            PodLabelSelector = bootstrap.GetString("kubernetes.pod-label-selector", "app={0}")?.Trim() ?? "",
            PodNamespace = bootstrap.GetString("kubernetes.namespace", "")?.Trim() ?? "",
            PodNamespacePath = bootstrap.GetString("kubernetes.namespace-path", "/var/run/secrets/kubernetes.io/serviceaccount/namespace") ?? "",
            ConfigEndpoints = [.. bootstrap.GetStringList("config-endpoints") ?? []],
        };
        if (!settings.UsesBootstrap) return settings;

        var mode = method == ClusterDiscovery.Kubernetes ? "kubernetes" : "config";
        if (seedNodes.Count > 0)
            throw new ConfigurationException(
                $"runner.node.seed-nodes (RUNNER_SEED_NODES) is set and runner.node.discovery (RUNNER_DISCOVERY) is {mode}: cluster bootstrap finds " +
                "the nodes itself and would ignore the seed nodes; unset one of the two.");
        if (settings.ManagementPort is < 1 or > 65535)
            throw new ConfigurationException($"runner.node.management.port (RUNNER_MANAGEMENT_PORT) must be a port number from 1 to 65535, not {settings.ManagementPort}.");
        if (settings.ServiceName.Length == 0)
            throw new ConfigurationException("runner.node.bootstrap.service-name (RUNNER_BOOTSTRAP_SERVICE_NAME) must not be empty.");
        if (settings.RequiredContactPoints < 1)
            throw new ConfigurationException(
                $"runner.node.bootstrap.required-contact-points (RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS) must be 1 or more, not {settings.RequiredContactPoints}.");
        if (settings.StableMargin <= TimeSpan.Zero)
            throw new ConfigurationException($"runner.node.bootstrap.stable-margin must be positive, not {settings.StableMargin}.");

        if (method == ClusterDiscovery.Kubernetes)
        {
            if (settings.PortName.Length == 0)
                throw new ConfigurationException(
                    "runner.node.bootstrap.port-name (RUNNER_BOOTSTRAP_PORT_NAME) must name the management port of the pod spec with runner.node.discovery = kubernetes.");
            if (settings.PodLabelSelector.Length == 0)
                throw new ConfigurationException(
                    "runner.node.bootstrap.kubernetes.pod-label-selector (RUNNER_KUBERNETES_POD_LABEL_SELECTOR) must not be empty with runner.node.discovery = kubernetes.");
            try
            {
                _ = settings.EffectivePodLabelSelector;
            }
            catch (FormatException)
            {
                throw new ConfigurationException(
                    $"runner.node.bootstrap.kubernetes.pod-label-selector (RUNNER_KUBERNETES_POD_LABEL_SELECTOR) '{settings.PodLabelSelector}' is not a valid pattern: " +
                    "{0} is the only placeholder (the service name); write a literal brace as {{ or }}.");
            }
        }
        else
        {
            if (settings.ConfigEndpoints.Count == 0)
                throw new ConfigurationException(
                    "runner.node.bootstrap.config-endpoints (RUNNER_BOOTSTRAP_ENDPOINTS) must list the management endpoints (host:port) with runner.node.discovery = config.");
            foreach (var endpoint in settings.ConfigEndpoints)
            {
                if (!IsHostPort(endpoint))
                    throw new ConfigurationException($"runner.node.bootstrap.config-endpoints (RUNNER_BOOTSTRAP_ENDPOINTS) contains '{endpoint}', which is not host:port.");
            }
        }

        return settings;
    }

    /// <summary>Whether <paramref name="value"/> is host:port with a port from 1 to 65535.</summary>
    internal static bool IsHostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        return colon > 0
               && int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
               && port is >= 1 and <= 65535;
    }
}
