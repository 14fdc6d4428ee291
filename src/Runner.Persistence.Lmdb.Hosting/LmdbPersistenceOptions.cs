using System.Text;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Hosting;

namespace Runner.Persistence.Lmdb.Hosting;

/// <summary>Storage keys shared by the journal and snapshot options; each null key keeps the reference default.</summary>
public sealed record LmdbStorageOptions
{
    /// <summary>Directory of the LMDB environment (<c>data-dir</c>); <c>RUNNER_DATA_DIR</c> still wins when set.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Initial map size in bytes (<c>map-size</c>).</summary>
    public long? MapSize { get; init; }

    /// <summary>Largest map size in bytes (<c>max-map-size</c>).</summary>
    public long? MaxMapSize { get; init; }

    /// <summary>Commit durability (<c>durability</c>).</summary>
    public LmdbDurability? Durability { get; init; }

    /// <summary>Most write requests per transaction (<c>max-batch-size</c>).</summary>
    public int? MaxBatchSize { get; init; }

    /// <summary>Linger for more requests (<c>max-batch-wait</c>).</summary>
    public TimeSpan? MaxBatchWait { get; init; }

    /// <summary>Maximum concurrent readers (<c>max-readers</c>).</summary>
    public int? MaxReaders { get; init; }

    /// <summary>Events per read transaction (<c>replay-batch-size</c>).</summary>
    public int? ReplayBatchSize { get; init; }

    /// <summary>Persistence ids and tags whose numeric ids stay in memory, the most recently used (<c>name-cache-size</c>).</summary>
    public int? NameCacheSize { get; init; }

    /// <summary>Keeps the reference defaults for every key.</summary>
    public static LmdbStorageOptions Default { get; } = new();

    internal void AppendTo(StringBuilder sb)
    {
        if (DataDirectory is not null) sb.AppendLine($"data-dir = {DataDirectory.ToHocon()}");
        if (MapSize is { } m) sb.AppendLine($"map-size = {m}");
        if (MaxMapSize is { } mm) sb.AppendLine($"max-map-size = {mm}");
        if (Durability is { } d) sb.AppendLine($"durability = {d.ToString().ToLowerInvariant()}");
        if (MaxBatchSize is { } b) sb.AppendLine($"max-batch-size = {b}");
        if (MaxBatchWait is { } w) sb.AppendLine($"max-batch-wait = {w.ToHocon()}");
        if (MaxReaders is { } r) sb.AppendLine($"max-readers = {r}");
        if (ReplayBatchSize is { } rb) sb.AppendLine($"replay-batch-size = {rb}");
        if (NameCacheSize is { } n) sb.AppendLine($"name-cache-size = {n}");
    }
}

/// <summary>Journal options that become an <c>akka.persistence.journal.{Identifier}</c> block.</summary>
/// <param name="isDefault">Whether this journal becomes <c>akka.persistence.journal.plugin</c>.</param>
/// <param name="identifier">Plugin id; the HOCON path is <c>akka.persistence.journal.{identifier}</c>.</param>
public sealed class LmdbJournalOptions(bool isDefault, string identifier = "lmdb") : JournalOptions(isDefault)
{
    /// <summary>Storage keys; null keys keep the reference defaults.</summary>
    public LmdbStorageOptions Storage { get; init; } = LmdbStorageOptions.Default;

    /// <inheritdoc />
    public override string Identifier { get; set; } = identifier;

    /// <inheritdoc />
    protected override Config InternalDefaultConfig => LmdbPersistence.DefaultConfiguration().GetConfig(LmdbPersistence.JournalPath);

    /// <inheritdoc />
    protected override StringBuilder Build(StringBuilder sb)
    {
        sb.AppendLine($"class = {"Runner.Persistence.Lmdb.Journal.LmdbJournal, Runner.Persistence.Lmdb".ToHocon()}");
        Storage.AppendTo(sb);
        return base.Build(sb);
    }
}

/// <summary>Snapshot store options that become an <c>akka.persistence.snapshot-store.{Identifier}</c> block.</summary>
/// <param name="isDefault">Whether this store becomes <c>akka.persistence.snapshot-store.plugin</c>.</param>
/// <param name="identifier">Plugin id.</param>
public sealed class LmdbSnapshotOptions(bool isDefault, string identifier = "lmdb") : SnapshotOptions(isDefault)
{
    /// <summary>Storage keys; null keys keep the reference defaults. Keep them equal to the journal's.</summary>
    public LmdbStorageOptions Storage { get; init; } = LmdbStorageOptions.Default;

    /// <inheritdoc />
    public override string Identifier { get; set; } = identifier;

    /// <inheritdoc />
    protected override Config InternalDefaultConfig => LmdbPersistence.DefaultConfiguration().GetConfig(LmdbPersistence.SnapshotStorePath);

    /// <inheritdoc />
    protected override StringBuilder Build(StringBuilder sb)
    {
        sb.AppendLine($"class = {"Runner.Persistence.Lmdb.Snapshot.LmdbSnapshotStore, Runner.Persistence.Lmdb".ToHocon()}");
        Storage.AppendTo(sb);
        return base.Build(sb);
    }
}
