using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// A payload that cannot be serialized is a rejection of its AtomicWrite only (WriteMessageRejected, OnPersistRejected):
/// its neighbours in the same WriteMessages are written and the persistent actor keeps running.
/// </summary>
public sealed class JournalRejectionSpec(ITestOutputHelper output) : JournalSpecBase(output, TestSerializers.Hocon)
{
    [Fact]
    public void Journal_should_reject_a_non_serializable_event_and_write_its_neighbours()
    {
        const string pid = "p-reject";
        WriteEvents(pid, 1, 5);

        var probe = CreateTestProbe();
        var instance = NextInstanceId();
        Journal.Tell(new WriteMessages([
            Atomic(Event(pid, 6, "b-6")),
            Atomic(Event(pid, 7, new Unserializable("no"))),
            Atomic(Event(pid, 8, "b-8")),
        ], probe.Ref, instance));

        probe.ExpectMsg<WriteMessagesSuccessful>();
        probe.ExpectMsg<WriteMessageSuccess>(m => m.Persistent.SequenceNr == 6 && m.Persistent.WriterGuid == WriterGuid && Equals(m.Persistent.Payload, "b-6"));
        var rejected = probe.ExpectMsg<WriteMessageRejected>();
        Assert.Equal(7, rejected.Persistent.SequenceNr);
        Assert.Equal(pid, rejected.Persistent.PersistenceId);
        Assert.Equal(WriterGuid, rejected.Persistent.WriterGuid);
        Assert.Equal(instance, rejected.ActorInstanceId);
        Assert.IsType<Unserializable>(rejected.Persistent.Payload);
        Assert.Contains("cannot serialize Unserializable", rejected.Cause.Message, StringComparison.Ordinal);
        probe.ExpectMsg<WriteMessageSuccess>(m => m.Persistent.SequenceNr == 8 && Equals(m.Persistent.Payload, "b-8"));

        var (events, highest) = Replay(pid, from: 6);
        Assert.Equal([6L, 8L], events.Select(e => e.SequenceNr));
        Assert.Equal(["b-6", "b-8"], events.Select(e => e.Payload));
        Assert.Equal(8, highest);
    }

    [Fact]
    public void Journal_should_reject_a_whole_atomic_write_when_one_of_its_events_cannot_be_serialized()
    {
        const string pid = "p-reject-atomic";
        WriteEvents(pid, 1, 2);

        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages([
            Atomic(Event(pid, 3), Event(pid, 4, new Unserializable("no")), Event(pid, 5)),
            Atomic(Event("p-reject-atomic-neighbour", 1)),
        ], probe.Ref, NextInstanceId()));

        probe.ExpectMsg<WriteMessagesSuccessful>();
        foreach (var seq in new long[] { 3, 4, 5 })
            probe.ExpectMsg<WriteMessageRejected>(m => m.Persistent.SequenceNr == seq && m.Persistent.PersistenceId == pid);
        probe.ExpectMsg<WriteMessageSuccess>(m => m.Persistent.PersistenceId == "p-reject-atomic-neighbour");

        var (events, highest) = Replay(pid);
        AssertPayloads(events, 1, 2);
        Assert.Equal(2, highest);
        AssertPayloads(Replay("p-reject-atomic-neighbour").Events, 1);
    }

    [Fact]
    public void Journal_should_reject_persistence_ids_and_tags_that_cannot_be_lmdb_keys()
    {
        var longPid = new string('p', 481);
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages([
            Atomic(Event(longPid, 1)),
            Atomic(Event("p-long-tag", 1, new Tagged("x", [new string('t', 481)]))),
            Atomic(Event("p-long-tag", 2)),
        ], probe.Ref, NextInstanceId()));

        probe.ExpectMsg<WriteMessagesSuccessful>();
        var pidRejected = probe.ExpectMsg<WriteMessageRejected>(m => m.Persistent.PersistenceId == longPid);
        Assert.Contains("persistence id", pidRejected.Cause.Message, StringComparison.Ordinal);
        var tagRejected = probe.ExpectMsg<WriteMessageRejected>(m => m.Persistent.SequenceNr == 1);
        Assert.Contains("tag", tagRejected.Cause.Message, StringComparison.Ordinal);
        probe.ExpectMsg<WriteMessageSuccess>(m => m.Persistent.SequenceNr == 2);

        Assert.Equal([2L], Replay("p-long-tag").Events.Select(e => e.SequenceNr));
    }

    [Fact]
    public void Persistent_actor_should_keep_running_after_a_rejected_persist()
    {
        var actor = Sys.ActorOf(Props.Create(() => new RejectionActor("p-reject-actor", TestActor)));
        actor.Tell("a");
        ExpectMsg("persisted:a");
        actor.Tell(new Unserializable("bad"));
        var rejected = ExpectMsg<Rejected>();
        Assert.Equal(2, rejected.SequenceNr);
        Assert.Contains("cannot serialize", rejected.Cause.Message, StringComparison.Ordinal);
        actor.Tell("b");
        ExpectMsg("persisted:b");

        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor);

        var recovered = Sys.ActorOf(Props.Create(() => new RejectionActor("p-reject-actor", TestActor)));
        recovered.Tell("state");
        ExpectMsg("state:a,b");
        Assert.Equal([1L, 3L], Replay("p-reject-actor").Events.Select(e => e.SequenceNr));
    }

    private sealed record Rejected(Exception Cause, long SequenceNr);

    private sealed class RejectionActor : ReceivePersistentActor
    {
        private readonly IActorRef _monitor;
        private readonly List<string> _state = [];

        public RejectionActor(string persistenceId, IActorRef monitor)
        {
            PersistenceId = persistenceId;
            _monitor = monitor;
            Recover<string>(_state.Add);
            Command<string>(s => s == "state", _ => Sender.Tell("state:" + string.Join(",", _state)));
            Command<string>(s => Persist(s, e =>
            {
                _state.Add(e);
                Sender.Tell("persisted:" + e);
            }));
            Command<Unserializable>(u => Persist(u, _ => _monitor.Tell("unexpectedly persisted")));
        }

        public override string PersistenceId { get; }

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
        {
            base.OnPersistRejected(cause, @event, sequenceNr);
            _monitor.Tell(new Rejected(cause, sequenceNr));
        }
    }
}
