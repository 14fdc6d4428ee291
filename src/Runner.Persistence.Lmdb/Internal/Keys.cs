using System.Buffers.Binary;
using System.Text;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>Big-endian key encodings, so LMDB's byte order is numeric order.</summary>
internal static class Keys
{
    /// <summary>LMDB's default maximum key size is 511 bytes; leave room for our own prefixes.</summary>
    public const int MaxNameBytes = 480;

    public static byte[] U64(ulong value)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, value);
        return key;
    }

    public static byte[] IdSeq(ulong id, long seq)
    {
        var key = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(key, id);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(8), (ulong)Math.Max(0, seq));
        return key;
    }

    public static ulong ReadU64(ReadOnlySpan<byte> span) => BinaryPrimitives.ReadUInt64BigEndian(span);

    public static long ReadSeq(ReadOnlySpan<byte> key) => (long)BinaryPrimitives.ReadUInt64BigEndian(key[8..]);

    public static byte[] Name(string name) => Encoding.UTF8.GetBytes(name);

    /// <summary>Throws when a persistence id or tag cannot be an LMDB key.</summary>
    public static void CheckName(string name, string what)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{what} must not be empty.");
        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
            throw new ArgumentException($"{what} '{name[..Math.Min(64, name.Length)]}...' is longer than {MaxNameBytes} UTF-8 bytes.");
    }
}
