using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Runner.Nats;
using Runner.Placement;
using Runner.Placement.Custody;
using Runner.Placement.Lmdb;

namespace Runner.Host;

/// <summary>
/// Connects to NATS and creates or validates everything the node needs there before its actor system starts: the streams,
/// the placement bucket, custody's buckets and, with journal replication, the stream of the replica logs. A missing one in validate mode, or one whose replicas or subjects differ,
/// stops the start with a message saying what differs, before the node joins its cluster.
/// </summary>
internal sealed class NatsStartup(NatsEdge nats, PlacementSettings placement, CustodySettings custody, ReplicationSettings replication,
    RunnerNodeSettings node, ILogger<NatsStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        StartupLog.Connecting(logger, node.ShardId, nats.Settings.RedactedUrl, nats.Settings.DescribeSecurity());
        await nats.StartAsync(cancellationToken).ConfigureAwait(false);
        if (placement.UsesBucket) await PlacementWatcher.EnsureBucketAsync(nats.JetStream, placement, cancellationToken).ConfigureAwait(false);
        if (custody.Enabled) await TenantCustodian.EnsureStoresAsync(nats.JetStream, custody, cancellationToken).ConfigureAwait(false);
        if (replication.Enabled)
            await JournalReplicator.EnsureStoresAsync(nats.JetStream, replication, custody, nats.Settings.Subjects.Prefix, cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The node's start-up log lines.</summary>
internal static partial class StartupLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Runner node {ShardId}: TLS between nodes {Tls}")]
    public static partial void RemoteTls(ILogger logger, string shardId, string tls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner node {ShardId} connecting to NATS at {Url} ({Security})")]
    public static partial void Connecting(ILogger logger, string shardId, string url, string security);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner node {ShardId} started: sagas [{Sagas}], allowlist [{Allowlist}], placement bucket {Bucket}, discovery {Discover}")]
    public static partial void Started(ILogger logger, string shardId, string sagas, string allowlist, string bucket, bool discover);
}
