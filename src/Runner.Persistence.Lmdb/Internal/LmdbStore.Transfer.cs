using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using LightningDB;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>One persistence id's complete stored data, as exported.</summary>
internal sealed record ExportedPid(string PersistenceId, long Highest, List<(long Seq, byte[] Record)> Events, List<(long Seq, byte[] Record)> Snapshots);

internal sealed partial class LmdbStore
{
    private static readonly byte[] Magic = "RUNNER-LMDB-STATE"u8.ToArray();
    private const byte FormatVersion = 1;
    private readonly ConcurrentDictionary<string, string> _fences = new(StringComparer.Ordinal);

    private void LoadFences(LightningTransaction tx)
    {
        using var cursor = tx.CreateCursor(Fences);
        var (rc, key, value) = cursor.First();
        while (rc == MDBResultCode.Success)
        {
            _fences[Encoding.UTF8.GetString(key.AsSpan())] = Encoding.UTF8.GetString(value.AsSpan());
            (rc, key, value) = cursor.Next();
        }
    }

    /// <summary>The fence that covers <paramref name="persistenceId"/> (the id itself, or a prefix ending at one of its '|'), or null.</summary>
    internal string? FenceOf(string persistenceId)
    {
        if (_fences.IsEmpty) return null;
        if (_fences.TryGetValue(persistenceId, out var reason)) return reason;
        for (var i = persistenceId.IndexOf('|', StringComparison.Ordinal); i >= 0 && i < persistenceId.Length - 1;
             i = persistenceId.IndexOf('|', i + 1))
        {
            if (_fences.TryGetValue(persistenceId[..(i + 1)], out reason)) return reason;
        }

        return null;
    }

    internal Task SetFencesAsync(IEnumerable<string> entries, string? reason) => WriteAsync(ctx =>
    {
        foreach (var entry in entries)
        {
            if (reason is null) ctx.Delete(Fences, Keys.Name(entry));
            else ctx.Put(Fences, Keys.Name(entry), Encoding.UTF8.GetBytes(reason));
        }

        return true;
    }).ContinueWith(t =>
    {
        // Visible to writers only once durable, so a fence never outlives a failed write (or the reverse).
        t.GetAwaiter().GetResult();
        foreach (var entry in entries)
        {
            if (reason is null) _fences.TryRemove(entry, out _);
            else _fences[entry] = reason;
        }
    }, TaskScheduler.Default);

    /// <summary>Persistence ids with stored data that <paramref name="selector"/> selects.</summary>
    internal List<string> SelectedPids(LightningTransaction tx, PersistenceIdSelector selector)
    {
        var result = new List<string>();
        foreach (var exact in selector.Exact)
        {
            if (TryGetPidId(tx, exact) != 0) result.Add(exact);
        }

        using var cursor = tx.CreateCursor(Pids);
        foreach (var prefix in selector.Prefixes)
        {
            var start = Keys.Name(prefix);
            var rc = cursor.SetRange(start);
            var (grc, key, _) = rc == MDBResultCode.Success ? cursor.GetCurrent() : (rc, default, default);
            while (grc == MDBResultCode.Success && key.AsSpan().StartsWith(start))
            {
                result.Add(Encoding.UTF8.GetString(key.AsSpan()));
                (grc, key, _) = cursor.Next();
            }
        }

        return result.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Reads the selected persistence ids in one read transaction.</summary>
    internal List<ExportedPid> ReadSelected(PersistenceIdSelector selector) => Read(tx => ReadSelected(tx, selector));

    private List<ExportedPid> ReadSelected(LightningTransaction tx, PersistenceIdSelector selector)
    {
        var result = new List<ExportedPid>();
        foreach (var pid in SelectedPids(tx, selector))
        {
            var id = TryGetPidId(tx, pid);
            var (hrc, _, hv) = tx.Get(Highest, Keys.U64(id));
            var highest = hrc == MDBResultCode.Success ? (long)Keys.ReadU64(hv.AsSpan()) : 0L;
            var events = Range(tx, Events, id);
            var snapshots = Range(tx, Snapshots, id);
            // A deleted id keeps its name mapping but has nothing to carry.
            if (highest == 0 && events.Count == 0 && snapshots.Count == 0) continue;
            result.Add(new ExportedPid(pid, highest, events, snapshots));
        }

        return result;
    }

    private static List<(long, byte[])> Range(LightningTransaction tx, LightningDatabase db, ulong id)
    {
        var list = new List<(long, byte[])>();
        using var cursor = tx.CreateCursor(db);
        var rc = cursor.SetRange(Keys.IdSeq(id, 0));
        var (grc, key, value) = rc == MDBResultCode.Success ? cursor.GetCurrent() : (rc, default, default);
        while (grc == MDBResultCode.Success && Keys.ReadU64(key.AsSpan()) == id)
        {
            list.Add((Keys.ReadSeq(key.AsSpan()), value.AsSpan().ToArray()));
            (grc, key, value) = cursor.Next();
        }

        return list;
    }

    /// <summary>Encodes exported data: magic, version, records, and a SHA-256 of everything before it.</summary>
    internal static byte[] Encode(IReadOnlyList<ExportedPid> pids)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write(pids.Count);
            foreach (var p in pids)
            {
                w.Write(p.PersistenceId);
                w.Write(p.Highest);
                w.Write(p.Events.Count);
                foreach (var (seq, record) in p.Events)
                {
                    w.Write(seq);
                    w.Write(record.Length);
                    w.Write(record);
                }

                w.Write(p.Snapshots.Count);
                foreach (var (seq, record) in p.Snapshots)
                {
                    w.Write(seq);
                    w.Write(record.Length);
                    w.Write(record);
                }
            }
        }

