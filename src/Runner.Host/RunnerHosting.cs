using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.DependencyInjection;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Runner.Actors;
using Runner.Nats;
using Runner.Persistence.Lmdb;
using Runner.Persistence.Lmdb.Hosting;
using Runner.Placement;
using Runner.Placement.Custody;
using Runner.Placement.Lmdb;

namespace Runner.Host;

/// <summary>Marker for the tenant shard region in the <see cref="ActorRegistry"/>.</summary>
public sealed class TenantRegion;

/// <summary>Marker for the intake actor in the <see cref="ActorRegistry"/>.</summary>
public sealed class Intake;

/// <summary>
/// The node composed with Akka.Hosting: <c>services.AddRunner(options)</c> registers the NATS edge, its start (streams and
/// buckets validated before the actor system starts) and <c>AddAkka("runner", b =&gt; b.WithRunner(options))</c>.
/// </summary>
public static class RunnerHosting
{
    /// <summary>The actor system's name (every node of a cluster has the same).</summary>
    public const string SystemName = "runner";

    /// <summary>
    /// Registers the node's settings, the NATS edge, the tenant services, the NATS start (connects, creates or validates the
    /// streams and buckets: an incompatible one stops the start with a clear error before the node joins the cluster) and
    /// the actor system composed by <see cref="WithRunner"/>.
    /// </summary>
    public static IServiceCollection AddRunner(this IServiceCollection services, RunnerOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.AddSingleton(options.Node);
        services.AddSingleton(options.Admin);
        services.AddSingleton(options.Placement);
        services.AddSingleton(options.Custody);
        services.AddSingleton(options.Replication);
        services.AddSingleton(options.Catalog);
        services.AddSingleton(new DrainReport());
        services.AddSingleton(new ReplicationStatus());
        services.AddSingleton(sp => new NatsEdge(options.Nats, sp.GetRequiredService<ILogger<NatsEdge>>()));
        // Registered before the actor system: its start runs first, its stop after the actor system's.
        services.AddHostedService<NatsStartup>();
        // Liveness and readiness of the actor system and cluster (Akka.Hosting's checks), read by /healthz and /ready.
        services.AddHealthChecks();
        services.AddAkka(SystemName, (akka, _) => akka.WithRunner(options));
        if (options.Node.Discovery.UsesBootstrap) services.AddHostedService<ManagementEndpoint>();
        return services;
    }

    /// <summary>
    /// The node's actor system: remoting and clustering from the typed options (TLS between nodes when configured), the
    /// cluster formation (seed nodes or Akka.Management bootstrap), LMDB persistence, Akka's health checks, logging through
    /// Microsoft.Extensions.Logging, and the tenants (<see cref="WithTenants"/>). Akka's own keys in
    /// <see cref="RunnerOptions.Config"/> apply beneath these.
    /// </summary>
    public static AkkaConfigurationBuilder WithRunner(this AkkaConfigurationBuilder builder, RunnerOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var node = options.Node;
        var (sslSetup, tlsHocon, tlsDescription) = RemoteTls.Build(options.RemoteTls);
        var self = $"{options.RemoteTls.Scheme}://{SystemName}@{node.PublicHostname}:{node.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        builder.AddHocon(options.Config, HoconAddMode.Append);
        builder.WithRemoting(new RemoteOptions { HostName = node.Hostname, PublicHostName = node.PublicHostname, Port = node.Port });
        if (sslSetup is not null)
        {
            builder.AddHocon(tlsHocon, HoconAddMode.Prepend);
            builder.AddSetup(sslSetup);
        }

        // Under cluster bootstrap there are no seed nodes: it joins the node's own address or the members others report.
        builder.WithClustering(new ClusterOptions { SeedNodes = [.. ClusterFormation.SeedNodes(node, options.RemoteTls.Scheme, self)] });
        // The roles go in quoted: placement's roles hold a ':' (shard:<id>, tenant:<id>), which ClusterOptions.Roles would
        // write into the HOCON unquoted.
        builder.AddHocon($"akka.cluster.roles = [{string.Join(", ", options.Roles.Select(r => r.ToHocon()))}]", HoconAddMode.Prepend);
        builder.WithClusterFormation(node.Discovery);
        builder.WithLmdbPersistence();
        builder.WithActorSystemLivenessCheck();
        builder.WithAkkaClusterReadinessCheck();
        builder.ConfigureLoggers(l =>
        {
            l.ClearLoggers();
            l.AddLoggerFactory();
        });
        return builder.WithTenants(options, tlsDescription);
    }

