using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// Storage trouble (as opposed to a rejected payload) fails the whole WriteMessages call, and the store stays usable:
/// here the map may not grow past 1 MiB and a 2 MiB event cannot fit. The writer lingers 200 ms for more requests so
/// that writes sent together are group-committed together.
/// </summary>
public sealed class JournalStorageFailureSpec(ITestOutputHelper output)
    : JournalSpecBase(output, "akka.persistence.journal.lmdb { map-size = 1MiB, max-map-size = 1MiB, max-batch-wait = 200ms }")
{
    private const string Pid = "p-full";

    [Fact]
    public void Journal_should_fail_the_whole_call_when_the_map_is_full_at_its_maximum_and_keep_the_store_intact()
    {
        WriteEvents(Pid, 1, 3);

        var probe = CreateTestProbe();
        var instance = NextInstanceId();
        Journal.Tell(new WriteMessages([
            Atomic(Event(Pid, 4)),
            Atomic(Event(Pid, 5, new byte[2 * 1024 * 1024])),
            Atomic(Event("p-full-neighbour", 1)),
        ], probe.Ref, instance));

        var failed = probe.ExpectMsg<WriteMessagesFailed>();
        Assert.Equal(3, failed.WriteCount);
        Assert.Contains("max-map-size", failed.Cause.Message, StringComparison.Ordinal);
        foreach (var (pid, seq) in new[] { (Pid, 4L), (Pid, 5L), ("p-full-neighbour", 1L) })
        {
            var failure = probe.ExpectMsg<WriteMessageFailure>();
            Assert.Equal(pid, failure.Persistent.PersistenceId);
            Assert.Equal(seq, failure.Persistent.SequenceNr);
            Assert.Equal(instance, failure.ActorInstanceId);
            Assert.Contains("max-map-size", failure.Cause.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1024 * 1024, Store.MapSize);

        // Nothing of the failed call is stored; what was there is readable, and the store still takes writes.
        var (events, highest) = Replay(Pid);
        AssertPayloads(events, 1, 2, 3);
        Assert.Equal(3, highest);
        Assert.Equal(0, ReadHighestSequenceNr("p-full-neighbour"));

        WriteEvents(Pid, 4, 5);
        AssertPayloads(Replay(Pid).Events, 1, 2, 3, 4, 5);
    }

    [Fact]
    public void Journal_should_fail_only_the_call_that_does_not_fit_not_the_writes_group_committed_with_it()
    {
        WriteEvents(Pid, 1, 1);

        // Both calls reach the writer within its linger time, so they share one LMDB transaction attempt.
        var big = CreateTestProbe();
        var small = CreateTestProbe();
        Journal.Tell(new WriteMessages([Atomic(Event(Pid, 2, new byte[2 * 1024 * 1024]))], big.Ref, NextInstanceId()));
        Journal.Tell(new WriteMessages([Atomic(Event("p-small", 1)), Atomic(Event("p-small", 2))], small.Ref, NextInstanceId()));

        big.ExpectMsg<WriteMessagesFailed>(m => m.Cause.Message.Contains("max-map-size", StringComparison.Ordinal));
        big.ExpectMsg<WriteMessageFailure>(m => m.Persistent.SequenceNr == 2);
        small.ExpectMsg<WriteMessagesSuccessful>();
        small.ExpectMsg<WriteMessageSuccess>(m => m.Persistent.SequenceNr == 1);
        small.ExpectMsg<WriteMessageSuccess>(m => m.Persistent.SequenceNr == 2);

        AssertPayloads(Replay(Pid).Events, 1);
        AssertPayloads(Replay("p-small").Events, 1, 2);
    }
}
