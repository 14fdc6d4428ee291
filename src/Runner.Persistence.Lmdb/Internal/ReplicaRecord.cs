using System.Text;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>
/// One write of the journal or snapshot store as it is shipped to a replica log and applied from it: the same bytes
/// are applied to this node's store after the log has them, and to a rebuilt store on another node, so what a node
/// holds and what its log holds never differ in meaning.
/// </summary>
/// <remarks>
/// Format: version byte, kind byte, then per kind: events (count, then per event persistence id, sequence number, tag
/// count, tags, encoded event record); delete-to (persistence id, sequence number); snapshot save (persistence id,
/// sequence number, encoded snapshot record); snapshot delete (persistence id, four bounds). Numbers little-endian,
/// strings as <see cref="BinaryWriter"/> writes them, byte arrays after their int32 length.
/// </remarks>
internal static class ReplicaRecord
{
    private const byte Version = 1;
    private const byte EventsKind = 1;
    private const byte DeleteToKind = 2;
    private const byte SnapshotKind = 3;
    private const byte DeleteSnapshotsKind = 4;

    public static byte[] Events(IReadOnlyList<PreparedEvent> events)
    {
        using var buffer = new MemoryStream(64 + events.Sum(e => e.Record.Length + e.PersistenceId.Length * 3 + 32));
        using var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true);
        w.Write(Version);
        w.Write(EventsKind);
        w.Write(events.Count);
        foreach (var e in events)
        {
            w.Write(e.PersistenceId);
            w.Write(e.SequenceNr);
            w.Write(e.Tags.Count);
            foreach (var tag in e.Tags) w.Write(tag);
            w.Write(e.Record.Length);
            w.Write(e.Record);
        }

        w.Flush();
        return buffer.ToArray();
    }

    public static byte[] DeleteTo(string persistenceId, long toSequenceNr) => Small(DeleteToKind, w =>
    {
        w.Write(persistenceId);
        w.Write(toSequenceNr);
    });

    public static byte[] Snapshot(string persistenceId, long sequenceNr, byte[] record) => Small(SnapshotKind, w =>
    {
        w.Write(persistenceId);
        w.Write(sequenceNr);
        w.Write(record.Length);
        w.Write(record);
    });

    public static byte[] DeleteSnapshots(string persistenceId, SnapshotBounds bounds) => Small(DeleteSnapshotsKind, w =>
    {
        w.Write(persistenceId);
        w.Write(bounds.MinSequenceNr);
        w.Write(bounds.MaxSequenceNr);
        w.Write(bounds.MinTicks);
        w.Write(bounds.MaxTicks);
    });

    /// <summary>Checks that <paramref name="record"/> decodes, without writing anything.</summary>
    /// <exception cref="InvalidDataException">It does not.</exception>
    public static void Verify(ReadOnlyMemory<byte> record) => Read(record, null);

    /// <summary>Applies <paramref name="record"/> inside a write request.</summary>
    /// <exception cref="InvalidDataException">It does not decode; the request fails and nothing of it is written.</exception>
    public static void Apply(WriteContext ctx, ReadOnlyMemory<byte> record) => Read(record, ctx);

    private static byte[] Small(byte kind, Action<BinaryWriter> body)
    {
        using var buffer = new MemoryStream(128);
        using var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true);
        w.Write(Version);
        w.Write(kind);
        body(w);
        w.Flush();
        return buffer.ToArray();
    }

    private static void Read(ReadOnlyMemory<byte> record, WriteContext? ctx)
    {
        try
        {
            using var stream = new MemoryStream(record.ToArray(), writable: false);
            using var r = new BinaryReader(stream, Encoding.UTF8);
            var version = r.ReadByte();
            if (version != Version) throw new InvalidDataException($"unknown replica record version {version}");
            var kind = r.ReadByte();
            switch (kind)
            {
                case EventsKind:
                    var count = r.ReadInt32();
                    var events = new List<PreparedEvent>(count);
                    for (var i = 0; i < count; i++)
                    {
                        var pid = r.ReadString();
                        var seq = r.ReadInt64();
                        var tags = new string[r.ReadInt32()];
                        for (var t = 0; t < tags.Length; t++) tags[t] = r.ReadString();
                        events.Add(new PreparedEvent(pid, seq, tags, Bytes(r)));
                    }

                    if (ctx is not null) LmdbStore.WriteEvents(ctx, events);
                    break;
                case DeleteToKind:
                    var (dpid, to) = (r.ReadString(), r.ReadInt64());
                    if (ctx is not null) LmdbStore.DeleteEventsTo(ctx, dpid, to);
                    break;
                case SnapshotKind:
                    var (spid, sseq, snapshot) = (r.ReadString(), r.ReadInt64(), Bytes(r));
                    if (ctx is not null) LmdbStore.SaveSnapshot(ctx, spid, sseq, snapshot);
                    break;
                case DeleteSnapshotsKind:
                    var xpid = r.ReadString();
                    var bounds = new SnapshotBounds(r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
                    if (ctx is not null) LmdbStore.DeleteSnapshots(ctx, xpid, bounds);
                    break;
                default:
                    throw new InvalidDataException($"unknown replica record kind {kind}");
            }

            if (stream.Position != stream.Length) throw new InvalidDataException("replica record has trailing bytes");
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("replica record is truncated", e);
        }
    }

    private static byte[] Bytes(BinaryReader r)
    {
        var length = r.ReadInt32();
        if (length < 0 || length > r.BaseStream.Length - r.BaseStream.Position) throw new InvalidDataException("replica record has a bad length");
        return r.ReadBytes(length);
    }
}
