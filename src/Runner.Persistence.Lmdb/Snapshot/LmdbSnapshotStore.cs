using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Runner.Persistence.Lmdb.Internal;

namespace Runner.Persistence.Lmdb.Snapshot;

/// <summary>Akka.Persistence snapshot store on LMDB, sharing the journal's environment.</summary>
public sealed class LmdbSnapshotStore : SnapshotStore
{
    private readonly LmdbStore _store;
    private readonly EventCodec _codec;

    /// <summary>Created by Akka.Persistence with the plugin's configuration section.</summary>
    public LmdbSnapshotStore(Config config)
    {
        var fallback = LmdbPersistence.DefaultConfiguration().GetConfig(LmdbPersistence.SnapshotStorePath);
        _store = LmdbPersistence.Get(Context.System).StoreFor(config.WithFallback(fallback), Self.Path.Name);
        _codec = new EventCodec((ExtendedActorSystem)Context.System);
    }

    /// <inheritdoc />
    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var found = _store.ReadSnapshots(persistenceId, Bounds(criteria), 1);
        if (found.Count == 0) return Task.FromResult<SelectedSnapshot?>(null);
        var (seq, record) = found[0];
        var snapshot = _codec.Deserialize(persistenceId, seq, record.SerializerId, record.Manifest, record.Payload, "snapshot");
        var metadata = new SnapshotMetadata(persistenceId, seq, new DateTime(record.Timestamp, DateTimeKind.Utc));
        return Task.FromResult<SelectedSnapshot?>(new SelectedSnapshot(metadata, snapshot));
    }

    /// <inheritdoc />
    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        Keys.CheckName(metadata.PersistenceId, "persistence id");
        if (_store.FenceOf(metadata.PersistenceId) is { } fence)
            return Task.FromException(new PersistenceIdFencedException(metadata.PersistenceId, fence));
        var (id, manifest, bytes) = _codec.Serialize(snapshot);
        var ticks = metadata.Timestamp == DateTime.MinValue ? DateTime.UtcNow.Ticks : Utc(metadata.Timestamp);
        var record = new SnapshotRecord(ticks, id, manifest, bytes).Encode();
        return _store.SaveSnapshotAsync(metadata.PersistenceId, metadata.SequenceNr, record);
    }

    /// <inheritdoc />
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        // Identified by persistence id and sequence number; a timestamp, when given, must match too.
        var (min, max) = metadata.Timestamp == DateTime.MinValue ? (long.MinValue, long.MaxValue) : (Utc(metadata.Timestamp), Utc(metadata.Timestamp));
        return _store.DeleteSnapshotsAsync(metadata.PersistenceId, new SnapshotBounds(metadata.SequenceNr, metadata.SequenceNr, min, max));
    }

    /// <inheritdoc />
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        _store.DeleteSnapshotsAsync(persistenceId, Bounds(criteria));

    /// <summary>UTC ticks; a timestamp without a kind is taken as UTC (Akka stamps snapshots with UtcNow).</summary>
    private static long Utc(DateTime t) => t.Kind == DateTimeKind.Unspecified ? t.Ticks : t.ToUniversalTime().Ticks;

    private static SnapshotBounds Bounds(SnapshotSelectionCriteria c) => new(
        c.MinSequenceNr,
        c.MaxSequenceNr,
        c.MinTimestamp is { } min && min != DateTime.MinValue ? Utc(min) : long.MinValue,
        c.MaxTimeStamp == DateTime.MaxValue ? long.MaxValue : Utc(c.MaxTimeStamp));
}
