using LightningDB;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>
/// What a write request sees inside the group-commit transaction: the (nested) transaction and counters that
/// are rolled back with it when the request fails.
/// </summary>
internal sealed class WriteContext
{
    private readonly LmdbStore _store;
    private readonly List<(string Name, ulong Id)> _newPids = [];
    private readonly List<(string Name, ulong Id)> _newTags = [];
    private readonly Dictionary<string, ulong> _pendingPids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _pendingTags = new(StringComparer.Ordinal);

    public WriteContext(LmdbStore store, long nextOrdering, ulong nextPidId, ulong nextTagId)
    {
        _store = store;
        NextOrdering = nextOrdering;
        NextPidId = nextPidId;
        NextTagId = nextTagId;
    }

    public LightningTransaction Txn { get; set; } = null!;

    public long NextOrdering { get; private set; }

    public ulong NextPidId { get; private set; }

    public ulong NextTagId { get; private set; }

    public LmdbStore Store => _store;

    public readonly record struct Marker(long Ordering, ulong PidId, ulong TagId, int Pids, int Tags);

    public Marker Mark() => new(NextOrdering, NextPidId, NextTagId, _newPids.Count, _newTags.Count);

    public void Reset(Marker mark)
    {
        NextOrdering = mark.Ordering;
        NextPidId = mark.PidId;
        NextTagId = mark.TagId;
        for (var i = _newPids.Count - 1; i >= mark.Pids; i--) _pendingPids.Remove(_newPids[i].Name);
        for (var i = _newTags.Count - 1; i >= mark.Tags; i--) _pendingTags.Remove(_newTags[i].Name);
        _newPids.RemoveRange(mark.Pids, _newPids.Count - mark.Pids);
        _newTags.RemoveRange(mark.Tags, _newTags.Count - mark.Tags);
    }

    public long TakeOrdering() => NextOrdering++;

    /// <summary>The numeric id of a persistence id, allocated on first write.</summary>
    public ulong PidId(string persistenceId, bool create)
    {
        if (_pendingPids.TryGetValue(persistenceId, out var pending)) return pending;
        var known = _store.TryGetPidId(Txn, persistenceId);
        if (known != 0 || !create) return known;

        var id = NextPidId++;
        Put(_store.Pids, Keys.Name(persistenceId), Keys.U64(id));
        Put(_store.PidNames, Keys.U64(id), Keys.Name(persistenceId));
        _newPids.Add((persistenceId, id));
        _pendingPids[persistenceId] = id;
        return id;
    }

    public ulong TagId(string tag)
    {
        if (_pendingTags.TryGetValue(tag, out var pending)) return pending;
        var known = _store.TryGetTagId(Txn, tag);
        if (known != 0) return known;

        var id = NextTagId++;
        Put(_store.Tags, Keys.Name(tag), Keys.U64(id));
        _newTags.Add((tag, id));
        _pendingTags[tag] = id;
        return id;
    }

    public void Put(LightningDatabase db, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        LmdbStore.Check(Txn.Put(db, key, value), "put " + db.Name);

    public bool Delete(LightningDatabase db, ReadOnlySpan<byte> key)
    {
        var rc = Txn.Delete(db, key);
        if (rc == MDBResultCode.NotFound) return false;
        LmdbStore.Check(rc, "delete " + db.Name);
        return true;
    }

    public void WriteCounters()
    {
        Put(_store.Meta, LmdbStore.MetaKeys.Ordering, Keys.U64((ulong)(NextOrdering - 1)));
        Put(_store.Meta, LmdbStore.MetaKeys.PidId, Keys.U64(NextPidId - 1));
        Put(_store.Meta, LmdbStore.MetaKeys.TagId, Keys.U64(NextTagId - 1));
    }

    /// <summary>Called after commit: names allocated in this transaction become visible to the caches.</summary>
    public void PublishNames()
    {
        foreach (var (name, id) in _newPids) _store.CachePid(name, id);
        foreach (var (name, id) in _newTags) _store.CacheTag(name, id);
    }
}
