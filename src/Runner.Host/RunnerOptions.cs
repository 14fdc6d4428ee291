using Akka.Configuration;
using Runner.Actors;
using Runner.Nats;
using Runner.Placement;
using Runner.Placement.Custody;
using Runner.Sagas;

namespace Runner.Host;

/// <summary>
/// Everything a node is built from, read once from its configuration (environment over HOCON files over the embedded
/// defaults) into typed settings: <c>services.AddRunner(options)</c>, or <c>AddAkka(..., b =&gt; b.WithRunner(options))</c>
/// for the actor system alone.
/// </summary>
public sealed record RunnerOptions
{
    /// <summary>The whole configuration: Akka's own keys (<c>akka.*</c>) are taken from it as they are.</summary>
    public required Config Config { get; init; }

    /// <summary>The node: addresses, identity, cluster formation, allowlist.</summary>
    public required RunnerNodeSettings Node { get; init; }

    /// <summary>The NATS edge (its node id is the node's shard id).</summary>
    public required NatsSettings Nats { get; init; }

    /// <summary>The saga runtime.</summary>
    public required RuntimeSettings Runtime { get; init; }

    /// <summary>Placement: allowlist roles, the placement bucket.</summary>
    public required PlacementSettings Placement { get; init; }

    /// <summary>Custody of tenants' state.</summary>
    public required CustodySettings Custody { get; init; }

    /// <summary>Journal replication (<c>runner.replication</c>).</summary>
    public required ReplicationSettings Replication { get; init; }

    /// <summary>The admin endpoint.</summary>
    public required AdminSettings Admin { get; init; }

    /// <summary>TLS between nodes.</summary>
    public required RemoteTlsSettings RemoteTls { get; init; }

    /// <summary>The sagas the node runs.</summary>
    public required SagaCatalog Catalog { get; init; }

    /// <summary>The node's cluster roles (its shard id, its allowlisted tenants, or open).</summary>
    public IReadOnlyList<string> Roles => PlacementRoles.For(Node.ShardId, Node.Allowlist, open: Node.Allowlist.Count == 0 && !Placement.UsesBucket);

    /// <summary>
    /// Reads and validates every setting of <paramref name="config"/>, and gathers the sagas: the shipped samples (unless
    /// off), those of <c>runner.node.saga-assemblies</c>, and <paramref name="extraSagas"/>.
    /// </summary>
    /// <exception cref="ConfigurationException">A setting is invalid, or no saga is registered.</exception>
    public static RunnerOptions Create(Config config, IEnumerable<ISagaDefinition>? extraSagas = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var node = RunnerNodeSettings.Create(config);
        var admin = AdminSettings.Create(config);
        if (node.Discovery.UsesBootstrap && (node.Discovery.ManagementPort == admin.Port || node.Discovery.ManagementPort == node.Port))
            throw new ConfigurationException(
                $"runner.node.management.port (RUNNER_MANAGEMENT_PORT) {node.Discovery.ManagementPort} is also the " +
                $"{(node.Discovery.ManagementPort == admin.Port ? "admin endpoint's (RUNNER_ADMIN_PORT)" : "remoting port (RUNNER_PORT)")}: give it a port of its own.");

        var catalog = new SagaCatalog();
        if (node.Samples) catalog.Add(new Runner.Sagas.Samples.OrderSaga(node.OrderPaymentTimeout));
        foreach (var assembly in node.SagaAssemblies)
        {
            foreach (var saga in SagaCatalog.LoadFromAssembly(assembly)) catalog.Add(saga);
        }

        foreach (var saga in extraSagas ?? []) catalog.Add(saga);
        if (catalog.All.Count == 0) throw new ConfigurationException("No saga is registered: enable runner.node.samples or list runner.node.saga-assemblies.");

        var custody = CustodySettings.Create(config);
        var replication = ReplicationSettings.Create(config);
        if (replication.Enabled && !custody.Enabled)
            throw new ConfigurationException(
                $"runner.replication.enabled ({ReplicationSettings.EnabledVariable}) needs runner.custody.enabled: custody opens each tenant's replica log before it runs.");

        return new RunnerOptions
        {
            Config = config,
            Node = node,
            Nats = NatsSettings.Create(config) with { NodeId = node.ShardId },
            Runtime = RuntimeSettings.Create(config),
            Placement = PlacementSettings.Create(config),
            Custody = custody,
            Replication = replication,
            Admin = admin,
            RemoteTls = RemoteTlsSettings.Create(config),
            Catalog = catalog,
        };
    }
}
