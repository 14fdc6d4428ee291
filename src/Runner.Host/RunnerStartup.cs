using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Runner.Actors;
using Runner.Nats;
using Runner.Placement;
using Runner.Placement.Custody;

namespace Runner.Host;

/// <summary>Marker for the tenant shard region in the <see cref="ActorRegistry"/>.</summary>
public sealed class TenantRegion;

/// <summary>Marker for the intake actor in the <see cref="ActorRegistry"/>.</summary>
public sealed class Intake;

/// <summary>
/// Starts the node once the actor system is up: connects to NATS and creates or validates the streams (an
/// incompatible stream stops the start with a clear error), starts the tenant shard region and the intake.
/// </summary>
internal sealed partial class RunnerStartup(
    ActorSystem system,
    ActorRegistry registry,
    NatsEdge nats,
    TenantServices services,
    RunnerNodeSettings node,
    PlacementSettings placement,
    CustodySettings custody,
    ILoggerFactory loggers,
    DrainReport drain,
    RemoteTlsStatus remoteTls,
    AdminSettings admin,
    ILogger<RunnerStartup> logger) : IHostedService, IAsyncDisposable
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Akka's scheduler starts on first use, and that first call blocks its thread until a thread-pool work item has
        // run. Started here, before any tenant exists, its first use is never a burst of recovering sagas that parks
        // the pool's threads on that wait.
        system.Scheduler.Advanced.ScheduleOnce(TimeSpan.Zero, static () => { });

        LogRemoteTls(logger, node.ShardId, remoteTls.Description);
        LogConnecting(logger, node.ShardId, nats.Settings.RedactedUrl, nats.Settings.DescribeSecurity());
        await nats.StartAsync(cancellationToken).ConfigureAwait(false);
        // The placement bucket is created or validated (replicas, validate mode) like the streams: a mismatch stops the start.
        if (placement.UsesBucket) await PlacementWatcher.EnsureBucketAsync(nats.JetStream, placement, cancellationToken).ConfigureAwait(false);

        // Every node keeps a placement view (any node may host the shard coordinator) and, with a bucket, watches it.
        var view = system.ActorOf(PlacementView.Props(placement.UsesBucket), "placement");
        registry.Register<PlacementView>(view);
        if (placement.UsesBucket) system.ActorOf(PlacementWatcher.Props(nats.JetStream, placement, view), "placement-watcher");

        // Custody: a tenant runs only where its state is, and its state follows it when placement moves it.
        var tenantServices = services;
        if (custody.Enabled)
        {
            _custodian = new TenantCustodian(system, nats.Connection, nats.JetStream, view, placement, custody, node.ShardId,
                nats.Settings.Subjects.Prefix, loggers.CreateLogger<TenantCustodian>());
            await _custodian.StartAsync(cancellationToken).ConfigureAwait(false);
            tenantServices = services with { Custody = _custodian };
        }

        var region = await ClusterSharding.Get(system).StartAsync(
            "tenant",
            tenant => TenantActor.Props(tenant, tenantServices),
            ClusterShardingSettings.Create(system),
            new TenantMessageExtractor(),
            new TenantPlacementStrategy(system, view, placement),
            TenantActor.HandOff.Instance).ConfigureAwait(false);
        registry.Register<TenantRegion>(region);
        drain.Attach(system, region, admin.DrainRegionTimeout);

        var intake = system.ActorOf(IntakeActor.Props(nats, region, node.Allowlist, node.Discover, node.KeepAliveInterval, services.Runtime, view), "intake");
        registry.Register<Intake>(intake);
        LogStarted(logger, node.ShardId, string.Join(", ", services.Catalog.All.Select(s => s.Name)), string.Join(", ", node.Allowlist),
            placement.UsesBucket ? placement.Bucket : "none", node.Discover);
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    private TenantCustodian? _custodian;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_custodian is { } custodian) await custodian.DisposeAsync().ConfigureAwait(false);
        _custodian = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner node {ShardId}: TLS between nodes {Tls}")]
    private static partial void LogRemoteTls(ILogger logger, string shardId, string tls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner node {ShardId} connecting to NATS at {Url} ({Security})")]
    private static partial void LogConnecting(ILogger logger, string shardId, string url, string security);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner node {ShardId} started: sagas [{Sagas}], allowlist [{Allowlist}], placement bucket {Bucket}, discovery {Discover}")]
    private static partial void LogStarted(ILogger logger, string shardId, string sagas, string allowlist, string bucket, bool discover);
}