    /// <summary>
    /// Starts what runs the tenants once the actor system is up (NATS is connected by then): the placement view (and the
    /// bucket watch), custody, the tenant shard region with the placement allocation strategy (Akka.Hosting's
    /// <c>WithShardRegion</c> cannot take a custom strategy, so it goes through <see cref="ClusterSharding.StartAsync(string, Func{string, Props}, ClusterShardingSettings, IMessageExtractor, IShardAllocationStrategy, object)"/>),
    /// and the intake; the region and the intake are registered in the <see cref="ActorRegistry"/>.
    /// </summary>
    private static AkkaConfigurationBuilder WithTenants(this AkkaConfigurationBuilder builder, RunnerOptions options, string tlsDescription) =>
        builder.WithActors(async (system, registry, resolver) =>
        {
            var nats = resolver.GetService<NatsEdge>();
            var loggers = resolver.GetService<ILoggerFactory>();
            var logger = loggers.CreateLogger(typeof(RunnerHosting).FullName!);
            var node = options.Node;
            var placement = options.Placement;
            // Akka's scheduler starts on first use, and that first call blocks its thread until a thread-pool work item has
            // run. Started here, before any tenant exists, its first use is never a burst of recovering sagas that parks
            // the pool's threads on that wait.
            system.Scheduler.Advanced.ScheduleOnce(TimeSpan.Zero, static () => { });
            StartupLog.RemoteTls(logger, node.ShardId, tlsDescription);

            // Every node keeps a placement view (any node may host the shard coordinator) and, with a bucket, watches it.
            var view = system.ActorOf(PlacementView.Props(placement.UsesBucket), "placement");
            registry.Register<PlacementView>(view);
            if (placement.UsesBucket) system.ActorOf(PlacementWatcher.Props(nats.JetStream, placement, view), "placement-watcher");

            IActorRef? region = null;
            var services = new TenantServices(options.Catalog, options.Runtime, SystemClock.Instance, nats, nats)
            {
                Region = () => region ?? ActorRefs.Nobody,
                CustodyRetry = options.Custody.RetryAfter,
                CustodyTimeout = options.Custody.Timeout,
            };

            // Custody: a tenant runs only where its state is, and its state follows it when placement moves it.
            if (options.Custody.Enabled)
            {
                // Journal replication: in front of the store before any tenant writes, opened per tenant by custody.
                JournalReplicator? replicator = null;
                if (options.Replication.Enabled)
                {
                    replicator = new JournalReplicator(LmdbPersistence.Get(system).StateStore(), nats.JetStream, options.Replication, options.Custody,
                        nats.Settings.Subjects.Prefix, node.ShardId, loggers.CreateLogger<JournalReplicator>());
                    await replicator.StartAsync(CancellationToken.None).ConfigureAwait(false);
                    resolver.GetService<ReplicationStatus>().Attach(replicator);
                }

                var custodian = new TenantCustodian(system, LmdbTenantStateStore.Of(system), nats.Connection, nats.JetStream, view, placement, options.Custody, node.ShardId,
                    nats.Settings.Subjects.Prefix, loggers.CreateLogger<TenantCustodian>(), replicator);
                await custodian.StartAsync(CancellationToken.None).ConfigureAwait(false);
                // Its loops end with the actor system; tenants release custody through it while they hand off, before that.
                CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "runner-custody-stop", async () =>
                {
                    await custodian.DisposeAsync().ConfigureAwait(false);
                    if (replicator is not null) await replicator.DisposeAsync().ConfigureAwait(false);
                    return Akka.Done.Instance;
                });
                services = services with { Custody = custodian };
            }

            region = await ClusterSharding.Get(system).StartAsync(
                "tenant",
                tenant => TenantActor.Props(tenant, services),
                ClusterShardingSettings.Create(system),
                new TenantMessageExtractor(),
                new TenantPlacementStrategy(system, view, placement),
                TenantActor.HandOff.Instance).ConfigureAwait(false);
            registry.Register<TenantRegion>(region);
            resolver.GetService<DrainReport>().Attach(system, region, options.Admin.DrainRegionTimeout);

            var intake = system.ActorOf(IntakeActor.Props(nats, region, node.Allowlist, node.Discover, node.KeepAliveInterval, options.Runtime, view), "intake");
            registry.Register<Intake>(intake);
            StartupLog.Started(logger, node.ShardId, string.Join(", ", options.Catalog.All.Select(s => s.Name)), string.Join(", ", node.Allowlist),
                placement.UsesBucket ? placement.Bucket : "none", node.Discover);
        });
}
