using System.Buffers.Binary;
using System.Text;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>An event as stored: everything but its key (persistence id + sequence number).</summary>
internal sealed record EventRecord(
    long Ordering,
    long Timestamp,
    int SerializerId,
    string Manifest,
    string AdapterManifest,
    string WriterGuid,
    IReadOnlyList<string> Tags,
    ReadOnlyMemory<byte> Payload)
{
    private const byte Version = 1;

    /// <summary>Offset of the ordering inside an encoded record; the writer patches it inside the transaction.</summary>
    public const int OrderingOffset = 1;

    public byte[] Encode()
    {
        var manifest = Encoding.UTF8.GetBytes(Manifest);
        var adapter = Encoding.UTF8.GetBytes(AdapterManifest);
        var writer = Encoding.UTF8.GetBytes(WriterGuid);
        var tags = Tags.Select(Encoding.UTF8.GetBytes).ToArray();
        var size = 1 + 8 + 8 + 4 + 4 + manifest.Length + 4 + adapter.Length + 4 + writer.Length + 4 + tags.Sum(t => 4 + t.Length) + Payload.Length;
        var buffer = new byte[size];
        var w = new SpanWriter(buffer);
        w.Byte(Version);
        w.I64(Ordering);
        w.I64(Timestamp);
        w.I32(SerializerId);
        w.Bytes(manifest);
        w.Bytes(adapter);
        w.Bytes(writer);
        w.I32(tags.Length);
        foreach (var t in tags) w.Bytes(t);
        w.Raw(Payload.Span);
        return buffer;
    }

    public static void PatchOrdering(byte[] encoded, long ordering) =>
        BinaryPrimitives.WriteInt64BigEndian(encoded.AsSpan(OrderingOffset), ordering);

    public static EventRecord Decode(ReadOnlySpan<byte> data)
    {
        var r = new SpanReader(data);
        var version = r.Byte();
        if (version != Version) throw new InvalidDataException($"unknown event record version {version}");
        var ordering = r.I64();
        var timestamp = r.I64();
        var serializer = r.I32();
        var manifest = r.String();
        var adapter = r.String();
        var writer = r.String();
        var count = r.I32();
        var tags = new string[count];
        for (var i = 0; i < count; i++) tags[i] = r.String();
        return new EventRecord(ordering, timestamp, serializer, manifest, adapter, writer, tags, r.Rest().ToArray());
    }

    public static long DecodeOrdering(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadInt64BigEndian(data[OrderingOffset..]);

    /// <summary>Reads only the tags, for deletes.</summary>
    public static IReadOnlyList<string> DecodeTags(ReadOnlySpan<byte> data)
    {
        var r = new SpanReader(data);
        r.Byte();
        r.I64();
        r.I64();
        r.I32();
        r.String();
        r.String();
        r.String();
        var count = r.I32();
        var tags = new string[count];
        for (var i = 0; i < count; i++) tags[i] = r.String();
        return tags;
    }
}

/// <summary>A snapshot as stored.</summary>
internal sealed record SnapshotRecord(long Timestamp, int SerializerId, string Manifest, ReadOnlyMemory<byte> Payload)
{
    private const byte Version = 1;

    public byte[] Encode()
    {
        var manifest = Encoding.UTF8.GetBytes(Manifest);
        var buffer = new byte[1 + 8 + 4 + 4 + manifest.Length + Payload.Length];
        var w = new SpanWriter(buffer);
        w.Byte(Version);
        w.I64(Timestamp);
        w.I32(SerializerId);
        w.Bytes(manifest);
        w.Raw(Payload.Span);
        return buffer;
    }

    public static long DecodeTimestamp(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadInt64BigEndian(data[1..]);

    public static SnapshotRecord Decode(ReadOnlySpan<byte> data)
    {
        var r = new SpanReader(data);
        var version = r.Byte();
        if (version != Version) throw new InvalidDataException($"unknown snapshot record version {version}");
        return new SnapshotRecord(r.I64(), r.I32(), r.String(), r.Rest().ToArray());
    }
}

internal ref struct SpanWriter(Span<byte> span)
{
    private readonly Span<byte> _span = span;
    private int _pos;

    public void Byte(byte b) => _span[_pos++] = b;

    public void I32(int v)
    {
        BinaryPrimitives.WriteInt32BigEndian(_span[_pos..], v);
        _pos += 4;
    }

    public void I64(long v)
    {
        BinaryPrimitives.WriteInt64BigEndian(_span[_pos..], v);
        _pos += 8;
    }

    public void Bytes(ReadOnlySpan<byte> b)
    {
        I32(b.Length);
        Raw(b);
    }

    public void Raw(ReadOnlySpan<byte> b)
    {
        b.CopyTo(_span[_pos..]);
        _pos += b.Length;
    }
}

internal ref struct SpanReader(ReadOnlySpan<byte> span)
{
    private readonly ReadOnlySpan<byte> _span = span;
    private int _pos;

    public byte Byte() => _span[_pos++];

    public int I32()
    {
        var v = BinaryPrimitives.ReadInt32BigEndian(_span[_pos..]);
        _pos += 4;
        return v;
    }

    public long I64()
    {
        var v = BinaryPrimitives.ReadInt64BigEndian(_span[_pos..]);
        _pos += 8;
        return v;
    }

    public string String()
    {
        var n = I32();
        var s = Encoding.UTF8.GetString(_span.Slice(_pos, n));
        _pos += n;
        return s;
    }

    public ReadOnlySpan<byte> Rest() => _span[_pos..];
}
