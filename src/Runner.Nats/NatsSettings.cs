using System.Globalization;
using Akka.Configuration;
using NATS.Client.Core;

namespace Runner.Nats;

/// <summary>Settings of the NATS edges, read once from <c>runner.nats</c>.</summary>
public sealed record NatsSettings
{
    /// <summary>Environment variable that overrides <c>runner.nats.url</c>.</summary>
    public const string UrlVariable = "RUNNER_NATS_URL";

    /// <summary>Environment variable that overrides <c>runner.nats.streams.replicas</c>.</summary>
    public const string ReplicasVariable = "RUNNER_NATS_REPLICAS";

    /// <summary>Environment variable that overrides <c>runner.nats.consumer.replicas</c>.</summary>
    public const string ConsumerReplicasVariable = "RUNNER_NATS_CONSUMER_REPLICAS";

    /// <summary>Most replicas JetStream keeps of a stream or consumer.</summary>
    public const int MaxReplicas = 5;

    /// <summary>NATS URL(s).</summary>
    public required string Url { get; init; }

    /// <summary>Shard id of the node, written on every published command and dead letter as <c>Runner-Node</c>.</summary>
    public string NodeId { get; init; } = "";

    /// <summary>Client name.</summary>
    public string ClientName { get; init; } = "runner";

    /// <summary>Credentials and TLS of the connection (<c>runner.nats.auth</c>, <c>runner.nats.tls</c>); its text never holds a secret.</summary>
    public NatsSecurity Security { get; init; } = NatsSecurity.None;

    /// <summary>The URL(s) with any credentials in them replaced by <c>***</c>: what logs and errors show.</summary>
    public string RedactedUrl => NatsSecurity.RedactUrls(Url);

    /// <summary>The mode and files of <see cref="Security"/>, with <c>url-credentials</c> when the URL carries them.</summary>
    public string DescribeSecurity() => Security.Describe(Url);

    /// <summary>
    /// Client options for a connection to <see cref="Url"/> with <see cref="Security"/> applied, named
    /// <paramref name="name"/> (default <see cref="ClientName"/>), reconnecting forever within the reconnect-wait bounds.
    /// Every connection built from settings (the node, the operator verbs) goes through here.
    /// </summary>
    public NatsOpts ClientOptions(string? name = null) => Security.Apply(NatsOpts.Default with
    {
        Url = Url,
        Name = name ?? ClientName,
        MaxReconnectRetry = -1,
        ReconnectWaitMin = ReconnectWaitMin,
        ReconnectWaitMax = ReconnectWaitMax,
    });

    /// <summary>Subjects and their parsing.</summary>
    public required Subjects Subjects { get; init; }

    /// <summary>Events stream name.</summary>
    public string EventsStream { get; init; } = "RUNNER_EVENTS";

    /// <summary>Commands stream name.</summary>
    public string CommandsStream { get; init; } = "RUNNER_COMMANDS";

    /// <summary>Dead-letter stream name.</summary>
    public string DeadLetterStream { get; init; } = "RUNNER_DLQ";

    /// <summary>true for file storage, false for memory.</summary>
    public bool FileStorage { get; init; } = true;

    /// <summary>
    /// Replicas of every stream and KV or object store bucket the runner creates (events, commands, dead letters, the
    /// placement bucket, the custody buckets). Placement and custody read the same value through
    /// <see cref="StreamReplicas(Config)"/>.
    /// </summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Replicas of each durable event consumer; at most <see cref="Replicas"/>.</summary>
    public int ConsumerReplicas { get; init; } = 1;

    /// <summary>Duplicate window of the streams.</summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Whether missing streams are created.</summary>
    public bool CreateStreams { get; init; } = true;

    /// <summary>Events in flight per consumer.</summary>
    public int Parallelism { get; init; } = 64;

    /// <summary>Processing timeout per event.</summary>
    public TimeSpan ProcessingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>JetStream AckWait.</summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>First delay before an event that was not applied is tried again (doubles up to <see cref="MaxBackoff"/>).</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Messages per pull.</summary>
    public int PullBatch { get; init; } = 256;

