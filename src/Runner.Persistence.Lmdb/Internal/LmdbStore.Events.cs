using LightningDB;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>An event ready to be written: key plus the encoded record (ordering patched in the transaction).</summary>
internal sealed record PreparedEvent(string PersistenceId, long SequenceNr, IReadOnlyList<string> Tags, byte[] Record);

/// <summary>An event read back, with its persistence id.</summary>
internal readonly record struct StoredEvent(string PersistenceId, long SequenceNr, EventRecord Record);

internal sealed partial class LmdbStore
{
    /// <summary>Writes events (inside a write request). A sequence number written before is an error.</summary>
    internal static void WriteEvents(WriteContext ctx, IReadOnlyList<PreparedEvent> events)
    {
        var store = ctx.Store;
        var highest = new Dictionary<ulong, long>();
        foreach (var e in events)
        {
            var id = ctx.PidId(e.PersistenceId, create: true);
            var ordering = ctx.TakeOrdering();
            EventRecord.PatchOrdering(e.Record, ordering);
            var key = Keys.IdSeq(id, e.SequenceNr);
            var rc = ctx.Txn.Put(store.Events, key, e.Record, PutOptions.NoOverwrite);
            if (rc == MDBResultCode.KeyExist)
                throw new InvalidOperationException($"Event {e.PersistenceId}#{e.SequenceNr} was written before.");
            Check(rc, "put events");
            foreach (var tag in e.Tags)
                ctx.Put(store.TagIndex, Keys.IdSeq(ctx.TagId(tag), ordering), key);
            highest[id] = Math.Max(highest.GetValueOrDefault(id), e.SequenceNr);
        }

        foreach (var (id, seq) in highest)
        {
            var idKey = Keys.U64(id);
            var (rc, _, value) = ctx.Txn.Get(store.Highest, idKey);
            if (rc == MDBResultCode.Success && (long)Keys.ReadU64(value.AsSpan()) >= seq) continue;
            ctx.Put(store.Highest, idKey, Keys.U64((ulong)seq));
        }
    }

    /// <summary>Deletes events up to <paramref name="toSequenceNr"/>; the highest sequence number stays recorded.</summary>
    internal static int DeleteEventsTo(WriteContext ctx, string persistenceId, long toSequenceNr)
    {
        var store = ctx.Store;
        var id = ctx.PidId(persistenceId, create: false);
        if (id == 0) return 0;
        var doomed = new List<(byte[] Key, long Ordering, IReadOnlyList<string> Tags)>();
        using (var cursor = ctx.Txn.CreateCursor(store.Events))
        {
            var rc = cursor.SetRange(Keys.IdSeq(id, 0));
            var (grc, key, value) = rc == MDBResultCode.Success ? cursor.GetCurrent() : (rc, default, default);
            while (grc == MDBResultCode.Success)
            {
                var k = key.AsSpan();
                if (Keys.ReadU64(k) != id || Keys.ReadSeq(k) > toSequenceNr) break;
                var data = value.AsSpan();
                doomed.Add((k.ToArray(), EventRecord.DecodeOrdering(data), EventRecord.DecodeTags(data)));
                (grc, key, value) = cursor.Next();
            }
        }

        foreach (var (key, ordering, tags) in doomed)
        {
            foreach (var tag in tags)
            {
                var tagId = store.TryGetTagId(ctx.Txn, tag);
                if (tagId != 0) ctx.Delete(store.TagIndex, Keys.IdSeq(tagId, ordering));
            }

            ctx.Delete(store.Events, key);
        }

        var deleted = doomed.Count;
        return deleted;
    }

    /// <summary>Highest sequence number ever written for the id (0 if none), surviving deletes.</summary>
    internal long ReadHighestSequenceNr(string persistenceId) => Read(tx =>
    {
        var id = TryGetPidId(tx, persistenceId);
        if (id == 0) return 0L;
        var (rc, _, value) = tx.Get(Highest, Keys.U64(id));
        return rc == MDBResultCode.Success ? (long)Keys.ReadU64(value.AsSpan()) : 0L;
    });