        var body = ms.ToArray();
        var hash = SHA256.HashData(body);
        var all = new byte[body.Length + hash.Length];
        body.CopyTo(all, 0);
        hash.CopyTo(all, body.Length);
        return all;
    }

    /// <summary>Decodes and verifies exported data; anything wrong is an <see cref="InvalidDataException"/>.</summary>
    internal static List<ExportedPid> Decode(byte[] data)
    {
        if (data.Length < Magic.Length + 1 + 32) throw new InvalidDataException("tenant state is truncated");
        var body = data.AsSpan(0, data.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(data.AsSpan(data.Length - 32)))
            throw new InvalidDataException("tenant state checksum does not match: the data is corrupt or truncated");
        if (!body[..Magic.Length].SequenceEqual(Magic)) throw new InvalidDataException("not a tenant state export");
        if (body[Magic.Length] != FormatVersion) throw new InvalidDataException($"unknown tenant state format version {body[Magic.Length]}");

        using var ms = new MemoryStream(data, Magic.Length + 1, body.Length - Magic.Length - 1, writable: false);
        using var r = new BinaryReader(ms, Encoding.UTF8);
        var count = r.ReadInt32();
        var result = new List<ExportedPid>(count);
        for (var i = 0; i < count; i++)
        {
            var pid = r.ReadString();
            Keys.CheckName(pid, "persistence id");
            var highest = r.ReadInt64();
            result.Add(new ExportedPid(pid, highest, ReadRecords(r), ReadRecords(r)));
        }

        if (ms.Position != ms.Length) throw new InvalidDataException("tenant state has trailing bytes");
        return result;
    }

    private static List<(long, byte[])> ReadRecords(BinaryReader r)
    {
        var n = r.ReadInt32();
        if (n < 0) throw new InvalidDataException("negative record count");
        var list = new List<(long, byte[])>(n);
        for (var i = 0; i < n; i++)
        {
            var seq = r.ReadInt64();
            var len = r.ReadInt32();
            if (len < 0) throw new InvalidDataException("negative record length");
            list.Add((seq, r.ReadBytes(len)));
        }

        return list;
    }

    /// <summary>Deletes every event (with its tag index entries), snapshot and highest mark of the selected ids.</summary>
    internal static int DeleteSelected(WriteContext ctx, PersistenceIdSelector selector)
    {
        var store = ctx.Store;
        var pids = store.SelectedPids(ctx.Txn, selector);
        foreach (var pid in pids)
        {
            DeleteEventsTo(ctx, pid, long.MaxValue);
            DeleteSnapshots(ctx, pid, new SnapshotBounds(0, long.MaxValue, long.MinValue, long.MaxValue));
            var id = ctx.PidId(pid, create: false);
            ctx.Delete(store.Highest, Keys.U64(id));
        }

        return pids.Count;
    }

    /// <summary>Replaces the selected ids with imported data: new orderings and tag index entries in this store.</summary>
    internal static (int Events, int Snapshots) ImportSelected(WriteContext ctx, PersistenceIdSelector replace, IReadOnlyList<ExportedPid> pids)
    {
        var store = ctx.Store;
        DeleteSelected(ctx, replace);
        var snapshots = 0;
        var all = new List<(ulong Id, long Seq, byte[] Record, long Ordering)>();
        foreach (var p in pids)
        {
            var id = ctx.PidId(p.PersistenceId, create: true);
            foreach (var (seq, record) in p.Events) all.Add((id, seq, record, EventRecord.DecodeOrdering(record)));
            foreach (var (seq, record) in p.Snapshots)
            {
                ctx.Put(store.Snapshots, Keys.IdSeq(id, seq), record);
                snapshots++;
            }

            var highest = Math.Max(p.Highest, p.Events.Count == 0 ? 0 : p.Events[^1].Seq);
            if (highest > 0)
            {
                var buf = new byte[8];
                BinaryPrimitives.WriteUInt64BigEndian(buf, (ulong)highest);
                ctx.Put(store.Highest, Keys.U64(id), buf);
            }
        }

        // New orderings in the order the events were written on the exporting node, so tag queries see the same sequence.
        foreach (var (id, seq, record, _) in all.OrderBy(e => e.Ordering))
        {
            var ordering = ctx.TakeOrdering();
            var copy = (byte[])record.Clone();
            EventRecord.PatchOrdering(copy, ordering);
            var key = Keys.IdSeq(id, seq);
            ctx.Put(store.Events, key, copy);
            foreach (var tag in EventRecord.DecodeTags(copy)) ctx.Put(store.TagIndex, Keys.IdSeq(ctx.TagId(tag), ordering), key);
        }

        var events = all.Count;
        return (events, snapshots);
    }
}
