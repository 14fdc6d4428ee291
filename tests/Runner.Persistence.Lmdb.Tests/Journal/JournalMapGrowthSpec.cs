using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>The map starts at 64 KiB and grows on MDB_MAP_FULL while several MB of events are written; nothing is lost.</summary>
public sealed class JournalMapGrowthSpec(ITestOutputHelper output)
    : JournalSpecBase(output, "akka.persistence.journal.lmdb { map-size = 64KiB, max-map-size = 1GiB }")
{
    private const string Pid = "p-grow";

    [Fact]
    public void Journal_should_grow_the_map_and_replay_every_event_exactly()
    {
        var initial = Store.MapSize;
        Assert.True(initial < 1024 * 1024, $"initial map size {initial}");

        // One event far larger than the map first (several doublings inside one write), then many medium ones.
        var payloads = new List<byte[]> { Bytes(1, 2 * 1024 * 1024) };
        for (var seq = 2; seq <= 201; seq++) payloads.Add(Bytes(seq, 20 * 1024 + seq));
        WriteSuccessfully([Atomic(Event(Pid, 1, payloads[0]))]);
        for (var from = 2; from <= 201; from += 10)
            WriteSuccessfully(Enumerable.Range(from, 10).Select(seq => Atomic(Event(Pid, seq, payloads[seq - 1]))).ToList());

        var (events, highest) = Replay(Pid);
        Assert.Equal(201, highest);
        Assert.Equal(Enumerable.Range(1, 201).Select(i => (long)i), events.Select(e => e.SequenceNr));
        for (var i = 0; i < payloads.Count; i++) Assert.Equal(payloads[i], (byte[])events[i].Payload);

        var written = payloads.Sum(p => (long)p.Length);
        Assert.True(Store.MapSize >= written, $"map size {Store.MapSize} after writing {written} bytes");
        Assert.True(Store.MapSize <= 1024L * 1024 * 1024);
    }

    private static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
