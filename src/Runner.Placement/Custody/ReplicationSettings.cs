using Akka.Configuration;
using NATS.Client.JetStream.Models;
using Runner.Nats;

namespace Runner.Placement.Custody;

/// <summary>Settings of journal replication (<c>runner.replication</c>), read once.</summary>
public sealed record ReplicationSettings
{
    /// <summary>The environment variable of <c>runner.replication.enabled</c>.</summary>
    public const string EnabledVariable = "RUNNER_REPLICATION";

    /// <summary>Whether tenants' journals are replicated.</summary>
    public bool Enabled { get; init; }

    /// <summary>The stream of the replica logs.</summary>
    public string Stream { get; init; } = "RUNNER_JOURNAL";

    /// <summary>Most appends to a tenant's log between two bases.</summary>
    public int CompactEvery { get; init; } = 10_000;

    /// <summary>Bytes appended to a tenant's log before a base is made: at least this, and at least the last base's size.</summary>
    public long CompactAfterBytes { get; init; } = 8L * 1024 * 1024;

    /// <summary>Largest append in bytes.</summary>
    public int MaxAppendBytes { get; init; } = 512 * 1024;

    /// <summary>How long one append waits for its acknowledgement before it is sent again.</summary>
    public TimeSpan AppendTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an append is tried in all before the write fails.</summary>
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Replicas of the stream (<c>runner.nats.streams.replicas</c>).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Whether the stream may be created (<c>runner.nats.streams.mode</c>).</summary>
    public bool CreateStream { get; init; } = true;

    /// <summary>How long creating the stream waits for JetStream to place it.</summary>
    public StreamPlacement Placement { get; init; } = StreamPlacement.Default;

    /// <summary>The subject of <paramref name="tenant"/>'s log under <paramref name="prefix"/>.</summary>
    public static string Subject(string prefix, string tenant) => $"{prefix}.journal.{tenant}";

    /// <summary>The stream as the runner creates it: every tenant's log, file storage, limits retention, no age limit.</summary>
    public StreamConfig StreamConfig(string prefix) => new(Stream, [$"{prefix}.journal.>"])
    {
        Storage = StreamConfigStorage.File,
        NumReplicas = Replicas,
        Retention = StreamConfigRetention.Limits,
        DuplicateWindow = TimeSpan.FromMinutes(2),
    };

    /// <summary>Reads <c>runner.replication</c> over the embedded defaults.</summary>
    /// <exception cref="ConfigurationException">A value is out of range.</exception>
    public static ReplicationSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = (config.GetConfig("runner.replication") ?? Config.Empty).WithFallback(PlacementSettings.DefaultConfiguration().GetConfig("runner.replication"));
        var settings = new ReplicationSettings
        {
            Enabled = c.GetBoolean("enabled", false),
            Stream = c.GetString("stream", "RUNNER_JOURNAL"),
            CompactEvery = c.GetInt("compact-every", 10_000),
            CompactAfterBytes = c.GetByteSize("compact-after-bytes") ?? 8L * 1024 * 1024,
            MaxAppendBytes = (int)Math.Min(int.MaxValue, c.GetByteSize("max-append-bytes") ?? 512 * 1024),
            AppendTimeout = c.GetTimeSpan("append-timeout", TimeSpan.FromSeconds(1)),
            GiveUpAfter = c.GetTimeSpan("give-up-after", TimeSpan.FromSeconds(30)),
            Replicas = NatsSettings.StreamReplicas(config),
            CreateStream = NatsSettings.CreatesStreams(config),
            Placement = NatsSettings.StreamPlacementOf(config),
        };
        if (string.IsNullOrWhiteSpace(settings.Stream)) throw new ConfigurationException("runner.replication.stream must not be empty.");
        if (settings.CompactEvery < 1) throw new ConfigurationException($"runner.replication.compact-every must be at least 1, not {settings.CompactEvery}.");
        if (settings.CompactAfterBytes < 0) throw new ConfigurationException($"runner.replication.compact-after-bytes must not be negative, not {settings.CompactAfterBytes}.");
        if (settings.MaxAppendBytes < 1024) throw new ConfigurationException($"runner.replication.max-append-bytes must be at least 1KiB, not {settings.MaxAppendBytes} bytes.");
        if (settings.AppendTimeout <= TimeSpan.Zero) throw new ConfigurationException($"runner.replication.append-timeout must be positive, not {settings.AppendTimeout}.");
        if (settings.GiveUpAfter < settings.AppendTimeout)
            throw new ConfigurationException($"runner.replication.give-up-after ({settings.GiveUpAfter}) must be at least runner.replication.append-timeout ({settings.AppendTimeout}).");
        return settings;
    }
}
