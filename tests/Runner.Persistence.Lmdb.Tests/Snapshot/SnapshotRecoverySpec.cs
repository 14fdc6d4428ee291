using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Snapshot;

/// <summary>A persistent actor on the LMDB journal and snapshot store recovers from its snapshot plus later events.</summary>
public sealed class SnapshotRecoverySpec(ITestOutputHelper output) : LmdbSpecBase(output)
{
    /// <summary>What a recovering actor saw, reported on <see cref="Report"/>.</summary>
    private sealed record Recovered(long? SnapshotSequenceNr, ImmutableList<string> SnapshotState, ImmutableList<string> ReplayedEvents,
        ImmutableList<string> State, long LastSequenceNr);

    private sealed record TakeSnapshot;

    private sealed record Report;

    private sealed class Accumulator : ReceivePersistentActor
    {
        private ImmutableList<string> _state = [];
        private long? _snapshotSeq;
        private ImmutableList<string> _snapshotState = [];
        private ImmutableList<string> _replayed = [];
        private IActorRef? _snapshotRequester;

        public Accumulator(string id)
        {
            PersistenceId = id;
            Recover<SnapshotOffer>(offer =>
            {
                _snapshotSeq = offer.Metadata.SequenceNr;
                _snapshotState = ImmutableList.CreateRange((string[])offer.Snapshot);
                _state = _snapshotState;
            });
            Recover<string>(e =>
            {
                _replayed = _replayed.Add(e);
                _state = _state.Add(e);
            });
            Command<string>(s => Persist(s, e =>
            {
                _state = _state.Add(e);
                Sender.Tell(e + "-done");
            }));
            Command<TakeSnapshot>(_ =>
            {
                _snapshotRequester = Sender;
                SaveSnapshot(_state.ToArray());
            });
            Command<SaveSnapshotSuccess>(s => _snapshotRequester?.Tell(s));
            Command<SaveSnapshotFailure>(f => _snapshotRequester?.Tell(f));
            Command<Report>(_ => Sender.Tell(new Recovered(_snapshotSeq, _snapshotState, _replayed, _state, LastSequenceNr)));
        }

        public override string PersistenceId { get; }
    }

    private IActorRef Start(string id) => Sys.ActorOf(Props.Create(() => new Accumulator(id)));

    private void Stop(IActorRef actor)
    {
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor);
    }

    [Fact]
    public void Persistent_actor_should_recover_from_its_snapshot_and_the_events_after_it()
    {
        var a = Start("acc-1");
        foreach (var e in new[] { "a", "b", "c" })
        {
            a.Tell(e);
            ExpectMsg(e + "-done");
        }

        a.Tell(new TakeSnapshot());
        Assert.Equal(3, ExpectMsg<SaveSnapshotSuccess>().Metadata.SequenceNr);
        foreach (var e in new[] { "d", "e" })
        {
            a.Tell(e);
            ExpectMsg(e + "-done");
        }

        Stop(a);

        var b = Start("acc-1");
        b.Tell(new Report());
        var recovered = ExpectMsg<Recovered>();
        Assert.Equal(3, recovered.SnapshotSequenceNr);
        Assert.Equal(["a", "b", "c"], recovered.SnapshotState);
        Assert.Equal(["d", "e"], recovered.ReplayedEvents);
        Assert.Equal(["a", "b", "c", "d", "e"], recovered.State);
        Assert.Equal(5, recovered.LastSequenceNr);

        // It carries on from there.
        b.Tell("f");
        ExpectMsg("f-done");
        b.Tell(new Report());
        Assert.Equal(6, ExpectMsg<Recovered>().LastSequenceNr);
    }

    [Fact]
    public void Persistent_actor_should_recover_from_the_youngest_of_several_snapshots()
    {
        var a = Start("acc-2");
        for (var i = 1; i <= 6; i++)
        {
            a.Tell($"e{i}");
            ExpectMsg($"e{i}-done");
            if (i % 2 == 0)
            {
                a.Tell(new TakeSnapshot());
                Assert.Equal(i, ExpectMsg<SaveSnapshotSuccess>().Metadata.SequenceNr);
            }
        }

        Stop(a);

        var b = Start("acc-2");
        b.Tell(new Report());
        var recovered = ExpectMsg<Recovered>();
        Assert.Equal(6, recovered.SnapshotSequenceNr);
        Assert.Empty(recovered.ReplayedEvents);
        Assert.Equal(6, recovered.State.Count);
        Assert.Equal(6, recovered.LastSequenceNr);
    }

    [Fact]
    public void Persistent_actor_should_recover_from_a_snapshot_after_its_events_were_deleted()
    {
        var a = Start("acc-3");
        foreach (var e in new[] { "a", "b" })
        {
            a.Tell(e);
            ExpectMsg(e + "-done");
        }

        a.Tell(new TakeSnapshot());
        ExpectMsg<SaveSnapshotSuccess>();
        a.Tell("c");
        ExpectMsg("c-done");
        Stop(a);

        // Delete the events the snapshot covers, through the journal, as an actor's DeleteMessages would.
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        journal.Tell(new DeleteMessagesTo("acc-3", 2, TestActor));
        ExpectMsg<DeleteMessagesSuccess>();

        var b = Start("acc-3");
        b.Tell(new Report());
        var recovered = ExpectMsg<Recovered>();
        Assert.Equal(2, recovered.SnapshotSequenceNr);
        Assert.Equal(["c"], recovered.ReplayedEvents);
        Assert.Equal(["a", "b", "c"], recovered.State);
        Assert.Equal(3, recovered.LastSequenceNr);
    }
}
