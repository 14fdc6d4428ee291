using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// The journal refuses a sequence number written before, so a persistence id's events come from one writer in sequence
/// order and a replay has nothing for Akka's replay filter to repair: the journal replays without one (no filter actor
/// per recovery), and an old incarnation writing over a newer one gets a write failure instead.
/// </summary>
public sealed class JournalSingleWriterSpec(ITestOutputHelper output) : JournalSpecBase(output)
{
    [Fact]
    public void Journal_should_refuse_an_old_writers_sequence_numbers_and_replay_the_first_writers_events_only()
    {
        const string pid = "p-two-writers";
        WriteEvents(pid, 1, 3);

        // A second incarnation (another writer id) that believes 2 and 3 are free.
        var probe = CreateTestProbe();
        var stale = new Persistent("stale-2", 2, pid, "", false, ActorRefs.NoSender, Guid.NewGuid().ToString());
        var staleNext = new Persistent("stale-3", 3, pid, "", false, ActorRefs.NoSender, stale.WriterGuid);
        Journal.Tell(new WriteMessages([Atomic(stale, staleNext)], probe.Ref, NextInstanceId()));
        probe.ExpectMsg<WriteMessagesFailed>();
        var failure = probe.ExpectMsg<WriteMessageFailure>(m => m.Persistent.SequenceNr == 2);
        Assert.Contains("written before", failure.Cause.Message, StringComparison.Ordinal);
        probe.ExpectMsg<WriteMessageFailure>(m => m.Persistent.SequenceNr == 3);

        var (events, highest) = Replay(pid);
        AssertPayloads(events, 1, 2, 3);
        Assert.All(events, e => Assert.Equal(WriterGuid, e.WriterGuid));
        Assert.Equal(3, highest);
    }

    [Fact]
    public void Journal_should_replay_every_event_written_whichever_incarnation_wrote_it()
    {
        // Akka's replay filter (repair-by-discard-old) would drop 5: its writer was seen before the writer of 3 and 4.
        // Here there is nothing to repair: each sequence number was accepted once, in order, so all of them replay.
        const string pid = "p-incarnations";
        var first = Guid.NewGuid().ToString();
        var second = Guid.NewGuid().ToString();
        Persistent By(string writer, long seq) => new($"{writer[..4]}-{seq}", seq, pid, "", false, ActorRefs.NoSender, writer);
        WriteSuccessfully([Atomic(By(first, 1)), Atomic(By(first, 2))]);
        WriteSuccessfully([Atomic(By(second, 3)), Atomic(By(second, 4))]);
        WriteSuccessfully([Atomic(By(first, 5))]);

        var (events, highest) = Replay(pid);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], events.Select(e => e.SequenceNr));
        Assert.Equal([first, first, second, second, first], events.Select(e => e.WriterGuid));
        Assert.Equal(5, highest);
        Assert.Equal("off", Sys.Settings.Config.GetString("akka.persistence.journal.lmdb.replay-filter.mode"));
    }
}
