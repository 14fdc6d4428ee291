using Akka.Configuration;

namespace Runner.Persistence.Lmdb;

/// <summary>When an acknowledged commit is on disk.</summary>
public enum LmdbDurability
{
    /// <summary>fsync on every commit: survives kill -9 and power loss.</summary>
    Sync,

    /// <summary>Data pages are synced, the meta page is not (MDB_NOMETASYNC).</summary>
    NoMetaSync,

    /// <summary>No fsync (MDB_NOSYNC): survives a process crash, not a power loss. Tests only.</summary>
    NoSync,
}

/// <summary>Settings of one LMDB environment, read once from a plugin's HOCON section.</summary>
/// <param name="DataDirectory">Absolute path of the environment directory.</param>
/// <param name="MapSize">Initial map size in bytes.</param>
/// <param name="MaxMapSize">Largest map size in bytes the store may grow to.</param>
/// <param name="Durability">Commit durability.</param>
/// <param name="MaxBatchSize">Most write requests per LMDB write transaction.</param>
/// <param name="MaxBatchWait">How long the writer lingers for more requests.</param>
/// <param name="MaxReaders">Maximum concurrent read transactions.</param>
/// <param name="ReplayBatchSize">Events read per read transaction.</param>
/// <param name="NameCacheSize">
/// Persistence ids (and tags) whose numeric ids are kept in memory: the most recently used, between this many and twice
/// this many; others are read from LMDB when used.
/// </param>
public sealed record LmdbStorageSettings(
    string DataDirectory,
    long MapSize,
    long MaxMapSize,
    LmdbDurability Durability,
    int MaxBatchSize,
    TimeSpan MaxBatchWait,
    int MaxReaders,
    int ReplayBatchSize,
    int NameCacheSize = 50_000)
{
    /// <summary>
    /// Environment variable that overrides <c>data-dir</c>, mapped into the configuration by
    /// <see cref="LmdbPersistence.EnvironmentOverrides"/> (these settings read only their section).
    /// </summary>
    public const string DataDirVariable = "RUNNER_DATA_DIR";

    /// <summary>Reads and validates the settings in <paramref name="config"/>, a plugin section at <paramref name="path"/>.</summary>
    /// <exception cref="ConfigurationException">A key is missing or invalid; the message names it.</exception>
    public static LmdbStorageSettings Create(Config config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        string Key(string k) => $"{path}.{k}";

        // RUNNER_DATA_DIR, when set, is in the section already (LmdbPersistence.EnvironmentOverrides): both are named.
        var dirKey = $"{Key("data-dir")} ({DataDirVariable})";
        var dir = config.GetString("data-dir", null);
        if (string.IsNullOrWhiteSpace(dir))
            throw new ConfigurationException($"{Key("data-dir")} must name a directory.");

        var mapSize = ReadSize(config, "map-size", Key("map-size"));
        var maxMapSize = ReadSize(config, "max-map-size", Key("max-map-size"));
        if (maxMapSize < mapSize)
            throw new ConfigurationException($"{Key("max-map-size")} ({maxMapSize}) must not be smaller than {Key("map-size")} ({mapSize}).");

        var durability = (config.GetString("durability", "sync") ?? "sync").Trim().ToLowerInvariant() switch
        {
            "sync" => LmdbDurability.Sync,
            "nometasync" => LmdbDurability.NoMetaSync,
            "nosync" => LmdbDurability.NoSync,
            var other => throw new ConfigurationException($"{Key("durability")} must be sync, nometasync or nosync, not '{other}'."),
        };

        var batch = Read(config, "max-batch-size", Key("max-batch-size"), static (c, k) => c.GetInt(k, 1024));
        if (batch < 1) throw new ConfigurationException($"{Key("max-batch-size")} must be at least 1, not {batch}.");
        var wait = Read(config, "max-batch-wait", Key("max-batch-wait"), static (c, k) => c.GetTimeSpan(k, TimeSpan.Zero));
        if (wait < TimeSpan.Zero) throw new ConfigurationException($"{Key("max-batch-wait")} must not be negative.");
        var readers = Read(config, "max-readers", Key("max-readers"), static (c, k) => c.GetInt(k, 510));
        if (readers < 1) throw new ConfigurationException($"{Key("max-readers")} must be at least 1, not {readers}.");
        var replay = Read(config, "replay-batch-size", Key("replay-batch-size"), static (c, k) => c.GetInt(k, 1000));
        if (replay < 1) throw new ConfigurationException($"{Key("replay-batch-size")} must be at least 1, not {replay}.");
        var names = Read(config, "name-cache-size", Key("name-cache-size"), static (c, k) => c.GetInt(k, 50_000));
        if (names < 1) throw new ConfigurationException($"{Key("name-cache-size")} must be at least 1, not {names}.");

        string full;
        try
        {
            full = Path.GetFullPath(dir);
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigurationException($"{dirKey}: cannot create or open directory '{dir}': {e.Message}", e);
        }

        return new LmdbStorageSettings(full, mapSize, maxMapSize, durability, batch, wait, readers, replay, names);
    }

    /// <summary>Reads a value; HOCON's own parse errors (e.g. FormatException for "-1s") become errors naming the key.</summary>
    private static T Read<T>(Config config, string key, string fullKey, Func<Config, string, T> read)
    {
        try
        {
            return read(config, key);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"{fullKey} is invalid ('{config.GetString(key, "")}'): {e.Message}", e);
        }
    }

    private static long ReadSize(Config config, string key, string fullKey)
    {
        long? size;
        try
        {
            size = config.GetByteSize(key);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"{fullKey} is not a byte size: {e.Message}", e);
        }

        if (size is null or <= 0)
            throw new ConfigurationException($"{fullKey} must be a positive byte size (e.g. 64MiB), not '{config.GetString(key, "")}'.");
        return size.Value;
    }
}