    /// <summary>How long a pull request waits on the server (heartbeats at half of it).</summary>
    public TimeSpan PullExpires { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Reconnect backoff lower bound.</summary>
    public TimeSpan ReconnectWaitMin { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Reconnect backoff upper bound.</summary>
    public TimeSpan ReconnectWaitMax { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Consumer restart backoff lower bound.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Consumer restart backoff upper bound.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Idle heartbeat of each pull: the server sends one this often while a pull waits, and a consumption that hears
    /// nothing (message or heartbeat) for twice this long restarts (its consumer's server is gone or lost the pull).
    /// </summary>
    public TimeSpan IdleHeartbeat { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait for a JetStream API answer about a consumer (info, create, delete) before it counts as unreachable.</summary>
    public TimeSpan ApiTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// JetStream API calls about consumers (info, create, delete) this node has in flight at once for starts and
    /// failovers; standbys and clean-up get half of it on their own gate. The rest wait their turn.
    /// </summary>
    public int ApiConcurrency { get; init; } = 16;

    /// <summary>A runner consumer nobody has pulled from for this long is removed by the server (ones left behind by a failover).</summary>
    public TimeSpan ConsumerInactiveThreshold { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Whether each (tenant, saga) keeps a standby consumer on another server (one-replica consumers of a replicated
    /// stream only), switched to without any JetStream API call when the active one's server is lost.
    /// </summary>
    public bool StandbyConsumers { get; init; } = true;

    /// <summary>A standby consumer is created again at the checkpoint once it is this many events behind it.</summary>
    public ulong StandbyRefreshAfter { get; init; } = 1000;

    /// <summary>How often each consumption looks after its standby consumer (creates, refreshes, checks it).</summary>
    public TimeSpan StandbyCheckInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest pause between two attempts to place standbys while the servers for them are missing.</summary>
    public TimeSpan StandbyMaxRetryInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a server whose standby consumer did not answer is taken as down without asking it again.</summary>
    public TimeSpan StandbyUnansweredHold { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Inactivity threshold of the short-lived consumers that read events for a replay's dry run or dead letters for the
    /// admin endpoint: removed by the server when a reader is abandoned (its node gone) without deleting them.
    /// </summary>
    public TimeSpan ReaderInactiveThreshold { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long creating a stream or bucket waits for JetStream to have enough servers for its replicas.</summary>
    public TimeSpan PlacementWait { get; init; } = StreamPlacement.Default.Wait;

    /// <summary>How often a create that JetStream cannot place yet is tried again within <see cref="PlacementWait"/>.</summary>
    public TimeSpan PlacementRetryInterval { get; init; } = StreamPlacement.Default.RetryInterval;

    /// <summary><see cref="PlacementWait"/> and <see cref="PlacementRetryInterval"/> together, as the stream provisioner takes them.</summary>
    public StreamPlacement Placement => new(PlacementWait, PlacementRetryInterval);

    /// <summary>A (tenant, saga) with events waiting and no progress for longer than this is logged as stalled.</summary>
    public TimeSpan StallWarningAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often each consumption's applied position is recorded as its checkpoint.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Concurrent publishes per tenant.</summary>
    public int PublishParallelism { get; init; } = 32;

    /// <summary>Publish retry backoff lower bound.</summary>
    public TimeSpan PublishMinBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Publish retry backoff upper bound.</summary>
    public TimeSpan PublishMaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>PubAck wait.</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The connection settings with credentials in the URL redacted and the security as mode and files only.</summary>
    public override string ToString() =>
        $"NatsSettings {{ Url = {RedactedUrl}, Client = {ClientName}, {DescribeSecurity()}, Subjects = {Subjects.Prefix}, Streams = {EventsStream}/{CommandsStream}/{DeadLetterStream}, Replicas = {Replicas} }}";

    /// <summary>
    /// Reads <c>runner.nats</c> (with the embedded defaults as fallback) and validates it. Only <paramref name="config"/>
    /// is read: the <c>RUNNER_NATS_*</c> variables are in it when it was built with <see cref="EnvironmentOverrides"/>
    /// (the node's configuration always is).
    /// </summary>
    /// <exception cref="ConfigurationException">A key is invalid; the message names it.</exception>
    public static NatsSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = Section(config);
        var url = c.GetString("url");
        if (string.IsNullOrWhiteSpace(url)) throw new ConfigurationException("runner.nats.url must name a NATS server.");

        var storage = c.GetString("streams.storage", "file").Trim().ToLowerInvariant();
        if (storage is not ("file" or "memory"))
            throw new ConfigurationException($"runner.nats.streams.storage must be file or memory, not '{storage}'.");
        var replicas = StreamReplicas(config);
        var consumerReplicas = ReplicaCount(c, "consumer.replicas");
        if (consumerReplicas > replicas)
            throw new ConfigurationException(
                $"runner.nats.consumer.replicas ({ConsumerReplicasVariable}) is {consumerReplicas}, more than the {replicas} replica(s) of the " +
                $"streams (runner.nats.streams.replicas, {ReplicasVariable}): a consumer cannot have more replicas than its stream.");

        NatsSecurity security;
        try
        {
            security = NatsSecurity.Create(k => c.HasPath(k) ? c.GetString(k) : null);
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException(e.Message);
        }

        var settings = new NatsSettings
        {
            Url = url,
            ClientName = c.GetString("client-name", "runner"),
            Security = security,
            Subjects = new Subjects(c.GetString("subject-prefix", "runner")),
            EventsStream = StreamName(c, "streams.events"),
            CommandsStream = StreamName(c, "streams.commands"),
            DeadLetterStream = StreamName(c, "streams.dead-letters"),
            FileStorage = storage == "file",
            Replicas = replicas,
            ConsumerReplicas = consumerReplicas,
            DuplicateWindow = c.GetTimeSpan("streams.duplicate-window", TimeSpan.FromMinutes(10)),
            CreateStreams = CreatesStreams(config),
            Parallelism = Positive(c, "consumer.parallelism", c.GetInt("consumer.parallelism", 64)),
            ProcessingTimeout = c.GetTimeSpan("consumer.processing-timeout", TimeSpan.FromSeconds(10)),
            AckWait = c.GetTimeSpan("consumer.ack-wait", TimeSpan.FromSeconds(30)),
            RetryBackoff = c.GetTimeSpan("consumer.retry-backoff", TimeSpan.FromMilliseconds(200)),
            PullBatch = Positive(c, "consumer.pull-batch", c.GetInt("consumer.pull-batch", 256)),
            PullExpires = c.GetTimeSpan("consumer.pull-expires", TimeSpan.FromSeconds(30)),
            ReconnectWaitMin = c.GetTimeSpan("reconnect-wait.min", TimeSpan.FromMilliseconds(100)),
            ReconnectWaitMax = c.GetTimeSpan("reconnect-wait.max", TimeSpan.FromSeconds(1)),
            MinBackoff = c.GetTimeSpan("consumer.min-backoff", TimeSpan.FromMilliseconds(200)),
            MaxBackoff = c.GetTimeSpan("consumer.max-backoff", TimeSpan.FromSeconds(5)),
            CheckpointInterval = c.GetTimeSpan("consumer.checkpoint-interval", TimeSpan.FromSeconds(1)),
            IdleHeartbeat = c.GetTimeSpan("consumer.idle-heartbeat", TimeSpan.FromMilliseconds(500)),
            ApiTimeout = c.GetTimeSpan("consumer.api-timeout", TimeSpan.FromSeconds(1)),
            ApiConcurrency = Positive(c, "consumer.api-concurrency", c.GetInt("consumer.api-concurrency", 16)),
            ConsumerInactiveThreshold = c.GetTimeSpan("consumer.inactive-threshold", TimeSpan.FromHours(1)),
            StallWarningAfter = c.GetTimeSpan("consumer.stall-warning-after", TimeSpan.FromSeconds(10)),
            StandbyConsumers = c.GetBoolean("consumer.standby.enabled", true),
            StandbyRefreshAfter = (ulong)Positive(c, "consumer.standby.refresh-after", c.GetInt("consumer.standby.refresh-after", 1000)),
            StandbyCheckInterval = c.GetTimeSpan("consumer.standby.check-interval", TimeSpan.FromSeconds(2)),
            StandbyMaxRetryInterval = c.GetTimeSpan("consumer.standby.max-retry-interval", TimeSpan.FromSeconds(30)),
            StandbyUnansweredHold = c.GetTimeSpan("consumer.standby.unanswered-hold", TimeSpan.FromSeconds(10)),
            ReaderInactiveThreshold = c.GetTimeSpan("consumer.reader-inactive-threshold", TimeSpan.FromMinutes(1)),
            PlacementWait = StreamPlacementOf(config).Wait,
            PlacementRetryInterval = StreamPlacementOf(config).RetryInterval,
            PublishParallelism = Positive(c, "publish.parallelism", c.GetInt("publish.parallelism", 32)),
            PublishMinBackoff = c.GetTimeSpan("publish.min-backoff", TimeSpan.FromMilliseconds(100)),
            PublishMaxBackoff = c.GetTimeSpan("publish.max-backoff", TimeSpan.FromSeconds(5)),
            PublishTimeout = c.GetTimeSpan("publish.timeout", TimeSpan.FromSeconds(5)),
        };
        if (settings.PullExpires < TimeSpan.FromSeconds(1))
            throw new ConfigurationException($"runner.nats.consumer.pull-expires must be at least 1s, not {settings.PullExpires}.");
        if (settings.IdleHeartbeat < TimeSpan.FromMilliseconds(500) || settings.IdleHeartbeat > TimeSpan.FromSeconds(30)
            || settings.IdleHeartbeat.Ticks * 2 > settings.PullExpires.Ticks)
            throw new ConfigurationException(
                $"runner.nats.consumer.idle-heartbeat must be between 500ms and 30s and at most half of pull-expires ({settings.PullExpires}), not {settings.IdleHeartbeat}.");
        if (settings.ConsumerInactiveThreshold < TimeSpan.FromMinutes(1))
            throw new ConfigurationException($"runner.nats.consumer.inactive-threshold must be at least 1m, not {settings.ConsumerInactiveThreshold}.");
        if (settings.ApiTimeout <= TimeSpan.Zero)
            throw new ConfigurationException("runner.nats.consumer.api-timeout must be positive.");
        if (settings.StandbyCheckInterval < TimeSpan.FromMilliseconds(100))
            throw new ConfigurationException($"runner.nats.consumer.standby.check-interval must be at least 100ms, not {settings.StandbyCheckInterval}.");
        if (settings.StandbyMaxRetryInterval < settings.StandbyCheckInterval)
            throw new ConfigurationException(
                $"runner.nats.consumer.standby.max-retry-interval ({settings.StandbyMaxRetryInterval}) must be at least runner.nats.consumer.standby.check-interval ({settings.StandbyCheckInterval}).");
        if (settings.StandbyUnansweredHold <= TimeSpan.Zero)
            throw new ConfigurationException($"runner.nats.consumer.standby.unanswered-hold must be positive, not {settings.StandbyUnansweredHold}.");
        if (settings.ReaderInactiveThreshold < TimeSpan.FromSeconds(1))
            throw new ConfigurationException($"runner.nats.consumer.reader-inactive-threshold must be at least 1s, not {settings.ReaderInactiveThreshold}.");
        if (settings.StallWarningAfter <= TimeSpan.Zero)
            throw new ConfigurationException("runner.nats.consumer.stall-warning-after must be positive.");
        if (settings.RetryBackoff <= TimeSpan.Zero)
            throw new ConfigurationException("runner.nats.consumer.retry-backoff must be positive.");
        if (settings.ReconnectWaitMin <= TimeSpan.Zero || settings.ReconnectWaitMax < settings.ReconnectWaitMin)
            throw new ConfigurationException(
                $"runner.nats.reconnect-wait.min ({settings.ReconnectWaitMin}) must be positive and at most runner.nats.reconnect-wait.max ({settings.ReconnectWaitMax}).");
        if (settings.AckWait <= settings.ProcessingTimeout)
            throw new ConfigurationException(
                $"runner.nats.consumer.ack-wait ({settings.AckWait}) must exceed runner.nats.consumer.processing-timeout ({settings.ProcessingTimeout}).");
        return settings;
    }

    /// <summary>The embedded reference configuration of this assembly.</summary>
    public static Config DefaultConfiguration() =>
        ConfigurationFactory.FromResource<NatsSettings>("Runner.Nats.reference.conf");

    /// <summary>
    /// The replicas of every stream and bucket the runner creates: <c>runner.nats.streams.replicas</c>
    /// (<c>RUNNER_NATS_REPLICAS</c> through <see cref="EnvironmentOverrides"/>). The one reading of the setting:
    /// <see cref="Create(Config)"/>, placement and custody all take their replicas from here.
    /// </summary>
    /// <exception cref="ConfigurationException">Not an integer from 1 to 5; the message names the key.</exception>
    public static int StreamReplicas(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return ReplicaCount(Section(config), "streams.replicas");
    }

    /// <summary>
    /// How long creating a stream or bucket waits for JetStream to place it (<c>runner.nats.streams.placement-wait</c>,
    /// <c>placement-retry-interval</c>). The one reading of them: <see cref="Create(Config)"/>, placement and custody
    /// take them from here for their buckets.
    /// </summary>
    /// <exception cref="ConfigurationException">A duration is not positive, or the interval exceeds the wait.</exception>
    public static StreamPlacement StreamPlacementOf(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = Section(config);
        var wait = c.GetTimeSpan("streams.placement-wait", StreamPlacement.Default.Wait);
        var retry = c.GetTimeSpan("streams.placement-retry-interval", StreamPlacement.Default.RetryInterval);
        if (wait <= TimeSpan.Zero) throw new ConfigurationException($"runner.nats.streams.placement-wait must be positive, not {wait}.");
        if (retry <= TimeSpan.Zero || retry > wait)
            throw new ConfigurationException(
                $"runner.nats.streams.placement-retry-interval must be positive and at most runner.nats.streams.placement-wait ({wait}), not {retry}.");
        return new StreamPlacement(wait, retry);
    }

    /// <summary>
    /// The HOCON that the <c>RUNNER_NATS_*</c> variables stand for (<paramref name="environment"/> gives a variable's
    /// value, null when unset): the URL, the replicas, the credentials and TLS. The one mapping of these variables: the
    /// node's <c>RunnerConfiguration.EnvironmentOverrides</c> includes it; runnerctl and the feeder, which read no HOCON
    /// files, put it over the embedded defaults. Set variables win over every key; empty ones are ignored.
    /// </summary>
    /// <exception cref="ConfigurationException">A replica count is not a whole number from 1 to 5; the message names the variable.</exception>
    public static Config EnvironmentOverrides(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var sb = new System.Text.StringBuilder();
        void Str(string variable, string key)
        {
            if (environment(variable) is { Length: > 0 } v) sb.AppendLine(CultureInfo.InvariantCulture, $"runner.nats.{key} = {Quote(v)}");
        }

        void Replicas(string variable, string key)
        {
            var raw = environment(variable);
            if (string.IsNullOrWhiteSpace(raw)) return;
            sb.AppendLine(CultureInfo.InvariantCulture, $"runner.nats.{key} = {ParseReplicas(raw, variable)}");
        }

        if (environment(UrlVariable) is { } url && !string.IsNullOrWhiteSpace(url)) Str(UrlVariable, "url");
        Replicas(ReplicasVariable, "streams.replicas");
        Replicas(ConsumerReplicasVariable, "consumer.replicas");
        Str(NatsSecurity.UserVariable, "auth.user");
        Str(NatsSecurity.PasswordVariable, "auth.password");
        Str(NatsSecurity.PasswordFileVariable, "auth.password-file");
        Str(NatsSecurity.TokenVariable, "auth.token");
        Str(NatsSecurity.TokenFileVariable, "auth.token-file");
        Str(NatsSecurity.NKeySeedFileVariable, "auth.nkey-seed-file");
        Str(NatsSecurity.CredsFileVariable, "auth.creds-file");
        Str(NatsSecurity.TlsModeVariable, "tls.mode");
        Str(NatsSecurity.TlsCaFileVariable, "tls.ca-file");
        Str(NatsSecurity.TlsCertFileVariable, "tls.cert-file");
        Str(NatsSecurity.TlsKeyFileVariable, "tls.key-file");
        return ConfigurationFactory.ParseString(sb.ToString());
    }

    /// <summary>As <see cref="Create(Config)"/> over <see cref="EnvironmentOverrides"/> of <paramref name="environment"/> (tests).</summary>
    internal static NatsSettings Create(Config config, Func<string, string?> environment) =>
        Create(EnvironmentOverrides(environment).WithFallback(config));

    /// <summary>As <see cref="StreamReplicas(Config)"/> over <see cref="EnvironmentOverrides"/> of <paramref name="environment"/> (tests).</summary>
    internal static int StreamReplicas(Config config, Func<string, string?> environment) =>
        StreamReplicas(EnvironmentOverrides(environment).WithFallback(config));

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// Whether missing streams and buckets are created (<c>runner.nats.streams.mode = create</c>) or only validated
    /// (<c>validate</c>: a missing one stops the start). Placement and custody follow it for their buckets.
    /// </summary>
    /// <exception cref="ConfigurationException">The mode is neither create nor validate.</exception>
    public static bool CreatesStreams(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var mode = Section(config).GetString("streams.mode", "create").Trim().ToLowerInvariant();
        return mode switch
        {
            "create" => true,
            "validate" => false,
            _ => throw new ConfigurationException($"runner.nats.streams.mode must be create or validate, not '{mode}'."),
        };
    }

    private static Config Section(Config config) => config.WithFallback(DefaultConfiguration()).GetConfig("runner.nats");

    private static int ReplicaCount(Config c, string key) => ParseReplicas(c.GetString(key, "1"), $"runner.nats.{key}");

    private static int ParseReplicas(string? raw, string source)
    {
        raw = raw?.Trim() ?? "";
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > MaxReplicas)
            throw new ConfigurationException(
                $"{source} must be a whole number of replicas from 1 to {MaxReplicas} (JetStream's limit; 3 on a three-server cluster), not '{raw}'.");
        return n;
    }

    private static string StreamName(Config c, string key)
    {
        var name = c.GetString(key);
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(['.', '*', '>', ' ', '/', '\\']) >= 0)
            throw new ConfigurationException($"runner.nats.{key} must be a stream name without '.', '*', '>', spaces or slashes, not '{name}'.");
        return name;
    }

    private static int Positive(Config c, string key, int value) =>
        value >= 1 ? value : throw new ConfigurationException($"runner.nats.{key} must be at least 1, not {value}.");
}

/// <summary>
/// How long creating a stream or bucket waits for JetStream to have enough servers for its replicas (a cluster still
/// forming), and how often it tries again meanwhile.
/// </summary>
/// <param name="Wait">Longest wait; past it the create fails with what it needs.</param>
/// <param name="RetryInterval">Pause between two attempts.</param>
public sealed record StreamPlacement(TimeSpan Wait, TimeSpan RetryInterval)
{
    /// <summary>The defaults of the embedded reference.conf (30 s, 250 ms).</summary>
    public static StreamPlacement Default { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(250));
}