    /// <summary>Capacity a read's result list starts with (it grows as events are found).</summary>
    private const int InitialReadCapacity = 16;

    /// <summary>Reads up to <paramref name="limit"/> events of one id in [from, to] in one read transaction.</summary>
    internal List<StoredEvent> ReadEvents(string persistenceId, long from, long to, int limit) => Read(tx =>
    {
        var id = TryGetPidId(tx, persistenceId);
        if (id == 0 || from > to || limit <= 0) return [];
        // Small at first: most reads (a recovery, a live query's poll) find a few events or none.
        var result = new List<StoredEvent>(Math.Min(limit, InitialReadCapacity));
        using var cursor = tx.CreateCursor(Events);
        var rc = cursor.SetRange(Keys.IdSeq(id, Math.Max(from, 0)));
        var (grc, key, value) = rc == MDBResultCode.Success ? cursor.GetCurrent() : (rc, default, default);
        while (grc == MDBResultCode.Success && result.Count < limit)
        {
            var k = key.AsSpan();
            if (Keys.ReadU64(k) != id) break;
            var seq = Keys.ReadSeq(k);
            if (seq > to) break;
            result.Add(new StoredEvent(persistenceId, seq, EventRecord.Decode(value.AsSpan())));
            (grc, key, value) = cursor.Next();
        }

        return result;
    });

    /// <summary>Events carrying <paramref name="tag"/> with ordering in [fromOrdering, toOrdering], oldest first.</summary>
    internal List<StoredEvent> ReadEventsByTag(string tag, long fromOrdering, long toOrdering, int limit) => Read(tx =>
    {
        var tagId = TryGetTagId(tx, tag);
        if (tagId == 0 || fromOrdering > toOrdering || limit <= 0) return [];
        var result = new List<StoredEvent>(Math.Min(limit, InitialReadCapacity));
        using var cursor = tx.CreateCursor(TagIndex);
        var rc = cursor.SetRange(Keys.IdSeq(tagId, Math.Max(fromOrdering, 0)));
        var (grc, key, value) = rc == MDBResultCode.Success ? cursor.GetCurrent() : (rc, default, default);
        while (grc == MDBResultCode.Success && result.Count < limit)
        {
            var k = key.AsSpan();
            if (Keys.ReadU64(k) != tagId || Keys.ReadSeq(k) > toOrdering) break;
            var eventKey = value.AsSpan();
            var (erc, _, record) = tx.Get(Events, eventKey);
            if (erc == MDBResultCode.Success)
            {
                var name = TryGetPidName(tx, Keys.ReadU64(eventKey))
                           ?? throw new InvalidDataException($"tag index points at unknown persistence id #{Keys.ReadU64(eventKey)}");
                result.Add(new StoredEvent(name, Keys.ReadSeq(eventKey), EventRecord.Decode(record.AsSpan())));
            }

            (grc, key, value) = cursor.Next();
        }

        return result;
    });

    /// <summary>Persistence ids with internal id in (<paramref name="afterId"/>, <paramref name="lastId"/>], in creation order.</summary>
    internal List<(ulong Id, string Name)> ReadPersistenceIds(ulong afterId, ulong lastId, int limit) => Read(tx =>
    {
        var result = new List<(ulong, string)>();
        if (afterId >= lastId) return result;
        using var cursor = tx.CreateCursor(PidNames);
        var rc = cursor.SetRange(Keys.U64(afterId + 1));
        var (grc, key, value) = rc == MDBResultCode.Success ? cursor.GetCurrent() : (rc, default, default);
        while (grc == MDBResultCode.Success && result.Count < limit)
        {
            var id = Keys.ReadU64(key.AsSpan());
            if (id > lastId) break;
            result.Add((id, System.Text.Encoding.UTF8.GetString(value.AsSpan())));
            (grc, key, value) = cursor.Next();
        }

        return result;
    });
}
