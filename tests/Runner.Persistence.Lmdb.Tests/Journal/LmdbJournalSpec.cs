using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// What the Akka.Persistence TCK <c>JournalSpec</c> checks, against the LMDB journal: five events of one persistence id
/// are written up front (1..3 one by one, 4 and 5 in one AtomicWrite) and then replayed, bounded, deleted.
/// </summary>
public sealed class LmdbJournalSpec : JournalSpecBase
{
    private const string Pid = "p-journal";

    public LmdbJournalSpec(ITestOutputHelper output)
        : base(output, "akka.persistence.publish-plugin-commands = on")
    {
        WriteSuccessfully([
            Atomic(Event(Pid, 1)),
            Atomic(Event(Pid, 2)),
            Atomic(Event(Pid, 3)),
            Atomic(Event(Pid, 4), Event(Pid, 5)),
        ]);
    }

    [Fact]
    public void Journal_should_replay_all_messages()
    {
        var (events, highest) = Replay(Pid);
        AssertPayloads(events, 1, 2, 3, 4, 5);
        Assert.All(events, e => Assert.False(e.IsDeleted));
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Journal_should_replay_messages_using_a_lower_sequence_number_bound()
    {
        var (events, highest) = Replay(Pid, from: 3);
        AssertPayloads(events, 3, 4, 5);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Journal_should_replay_messages_using_an_upper_sequence_number_bound()
    {
        var (events, highest) = Replay(Pid, to: 3);
        AssertPayloads(events, 1, 2, 3);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Journal_should_replay_messages_using_a_count_limit()
    {
        var (events, highest) = Replay(Pid, max: 3);
        AssertPayloads(events, 1, 2, 3);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Journal_should_replay_messages_using_lower_and_upper_bounds_and_a_count_limit()
    {
        AssertPayloads(Replay(Pid, from: 2, to: 3).Events, 2, 3);
        AssertPayloads(Replay(Pid, from: 2, to: 5, max: 2).Events, 2, 3);
        AssertPayloads(Replay(Pid, from: 2, to: 2).Events, 2);
        AssertPayloads(Replay(Pid, from: 2, to: 4, max: 1).Events, 2);
    }

    [Fact]
    public void Journal_should_replay_across_replay_batches()
    {
        // replay-batch-size is 1000: 1,200 more events make the replay read in two LMDB read transactions.
        WriteEvents(Pid, 6, 1205);
        var (events, highest) = Replay(Pid, from: 3, max: 1100);
        Assert.Equal(Enumerable.Range(3, 1100).Select(i => (long)i), events.Select(e => e.SequenceNr));
        Assert.Equal(1205, highest);
    }

    [Fact]
    public void Journal_should_not_replay_messages_if_count_limit_equals_zero()
    {
        var (events, highest) = Replay(Pid, from: 2, to: 4, max: 0);
        Assert.Empty(events);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Journal_should_not_replay_messages_if_lower_bound_is_greater_than_upper_bound()
    {
        var (events, highest) = Replay(Pid, from: 3, to: 2);
        Assert.Empty(events);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Journal_should_not_replay_messages_if_lower_bound_is_greater_than_highest()
    {
        var (events, highest) = Replay(Pid, from: 6);
        Assert.Empty(events);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Journal_should_not_replay_messages_of_a_persistence_id_never_written()
    {
        var (events, highest) = Replay("never-written", from: 0);
        Assert.Empty(events);
        Assert.Equal(0, highest);
    }

    [Fact]
    public void Journal_should_keep_persistence_ids_apart()
    {
        WriteEvents(Pid + "-other", 1, 2);
        AssertPayloads(Replay(Pid + "-other").Events, 1, 2);
        AssertPayloads(Replay(Pid).Events, 1, 2, 3, 4, 5);
        Assert.Equal(2, ReadHighestSequenceNr(Pid + "-other"));
    }

    [Fact]
    public void Journal_should_read_the_highest_sequence_number()
    {
        Assert.Equal(5, ReadHighestSequenceNr(Pid));
        WriteEvents(Pid, 6, 7);
        Assert.Equal(7, ReadHighestSequenceNr(Pid));
    }

    [Fact]
    public void Journal_should_not_replay_permanently_deleted_messages_on_range_deletion()
    {
        var subscriber = CreateTestProbe();
        Sys.EventStream.Subscribe(subscriber.Ref, typeof(DeleteMessagesTo));
        DeleteTo(Pid, 3);
        subscriber.ExpectMsg<DeleteMessagesTo>(m => m.PersistenceId == Pid && m.ToSequenceNr == 3);

        var (events, highest) = Replay(Pid);
        AssertPayloads(events, 4, 5);
        Assert.Equal(5, highest);
        AssertPayloads(Replay(Pid, from: 2, to: 4).Events, 4);
    }

    [Fact]
    public void Journal_should_not_reset_highest_sequence_number_after_message_deletion()
    {
        DeleteTo(Pid, 3);
        Assert.Equal(5, Replay(Pid, from: 0).Highest);
        Assert.Equal(5, ReadHighestSequenceNr(Pid));
    }

    [Fact]
    public void Journal_should_not_reset_highest_sequence_number_after_journal_cleanup()
    {
        DeleteTo(Pid, long.MaxValue);
        var (events, highest) = Replay(Pid, from: 0);
        Assert.Empty(events);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Journal_should_keep_highest_sequence_number_after_deleting_beyond_it_and_continue_after_it()
    {
        DeleteTo(Pid, 10);
        Assert.Empty(Replay(Pid).Events);
        Assert.Equal(5, ReadHighestSequenceNr(Pid));

        WriteEvents(Pid, 6, 6);
        var (events, highest) = Replay(Pid);
        AssertPayloads(events, 6);
        Assert.Equal(6, highest);
    }

    [Fact]
    public void Journal_should_delete_nothing_for_an_unknown_persistence_id()
    {
        DeleteTo("never-written", long.MaxValue);
        Assert.Equal(0, ReadHighestSequenceNr("never-written"));
        AssertPayloads(Replay(Pid).Events, 1, 2, 3, 4, 5);
    }

    [Fact]
    public void Journal_should_acknowledge_every_event_of_a_multi_event_atomic_write_in_order()
    {
        var acked = WriteSuccessfully([Atomic(Event(Pid, 6), Event(Pid, 7), Event(Pid, 8)), Atomic(Event(Pid, 9))]);
        Assert.Equal([6L, 7L, 8L, 9L], acked.Select(p => p.SequenceNr));
        Assert.Equal(["a-6", "a-7", "a-8", "a-9"], acked.Select(p => (string)p.Payload));
        AssertPayloads(Replay(Pid, from: 6).Events, 6, 7, 8, 9);
    }

    [Fact]
    public void Journal_should_write_a_multi_event_atomic_write_all_or_nothing()
    {
        // Sequence number 5 exists: the AtomicWrite 6, 7, 5 must leave nothing behind, not even 6 and 7.
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages([Atomic(Event(Pid, 6), Event(Pid, 7), Event(Pid, 5))], probe.Ref, NextInstanceId()));
        probe.ExpectMsg<WriteMessagesFailed>();
        foreach (var seq in new long[] { 6, 7, 5 })
            probe.ExpectMsg<WriteMessageFailure>(m => m.Persistent.SequenceNr == seq);

        var (events, highest) = Replay(Pid);
        AssertPayloads(events, 1, 2, 3, 4, 5);
        Assert.Equal(5, highest);

        // The store is fine afterwards: 6 and 7 can be written for real.
        WriteSuccessfully([Atomic(Event(Pid, 6), Event(Pid, 7))]);
        AssertPayloads(Replay(Pid, from: 6).Events, 6, 7);
    }

    [Fact]
    public void Journal_should_persist_all_events_of_PersistAll_atomically_for_a_persistent_actor()
    {
        var actor = Sys.ActorOf(Props.Create(() => new BatchActor("p-batch")));
        actor.Tell(new[] { "x", "y", "z" });
        ExpectMsg("done:x,y,z");

        var (events, highest) = Replay("p-batch");
        Assert.Equal(["x", "y", "z"], events.Select(e => (string)e.Payload));
        Assert.Equal(3, highest);
        Assert.All(events, e => Assert.Equal(events[0].WriterGuid, e.WriterGuid));
    }

    [Fact]
    public void Journal_should_report_writes_in_flight_when_reading_the_highest_sequence_number()
    {
        // ReplayMessages asks the journal for the highest sequence number first; sent right behind a WriteMessages
        // (the journal handles them in order, the write completes later on the writer thread) it must see the write.
        var payload = new byte[16 * 1024];
        for (var round = 0; round < 10; round++)
        {
            var pid = $"p-inflight-{round}";
            var writes = Enumerable.Range(1, 50).Select(i => Atomic(Event(pid, i, payload))).ToList();
            var writer = CreateTestProbe();
            var replay = CreateTestProbe();
            Journal.Tell(new WriteMessages(writes, writer.Ref, NextInstanceId()));
            Journal.Tell(new ReplayMessages(0, long.MaxValue, 0, pid, replay.Ref));
            replay.ExpectMsg<RecoverySuccess>(m => m.HighestSequenceNr == 50);
            writer.ExpectMsg<WriteMessagesSuccessful>();
        }
    }

    [Fact]
    public void Journal_should_let_a_restarted_persistent_actor_continue_after_its_last_write()
    {
        var first = Sys.ActorOf(Props.Create(() => new BatchActor("p-restart")));
        first.Tell(new[] { "a", "b" });
        ExpectMsg("done:a,b");
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);

        var second = Sys.ActorOf(Props.Create(() => new BatchActor("p-restart")));
        second.Tell(new[] { "c" });
        ExpectMsg("done:a,b,c");
        Assert.Equal([1L, 2L, 3L], Replay("p-restart").Events.Select(e => e.SequenceNr));
    }

    private sealed class BatchActor : ReceivePersistentActor
    {
        private readonly List<string> _state = [];

        public BatchActor(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<string>(_state.Add);
            Command<string[]>(batch =>
            {
                var left = batch.Length;
                PersistAll(batch, e =>
                {
                    _state.Add(e);
                    if (--left == 0) Sender.Tell("done:" + string.Join(",", _state));
                });
            });
        }

        public override string PersistenceId { get; }
    }
}
