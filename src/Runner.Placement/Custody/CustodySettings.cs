using Akka.Configuration;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using Runner.Nats;

namespace Runner.Placement.Custody;

/// <summary>Settings of custody (<c>runner.custody</c>), read once.</summary>
public sealed record CustodySettings
{
    /// <summary>Whether homes are tracked and state moves with tenants.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>KV bucket of home records.</summary>
    public string HomesBucket { get; init; } = "runner-tenant-homes";

    /// <summary>Object store bucket that carries state between nodes.</summary>
    public string StateBucket { get; init; } = "runner-tenant-state";

    /// <summary>How long a release request waits for the owner.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest a tenant's custody acquire or release may take (moving a large tenant's state included).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a tenant refused custody (or whose custody check failed) waits before asking again.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a draining node's release waits for a joining member to come Up when no other node could take the tenant.</summary>
    public TimeSpan JoiningWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>First delay before a custody loop (release requests, homes watch) that failed runs again (doubles).</summary>
    public TimeSpan WatchMinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay before a custody loop that failed runs again.</summary>
    public TimeSpan WatchMaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long creating a bucket waits for JetStream to place it (<c>runner.nats.streams.placement-wait</c>).</summary>
    public StreamPlacement Placement { get; init; } = StreamPlacement.Default;

    /// <summary>
    /// Replicas the buckets are created with and existing ones must have: the one setting of every stream and bucket of
    /// the runner, <c>runner.nats.streams.replicas</c> (<c>RUNNER_NATS_REPLICAS</c>), read by <see cref="NatsSettings.StreamReplicas(Config)"/>.
    /// </summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Whether <c>runner.nats.streams.mode = validate</c>: the buckets are not created, a missing one is an error.</summary>
    public bool ValidateOnly { get; init; }

    /// <summary>The homes bucket as the runner creates it: file storage, history 5, <see cref="Replicas"/>.</summary>
    public NatsKVConfig HomesConfig => new(HomesBucket) { History = 5, Storage = NatsKVStorageType.File, NumberOfReplicas = Replicas };

    /// <summary>The state object store as the runner creates it: file storage, <see cref="Replicas"/>.</summary>
    public NatsObjConfig StateConfig => new(StateBucket) { Storage = NatsObjStorageType.File, NumberOfReplicas = Replicas };

    /// <summary>Null when missing buckets are created; otherwise the setting that forbids it, for the error.</summary>
    public string? NotCreatedBecause => ValidateOnly ? "runner.nats.streams.mode = validate" : null;

    /// <summary>
    /// Reads <c>runner.custody</c> over the embedded defaults, and the buckets' replicas and creation mode from
    /// <c>runner.nats.streams</c> (as <see cref="NatsSettings"/> reads them).
    /// </summary>
    public static CustodySettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = (config.GetConfig("runner.custody") ?? Config.Empty).WithFallback(PlacementSettings.DefaultConfiguration().GetConfig("runner.custody"));
        var settings = new CustodySettings
        {
            Enabled = c.GetBoolean("enabled", true),
            HomesBucket = c.GetString("homes-bucket", "runner-tenant-homes"),
            StateBucket = c.GetString("state-bucket", "runner-tenant-state"),
            RequestTimeout = c.GetTimeSpan("request-timeout", TimeSpan.FromSeconds(5)),
            Timeout = Positive(c, "timeout", TimeSpan.FromSeconds(60)),
            RetryAfter = Positive(c, "retry-after", TimeSpan.FromSeconds(2)),
            JoiningWait = c.GetTimeSpan("joining-wait", TimeSpan.FromSeconds(5)),
            Replicas = NatsSettings.StreamReplicas(config),
            ValidateOnly = !NatsSettings.CreatesStreams(config),
            WatchMinBackoff = Positive(c, "watch-min-backoff", TimeSpan.FromMilliseconds(200)),
            WatchMaxBackoff = Positive(c, "watch-max-backoff", TimeSpan.FromSeconds(5)),
            Placement = NatsSettings.StreamPlacementOf(config),
        };
        if (settings.WatchMaxBackoff < settings.WatchMinBackoff)
            throw new ConfigurationException(
                $"runner.custody.watch-max-backoff ({settings.WatchMaxBackoff}) must be at least runner.custody.watch-min-backoff ({settings.WatchMinBackoff}).");
        return settings;
    }

    private static TimeSpan Positive(Config c, string key, TimeSpan fallback)
    {
        var value = c.GetTimeSpan(key, fallback);
        return value > TimeSpan.Zero ? value : throw new ConfigurationException($"runner.custody.{key} must be positive, not {value}.");
    }
}
