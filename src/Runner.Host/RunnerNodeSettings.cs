using Akka.Configuration;
using Runner.Sagas;

namespace Runner.Host;

/// <summary>How the node writes its log lines (<c>runner.node.log-format</c>).</summary>
public enum RunnerLogFormat
{
    /// <summary>One line of text per entry, with scopes and a timestamp.</summary>
    Text,

    /// <summary>One JSON object per entry, with scopes (for a log collector).</summary>
    Json,
}

/// <summary>Settings of the node (<c>runner.node</c>, <c>runner.tenants</c>), read once.</summary>
public sealed record RunnerNodeSettings
{
    /// <summary>Environment variable that overrides <c>runner.node.log-format</c>.</summary>
    public const string LogFormatVariable = "RUNNER_LOG_FORMAT";

    /// <summary>Bind host name.</summary>
    public required string Hostname { get; init; }

    /// <summary>Remoting port.</summary>
    public required int Port { get; init; }

    /// <summary>Advertised host name.</summary>
    public required string PublicHostname { get; init; }

    /// <summary>Identity of the node and its volume.</summary>
    public required string ShardId { get; init; }

    /// <summary>Seed nodes as host:port.</summary>
    public required IReadOnlyList<string> SeedNodes { get; init; }

    /// <summary>How the node finds its cluster: seed nodes (the default) or Akka.Management cluster bootstrap.</summary>
    public ClusterDiscoverySettings Discovery { get; init; } = new();

    /// <summary>Extra saga assemblies.</summary>
    public required IReadOnlyList<string> SagaAssemblies { get; init; }

    /// <summary>Whether the sample sagas are registered.</summary>
    public required bool Samples { get; init; }

    /// <summary>Allowlisted tenants.</summary>
    public required IReadOnlyList<string> Allowlist { get; init; }

    /// <summary>Whether tenants are discovered from the stream.</summary>
    public required bool Discover { get; init; }

    /// <summary>Interval of the idempotent re-start of every known tenant.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How the node writes its log lines.</summary>
    public RunnerLogFormat LogFormat { get; init; } = RunnerLogFormat.Text;

    /// <summary>Payment timeout of the shipped order saga (<c>runner.samples.order.payment-timeout</c>).</summary>
    public TimeSpan OrderPaymentTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Reads and validates the settings; invalid tenant ids in the allowlist are refused with a message.</summary>
    public static RunnerNodeSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var node = config.GetConfig("runner.node");
        var tenants = config.GetConfig("runner.tenants");
        var hostname = node.GetString("hostname", "127.0.0.1");
        var shardId = node.GetString("shard-id", "");
        if (string.IsNullOrWhiteSpace(shardId)) shardId = Environment.MachineName.ToLowerInvariant();
        if (!TenantId.IsValid(shardId))
            throw new ConfigurationException($"runner.node.shard-id (RUNNER_SHARD_ID) '{shardId}' must match {TenantId.Pattern}.");

        var allowlist = tenants.GetStringList("allowlist") ?? [];
        foreach (var t in allowlist)
        {
            if (!TenantId.IsValid(t))
                throw new ConfigurationException($"runner.tenants.allowlist (RUNNER_TENANT_ALLOWLIST) contains '{t}', which is not a tenant id ({TenantId.Pattern}).");
        }

        var port = node.GetInt("port", 4053);
        if (port is < 0 or > 65535) throw new ConfigurationException($"runner.node.port must be a port number, not {port}.");
        var publicHost = node.GetString("public-hostname", "");
        var seeds = node.GetStringList("seed-nodes") ?? [];
        foreach (var seed in seeds)
        {
            if (!ClusterDiscoverySettings.IsHostPort(seed))
                throw new ConfigurationException($"runner.node.seed-nodes (RUNNER_SEED_NODES) contains '{seed}', which is not host:port.");
        }

        var logFormat = node.GetString("log-format", "text").Trim().ToLowerInvariant() switch
        {
            "text" => RunnerLogFormat.Text,
            "json" => RunnerLogFormat.Json,
            var other => throw new ConfigurationException($"runner.node.log-format ({LogFormatVariable}) must be text or json, not '{other}'."),
        };
        var paymentTimeout = config.GetTimeSpan("runner.samples.order.payment-timeout", TimeSpan.FromMinutes(15));
        if (paymentTimeout <= TimeSpan.Zero)
            throw new ConfigurationException($"runner.samples.order.payment-timeout must be positive, not {paymentTimeout}.");

        var advertised = string.IsNullOrWhiteSpace(publicHost) ? hostname : publicHost;
        return new RunnerNodeSettings
        {
            Hostname = hostname,
            Port = port,
            PublicHostname = advertised,
            ShardId = shardId,
            SeedNodes = [.. seeds],
            Discovery = ClusterDiscoverySettings.Create(node, hostname, advertised, [.. seeds]),
            SagaAssemblies = [.. node.GetStringList("saga-assemblies") ?? []],
            Samples = node.GetBoolean("samples", true),
            Allowlist = allowlist.Distinct(StringComparer.Ordinal).ToArray(),
            Discover = tenants.GetBoolean("discover", true),
            KeepAliveInterval = tenants.GetTimeSpan("keep-alive-interval", TimeSpan.FromSeconds(10)),
            LogFormat = logFormat,
            OrderPaymentTimeout = paymentTimeout,
        };
    }
}
