using LightningDB;

namespace Runner.Persistence.Lmdb.Internal;

internal sealed partial class LmdbStore
{
    internal void CachePid(string name, ulong id)
    {
        _pidIds.Set(name, id);
        _pidNames.Set(id, name);
    }

    internal void CacheTag(string name, ulong id) => _tagIds.Set(name, id);

    /// <summary>Persistence ids whose ids are kept in memory now (both generations). For tests.</summary>
    internal int CachedPids => _pidIds.Count;

    /// <summary>The id of a persistence id, or 0 when it was never written.</summary>
    internal ulong TryGetPidId(LightningTransaction tx, string persistenceId)
    {
        if (_pidIds.TryGetValue(persistenceId, out var id)) return id;
        var (rc, _, value) = tx.Get(Pids, Keys.Name(persistenceId));
        if (rc != MDBResultCode.Success) return 0;
        id = Keys.ReadU64(value.AsSpan());
        CachePid(persistenceId, id);
        return id;
    }

    internal string? TryGetPidName(LightningTransaction tx, ulong id)
    {
        if (_pidNames.TryGetValue(id, out var name)) return name;
        var (rc, _, value) = tx.Get(PidNames, Keys.U64(id));
        if (rc != MDBResultCode.Success) return null;
        name = System.Text.Encoding.UTF8.GetString(value.AsSpan());
        CachePid(name, id);
        return name;
    }

    internal ulong TryGetTagId(LightningTransaction tx, string tag)
    {
        if (_tagIds.TryGetValue(tag, out var id)) return id;
        var (rc, _, value) = tx.Get(Tags, Keys.Name(tag));
        if (rc != MDBResultCode.Success) return 0;
        id = Keys.ReadU64(value.AsSpan());
        CacheTag(tag, id);
        return id;
    }
}
