using System.Text;
using LightningDB;

namespace Runner.Persistence.Lmdb.Internal;

internal sealed partial class LmdbStore
{
    private volatile IStoreReplicator? _replicator;

    /// <summary>Where the journal and snapshot store ship their writes first, or null when nothing is replicated.</summary>
    public IStoreReplicator? Replicator
    {
        get => _replicator;
        set => _replicator = value;
    }

    /// <summary>Writes events: those of replicated ids through the replica log first, the rest directly.</summary>
    public Task WriteEventsAsync(IReadOnlyList<PreparedEvent> events)
    {
        if (_replicator is not { } replicator) return WriteAsync(ctx => { WriteEvents(ctx, events); return true; });
        List<PreparedEvent>? local = null;
        Dictionary<string, List<PreparedEvent>>? keyed = null;
        foreach (var e in events)
        {
            if (replicator.KeyOf(e.PersistenceId) is { } key)
            {
                keyed ??= new Dictionary<string, List<PreparedEvent>>(StringComparer.Ordinal);
                if (!keyed.TryGetValue(key, out var list)) keyed[key] = list = [];
                list.Add(e);
            }
            else
            {
                (local ??= []).Add(e);
            }
        }

        var writes = new List<Task>((keyed?.Count ?? 0) + 1);
        if (local is not null) writes.Add(WriteAsync(ctx => { WriteEvents(ctx, local); return true; }));
        if (keyed is not null)
        {
            foreach (var (key, list) in keyed) writes.Add(replicator.ReplicateAsync(key, ReplicaRecord.Events(list)));
        }

        return writes.Count == 1 ? writes[0] : Task.WhenAll(writes);
    }

    /// <summary>Deletes events up to a sequence number, through the replica log first when the id is replicated.</summary>
    public Task DeleteEventsToAsync(string persistenceId, long toSequenceNr) =>
        _replicator is { } r && r.KeyOf(persistenceId) is { } key
            ? r.ReplicateAsync(key, ReplicaRecord.DeleteTo(persistenceId, toSequenceNr))
            : WriteAsync(ctx => DeleteEventsTo(ctx, persistenceId, toSequenceNr));

    /// <summary>Saves a snapshot, through the replica log first when the id is replicated.</summary>
    public Task SaveSnapshotAsync(string persistenceId, long sequenceNr, byte[] record) =>
        _replicator is { } r && r.KeyOf(persistenceId) is { } key
            ? r.ReplicateAsync(key, ReplicaRecord.Snapshot(persistenceId, sequenceNr, record))
            : WriteAsync(ctx => { SaveSnapshot(ctx, persistenceId, sequenceNr, record); return true; });

    /// <summary>Deletes snapshots, through the replica log first when the id is replicated.</summary>
    public Task DeleteSnapshotsAsync(string persistenceId, SnapshotBounds bounds) =>
        _replicator is { } r && r.KeyOf(persistenceId) is { } key
            ? r.ReplicateAsync(key, ReplicaRecord.DeleteSnapshots(persistenceId, bounds))
            : WriteAsync(ctx => DeleteSnapshots(ctx, persistenceId, bounds));

    /// <summary>The replica log position this store holds for <paramref name="key"/> (0 when none).</summary>
    public ulong ReplicatedPosition(string key) => Read(tx => ReplicatedPosition(tx, key));

    private ulong ReplicatedPosition(LightningTransaction tx, string key)
    {
        var (rc, _, value) = tx.Get(Replicated, Encoding.UTF8.GetBytes(key));
        return rc == MDBResultCode.Success ? Keys.ReadU64(value.AsSpan()) : 0;
    }

    /// <summary>Sets (or, with 0, forgets) the replica log position of <paramref name="key"/> inside a write request.</summary>
    internal static void SetReplicatedPosition(WriteContext ctx, string key, ulong position)
    {
        var name = Encoding.UTF8.GetBytes(key);
        if (position == 0) ctx.Delete(ctx.Store.Replicated, name);
        else ctx.Put(ctx.Store.Replicated, name, Keys.U64(position));
    }

    /// <summary>Whether any selected id has events, a highest sequence number or a snapshot (stops at the first).</summary>
    internal bool HasData(PersistenceIdSelector selector) => Read(tx =>
    {
        foreach (var pid in SelectedPids(tx, selector))
        {
            var id = TryGetPidId(tx, pid);
            if (id == 0) continue;
            var (rc, _, _) = tx.Get(Highest, Keys.U64(id));
            if (rc == MDBResultCode.Success) return true;
            using var cursor = tx.CreateCursor(Snapshots);
            if (cursor.SetRange(Keys.IdSeq(id, 0)) == MDBResultCode.Success)
            {
                var (grc, key, _) = cursor.GetCurrent();
                if (grc == MDBResultCode.Success && Keys.ReadU64(key.AsSpan()) == id) return true;
            }
        }

        return false;
    });

    /// <summary>The selected ids and the replica log position of <paramref name="key"/>, as of one read transaction.</summary>
    internal (List<ExportedPid> Pids, ulong Position) ReadSelectedAt(PersistenceIdSelector selector, string key) =>
        Read(tx => (ReadSelected(tx, selector), ReplicatedPosition(tx, key)));
}
