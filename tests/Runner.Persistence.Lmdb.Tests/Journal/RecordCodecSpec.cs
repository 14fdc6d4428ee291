using Runner.Persistence.Lmdb.Internal;
using Xunit;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>Round trips of the stored record formats (no actor system, no LMDB).</summary>
public sealed class RecordCodecSpec
{
    [Theory]
    [InlineData(1L, 638_500_000_000_000_000L, 9101, "opaque.v1", "adapter", "writer-guid", new[] { "red", "blue" }, new byte[] { 1, 2, 3, 0, 255 })]
    [InlineData(0L, 0L, 1, "", "", "", new string[0], new byte[0])]
    [InlineData(long.MaxValue, long.MinValue, -7, "ünïcödé ✓", "手动", "g", new[] { "t" }, new byte[] { 42 })]
    public void EventRecord_should_round_trip(long ordering, long timestamp, int serializerId, string manifest, string adapter,
        string writer, string[] tags, byte[] payload)
    {
        var record = new EventRecord(ordering, timestamp, serializerId, manifest, adapter, writer, tags, payload);
        var decoded = EventRecord.Decode(record.Encode());

        AssertSame(record, decoded);
        Assert.Equal(ordering, EventRecord.DecodeOrdering(record.Encode()));
        Assert.Equal(tags, EventRecord.DecodeTags(record.Encode()));
    }

    [Fact]
    public void EventRecord_should_round_trip_a_large_payload()
    {
        var payload = new byte[3 * 1024 * 1024];
        new Random(7).NextBytes(payload);
        var record = new EventRecord(5, 6, 4, "", "", "w", ["a"], payload);
        AssertSame(record, EventRecord.Decode(record.Encode()));
    }

    [Fact]
    public void EventRecord_should_patch_the_ordering_in_place()
    {
        var encoded = new EventRecord(0, 99, 1, "m", "a", "w", ["t1", "t2"], new byte[] { 9, 8 }).Encode();
        EventRecord.PatchOrdering(encoded, 123_456_789_012);

        var decoded = EventRecord.Decode(encoded);
        Assert.Equal(123_456_789_012, decoded.Ordering);
        Assert.Equal(123_456_789_012, EventRecord.DecodeOrdering(encoded));
        Assert.Equal(99, decoded.Timestamp);
        Assert.Equal(["t1", "t2"], decoded.Tags);
        Assert.Equal(new byte[] { 9, 8 }, decoded.Payload.ToArray());
    }

    [Fact]
    public void EventRecord_should_refuse_an_unknown_version()
    {
        var encoded = new EventRecord(1, 2, 3, "m", "", "", [], new byte[] { 1 }).Encode();
        encoded[0] = 99;
        var e = Assert.Throws<InvalidDataException>(() => EventRecord.Decode(encoded));
        Assert.Contains("99", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(638_500_000_000_000_000L, 9101, "opaque.v1", new byte[] { 1, 2, 3 })]
    [InlineData(0L, 0, "", new byte[0])]
    [InlineData(-1L, int.MaxValue, "ünïcödé", new byte[] { 0 })]
    public void SnapshotRecord_should_round_trip(long timestamp, int serializerId, string manifest, byte[] payload)
    {
        var record = new SnapshotRecord(timestamp, serializerId, manifest, payload);
        var encoded = record.Encode();
        var decoded = SnapshotRecord.Decode(encoded);

        Assert.Equal(timestamp, decoded.Timestamp);
        Assert.Equal(timestamp, SnapshotRecord.DecodeTimestamp(encoded));
        Assert.Equal(serializerId, decoded.SerializerId);
        Assert.Equal(manifest, decoded.Manifest);
        Assert.Equal(payload, decoded.Payload.ToArray());
    }

    [Fact]
    public void SnapshotRecord_should_refuse_an_unknown_version()
    {
        var encoded = new SnapshotRecord(1, 2, "m", new byte[] { 1 }).Encode();
        encoded[0] = 2;
        Assert.Throws<InvalidDataException>(() => SnapshotRecord.Decode(encoded));
    }

    private static void AssertSame(EventRecord expected, EventRecord actual)
    {
        Assert.Equal(expected.Ordering, actual.Ordering);
        Assert.Equal(expected.Timestamp, actual.Timestamp);
        Assert.Equal(expected.SerializerId, actual.SerializerId);
        Assert.Equal(expected.Manifest, actual.Manifest);
        Assert.Equal(expected.AdapterManifest, actual.AdapterManifest);
        Assert.Equal(expected.WriterGuid, actual.WriterGuid);
        Assert.Equal(expected.Tags, actual.Tags);
        Assert.Equal(expected.Payload.ToArray(), actual.Payload.ToArray());
    }
}
