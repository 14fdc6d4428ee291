using Akka.Actor;
using Akka.Persistence;
using Runner.Persistence.Lmdb.Internal;
using Runner.Persistence.Lmdb.Journal;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// Replay bounded by max (the count Akka passes as <c>Recovery.ReplayMax</c>), with replay-batch-size 10 so that
/// replays cross many read transactions.
/// </summary>
public sealed class JournalReplaySpec(ITestOutputHelper output)
    : JournalSpecBase(output, "akka.persistence.journal.lmdb.replay-batch-size = 10")
{
    [Theory]
    [InlineData(25, 25)] // max equals the count
    [InlineData(30, 30)] // ... and ends on a full batch
    [InlineData(30, 20)] // max below the count, on a batch boundary
    [InlineData(30, 21)]
    public void Journal_should_replay_exactly_max_events(int count, int max)
    {
        WriteEvents("p-max", 1, count);
        var (events, highest) = Replay("p-max", max: max);
        AssertPayloads(events, Enumerable.Range(1, max).Select(i => (long)i).ToArray());
        Assert.Equal(count, highest);
    }

    [Fact]
    public void Persistent_actor_should_recover_exactly_replay_max_events()
    {
        WriteEvents("p-actor-max", 1, 30);
        var actor = Sys.ActorOf(Props.Create(() => new Recovering("p-actor-max", 30)));
        actor.Tell("state");
        Assert.Equal(Enumerable.Range(1, 30).Select(i => $"a-{i}"), ExpectMsg<IReadOnlyList<string>>());

        var bounded = Sys.ActorOf(Props.Create(() => new Recovering("p-actor-max", 20)));
        bounded.Tell("state");
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"a-{i}"), ExpectMsg<IReadOnlyList<string>>());
    }

    private sealed class Recovering : ReceivePersistentActor
    {
        private readonly List<string> _events = [];

        public Recovering(string persistenceId, long replayMax)
        {
            PersistenceId = persistenceId;
            Recovery = new Recovery(SnapshotSelectionCriteria.None, long.MaxValue, replayMax);
            Recover<string>(_events.Add);
            Command<string>(_ => Sender.Tell((IReadOnlyList<string>)_events.ToList()));
        }

        public override string PersistenceId { get; }

        public override Recovery Recovery { get; }
    }
}

/// <summary>
/// A journal of 64 MiB (4,000 events of 16 KiB) is recovered holding one replay batch (10 events) at a time, not the
/// journal: the replay loop of the journal is measured directly, then a persistent actor recovers it all.
/// </summary>
[Collection(ProcessWideSpecs.Name)]
public sealed class JournalLargeRecoverySpec(ITestOutputHelper output)
    : JournalSpecBase(output, "akka.persistence.journal.lmdb.replay-batch-size = 10")
{
    private const int Count = 4000;
    private const int PayloadBytes = 16 * 1024;

    [Fact]
    public void Journal_should_recover_a_large_journal_in_bounded_memory()
    {
        const string pid = "p-large";
        for (var from = 1; from <= Count; from += 500)
        {
            WriteSuccessfully(Enumerable.Range(from, 500)
                .Select(seq => Atomic(Event(pid, seq, Payload(seq)))).ToList());
        }

        var codec = new EventCodec((ExtendedActorSystem)Sys);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var peak = 0L;
        var seen = 0L;
        LmdbJournal.Replay(Store, codec.ToPersistent, pid, 1, long.MaxValue, long.MaxValue, Store.Settings.ReplayBatchSize, p =>
        {
            Assert.Equal(++seen, p.SequenceNr);
            Assert.Equal(PayloadBytes, ((byte[])p.Payload).Length);
            if (seen % 500 == 250) peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
        });

        Assert.Equal(Count, seen);
        var journalBytes = (long)Count * PayloadBytes;
        Output?.WriteLine($"journal {journalBytes >> 20} MiB, most retained during replay {peak >> 10} KiB");
        Assert.True(peak < journalBytes / 8, $"replay retained {peak} bytes of a {journalBytes}-byte journal");

        var actor = Sys.ActorOf(Props.Create(() => new Summing(pid)));
        actor.Tell("state");
        Assert.Equal((Count, (long)Count), ExpectMsg<(int, long)>(TimeSpan.FromSeconds(30)));
    }

    private static byte[] Payload(long seq)
    {
        var bytes = new byte[PayloadBytes];
        bytes.AsSpan().Fill((byte)seq);
        return bytes;
    }

    /// <summary>Keeps only a count and the last sequence number, checking that each event is the next one.</summary>
    private sealed class Summing : ReceivePersistentActor
    {
        private int _count;

        public Summing(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<byte[]>(b =>
            {
                _count++;
                if (b[0] != (byte)LastSequenceNr || LastSequenceNr != _count) throw new InvalidOperationException($"event {LastSequenceNr} out of order");
            });
            Command<string>(_ => Sender.Tell((_count, LastSequenceNr)));
        }

        public override string PersistenceId { get; }
    }
}
