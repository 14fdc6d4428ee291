using System.Text;

namespace Runner.Placement.Lmdb;

/// <summary>What a message of a tenant's replica log says.</summary>
internal enum ReplicaLogKind : byte
{
    /// <summary>Journal and snapshot store writes, applied in order.</summary>
    Writes = 1,

    /// <summary>
    /// A node opened the log: appends after <see cref="ReplicaLogMessage.Position"/> (and before this message) never reached
    /// that node's store and are void. Every other writer's next append fails on its expected sequence.
    /// </summary>
    Open = 2,

    /// <summary>The tenant's state at <see cref="ReplicaLogMessage.Position"/> is in object <see cref="ReplicaLogMessage.Object"/>.</summary>
    Base = 3,
}

/// <summary>
/// One message of a tenant's replica log. Body: kind byte, then for writes the record count and each record after its
/// int32 length; for an open marker the position, the epoch and the node; for a base the position and the object name.
/// </summary>
internal sealed record ReplicaLogMessage(ReplicaLogKind Kind, IReadOnlyList<ReadOnlyMemory<byte>> Records, ulong Position, long Epoch, string Text)
{
    /// <summary>For a base: the object holding the state.</summary>
    public string Object => Text;

    public static byte[] Writes(IReadOnlyList<byte[]> records)
    {
        using var buffer = new MemoryStream(8 + records.Sum(r => r.Length + 4));
        using var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true);
        w.Write((byte)ReplicaLogKind.Writes);
        w.Write(records.Count);
        foreach (var r in records)
        {
            w.Write(r.Length);
            w.Write(r);
        }

        w.Flush();
        return buffer.ToArray();
    }

    public static byte[] Open(ulong voidAfter, long epoch, string shardId) => Small(ReplicaLogKind.Open, w =>
    {
        w.Write(voidAfter);
        w.Write(epoch);
        w.Write(shardId);
    });

    public static byte[] Base(ulong position, string objectName) => Small(ReplicaLogKind.Base, w =>
    {
        w.Write(position);
        w.Write(objectName);
    });

    /// <exception cref="InvalidDataException">The body is not a replica log message.</exception>
    public static ReplicaLogMessage Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var stream = new MemoryStream(body.ToArray(), writable: false);
            using var r = new BinaryReader(stream, Encoding.UTF8);
            var kind = (ReplicaLogKind)r.ReadByte();
            var message = kind switch
            {
                ReplicaLogKind.Writes => new ReplicaLogMessage(kind, ReadRecords(r), 0, 0, ""),
                ReplicaLogKind.Open => new ReplicaLogMessage(kind, [], r.ReadUInt64(), r.ReadInt64(), r.ReadString()),
                ReplicaLogKind.Base => new ReplicaLogMessage(kind, [], r.ReadUInt64(), 0, r.ReadString()),
                _ => throw new InvalidDataException($"unknown replica log message kind {(byte)kind}"),
            };
            if (stream.Position != stream.Length) throw new InvalidDataException("replica log message has trailing bytes");
            return message;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("replica log message is truncated", e);
        }
    }

    private static List<ReadOnlyMemory<byte>> ReadRecords(BinaryReader r)
    {
        var count = r.ReadInt32();
        if (count < 0) throw new InvalidDataException("replica log message has a bad record count");
        var records = new List<ReadOnlyMemory<byte>>(Math.Min(count, 1024));
        for (var i = 0; i < count; i++)
        {
            var length = r.ReadInt32();
            if (length < 0 || length > r.BaseStream.Length - r.BaseStream.Position) throw new InvalidDataException("replica log message has a bad record length");
            records.Add(r.ReadBytes(length));
        }

        return records;
    }

    private static byte[] Small(ReplicaLogKind kind, Action<BinaryWriter> body)
    {
        using var buffer = new MemoryStream(64);
        using var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true);
        w.Write((byte)kind);
        body(w);
        w.Flush();
        return buffer.ToArray();
    }
}
