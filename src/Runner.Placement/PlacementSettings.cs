using Akka.Configuration;
using NATS.Client.KeyValueStore;
using Runner.Nats;

namespace Runner.Placement;

/// <summary>Settings of placement (<c>runner.placement</c>), read once.</summary>
public sealed record PlacementSettings
{
    /// <summary>The placement bucket; empty when tenants are placed by allowlists only.</summary>
    public string Bucket { get; init; } = "";

    /// <summary>Whether the bucket is created when missing (<c>runner.placement.create-bucket</c>).</summary>
    public bool CreateBucket { get; init; } = true;

    /// <summary>
    /// Replicas the bucket is created with and an existing one must have: the one setting of every stream and bucket
    /// of the runner, <c>runner.nats.streams.replicas</c> (<c>RUNNER_NATS_REPLICAS</c>), read by <see cref="NatsSettings.StreamReplicas(Config)"/>.
    /// </summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Whether <c>runner.nats.streams.mode = validate</c>: no stream or bucket is created, a missing one is an error.</summary>
    public bool ValidateOnly { get; init; }

    /// <summary>How long the strategy waits for the placement view.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Most tenants moved per rebalance round.</summary>
    public int MaxMovesPerRebalance { get; init; } = 10;

    /// <summary>First back-off of the bucket watch.</summary>
    public TimeSpan WatchMinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest back-off of the bucket watch.</summary>
    public TimeSpan WatchMaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long creating the bucket waits for JetStream to place it (<c>runner.nats.streams.placement-wait</c>).</summary>
    public StreamPlacement Placement { get; init; } = StreamPlacement.Default;

    /// <summary>How often an unplaceable tenant is logged again.</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether a placement bucket is in use.</summary>
    public bool UsesBucket => Bucket.Length > 0;

    /// <summary>The bucket as the runner creates it: file storage, history 1, <see cref="Replicas"/>.</summary>
    public NatsKVConfig BucketConfig => new(Bucket) { History = 1, Storage = NatsKVStorageType.File, NumberOfReplicas = Replicas };

    /// <summary>Null when a missing bucket is created; otherwise the setting that forbids it, for the error.</summary>
    public string? BucketNotCreatedBecause =>
        ValidateOnly ? "runner.nats.streams.mode = validate" : CreateBucket ? null : "runner.placement.create-bucket = off";

    /// <summary>The embedded reference configuration of this assembly.</summary>
    public static Config DefaultConfiguration() =>
        ConfigurationFactory.FromResource<PlacementSettings>("Runner.Placement.reference.conf");

    /// <summary>
    /// Reads <c>runner.placement</c> over the embedded defaults, and the bucket's replicas and creation mode from
    /// <c>runner.nats.streams</c> (as <see cref="NatsSettings"/> reads them).
    /// </summary>
    /// <exception cref="ConfigurationException">A key is invalid; the message names it.</exception>
    public static PlacementSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.GetConfig("runner.placement").WithFallback(DefaultConfiguration().GetConfig("runner.placement"));
        var bucket = c.GetString("bucket", "").Trim();
        if (bucket.Length > 0 && !bucket.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))
            throw new ConfigurationException(
                $"runner.placement.bucket (RUNNER_TENANT_PLACEMENT_BUCKET) '{bucket}' is not a NATS KV bucket name (letters, digits, '-', '_').");
        var moves = c.GetInt("max-moves-per-rebalance", 10);
        if (moves < 1) throw new ConfigurationException($"runner.placement.max-moves-per-rebalance must be at least 1, not {moves}.");
        var settings = new PlacementSettings
        {
            Bucket = bucket,
            CreateBucket = c.GetBoolean("create-bucket", true),
            Replicas = NatsSettings.StreamReplicas(config),
            ValidateOnly = !NatsSettings.CreatesStreams(config),
            AskTimeout = c.GetTimeSpan("ask-timeout", TimeSpan.FromSeconds(3)),
            MaxMovesPerRebalance = moves,
            WatchMinBackoff = c.GetTimeSpan("watch-min-backoff", TimeSpan.FromMilliseconds(200)),
            WatchMaxBackoff = c.GetTimeSpan("watch-max-backoff", TimeSpan.FromSeconds(5)),
            ReportInterval = c.GetTimeSpan("report-interval", TimeSpan.FromSeconds(30)),
            Placement = NatsSettings.StreamPlacementOf(config),
        };
        if (settings.WatchMinBackoff <= TimeSpan.Zero || settings.WatchMaxBackoff < settings.WatchMinBackoff)
            throw new ConfigurationException(
                $"runner.placement.watch-min-backoff ({settings.WatchMinBackoff}) must be positive and at most runner.placement.watch-max-backoff ({settings.WatchMaxBackoff}).");
        return settings;
    }
}
