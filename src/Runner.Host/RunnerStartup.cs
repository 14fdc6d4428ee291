using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Runner.Actors;
using Runner.Nats;

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
    ILogger<RunnerStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        LogConnecting(logger, node.ShardId, nats.Settings.Url);
        await nats.StartAsync(cancellationToken).ConfigureAwait(false);

        var region = await ClusterSharding.Get(system).StartAsync(
            "tenant",
            tenant => TenantActor.Props(tenant, services),
            ClusterShardingSettings.Create(system),
            new TenantMessageExtractor(),
            ShardAllocationStrategy.LeastShardAllocationStrategy(absoluteLimit: 0, relativeLimit: 0.1),
            TenantActor.HandOff.Instance).ConfigureAwait(false);
        registry.Register<TenantRegion>(region);

        var intake = system.ActorOf(IntakeActor.Props(nats, region, node.Allowlist, node.Discover, node.KeepAliveInterval), "intake");
        registry.Register<Intake>(intake);
        LogStarted(logger, node.ShardId, string.Join(", ", services.Catalog.All.Select(s => s.Name)), string.Join(", ", node.Allowlist), node.Discover);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner node {ShardId} connecting to NATS at {Url}")]
    private static partial void LogConnecting(ILogger logger, string shardId, string url);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner node {ShardId} started: sagas [{Sagas}], allowlist [{Allowlist}], discovery {Discover}")]
    private static partial void LogStarted(ILogger logger, string shardId, string sagas, string allowlist, bool discover);
}
