using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// Storage trouble (as opposed to a rejected payload) fails the whole WriteMessages call, and the store stays usable:
/// here the map may not grow past 1 MiB and a 2 MiB event cannot fit.
/// </summary>
public sealed class JournalStorageFailureSpec(ITestOutputHelper output)
    : JournalSpecBase(output, "akka.persistence.journal.lmdb { map-size = 1MiB, max-map-size = 1MiB }")
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
}
