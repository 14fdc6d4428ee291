using LightningDB;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>Bounds of a snapshot selection, in storage terms (timestamps as UTC ticks).</summary>
internal readonly record struct SnapshotBounds(long MinSequenceNr, long MaxSequenceNr, long MinTicks, long MaxTicks)
{
    public bool Matches(long seq, long ticks) =>
        seq >= MinSequenceNr && seq <= MaxSequenceNr && ticks >= MinTicks && ticks <= MaxTicks;
}

internal sealed partial class LmdbStore
{
    internal static void SaveSnapshot(WriteContext ctx, string persistenceId, long sequenceNr, byte[] record)
    {
        var id = ctx.PidId(persistenceId, create: true);
        ctx.Put(ctx.Store.Snapshots, Keys.IdSeq(id, sequenceNr), record);
    }

    internal static int DeleteSnapshots(WriteContext ctx, string persistenceId, SnapshotBounds bounds)
    {
        var id = ctx.PidId(persistenceId, create: false);
        if (id == 0) return 0;
        var doomed = new List<byte[]>();
        using (var cursor = ctx.Txn.CreateCursor(ctx.Store.Snapshots))
        {
            var rc = cursor.SetRange(Keys.IdSeq(id, bounds.MinSequenceNr));
            var (grc, key, value) = rc == MDBResultCode.Success ? cursor.GetCurrent() : (rc, default, default);
            while (grc == MDBResultCode.Success)
            {
                var k = key.AsSpan();
                if (Keys.ReadU64(k) != id || Keys.ReadSeq(k) > bounds.MaxSequenceNr) break;
                if (bounds.Matches(Keys.ReadSeq(k), SnapshotRecord.DecodeTimestamp(value.AsSpan()))) doomed.Add(k.ToArray());
                (grc, key, value) = cursor.Next();
            }
        }

        foreach (var key in doomed) ctx.Delete(ctx.Store.Snapshots, key);
        return doomed.Count;
    }

    /// <summary>Matching snapshots, youngest (highest sequence number) first.</summary>
    internal List<(long SequenceNr, SnapshotRecord Record)> ReadSnapshots(string persistenceId, SnapshotBounds bounds, int limit) => Read(tx =>
    {
        var result = new List<(long, SnapshotRecord)>();
        var id = TryGetPidId(tx, persistenceId);
        if (id == 0 || bounds.MinSequenceNr > bounds.MaxSequenceNr) return result;
        using var cursor = tx.CreateCursor(Snapshots);
        var start = bounds.MaxSequenceNr == long.MaxValue ? Keys.IdSeq(id + 1, 0) : Keys.IdSeq(id, bounds.MaxSequenceNr + 1);
        var rc = cursor.SetRange(start);
        var (grc, key, value) = rc == MDBResultCode.Success ? cursor.Previous() : cursor.Last();
        while (grc == MDBResultCode.Success && result.Count < limit)
        {
            var k = key.AsSpan();
            if (Keys.ReadU64(k) != id) break;
            var seq = Keys.ReadSeq(k);
            if (seq < bounds.MinSequenceNr) break;
            var data = value.AsSpan();
            if (seq <= bounds.MaxSequenceNr && bounds.Matches(seq, SnapshotRecord.DecodeTimestamp(data)))
                result.Add((seq, SnapshotRecord.Decode(data)));
            (grc, key, value) = cursor.Previous();
        }

        return result;
    });
}
