using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Persistence.Lmdb.Query;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// The tenant's checkpoint journal on its own, a child of the test actor (which hears what it tells its parent):
/// monotonic checkpoints, and the replay records (start, rewind, end) that move a checkpoint back on purpose.
/// </summary>
public sealed class CheckpointActorSpec(ITestOutputHelper output) : ActorSpecBase(output)
{
    private const string PersistenceId = "checkpoint|acme";
    private static readonly DateTimeOffset At = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void CheckpointActor_should_advance_checkpoints_monotonically()
    {
        var checkpoints = Start();
        checkpoints.Tell(new CheckpointAdvanced("order", 10));
        checkpoints.Tell(new CheckpointAdvanced("order", 5)); // an older sample: ignored
        checkpoints.Tell(new CheckpointAdvanced("order", 12));
        checkpoints.Tell(new CheckpointAdvanced("order", 12));
        checkpoints.Tell(new CheckpointAdvanced("payment", 3));
        AssertCheckpoints(checkpoints, ("order", 12), ("payment", 3));
        StopAndWait(checkpoints);
        var again = Start();
        AssertCheckpoints(again, ("order", 12), ("payment", 3));
    }

    [Fact]
    public void CheckpointActor_should_keep_a_rewind_to_a_lower_checkpoint_across_a_restart()
    {
        var checkpoints = Start();
        checkpoints.Tell(new CheckpointAdvanced("order", 100));
        Begin(checkpoints, "acme.order.1", "order");
        Rewind(checkpoints, "acme.order.1", "order", 9, instances: 2);
        AssertCheckpoints(checkpoints, ("order", 9));
        StopAndWait(checkpoints);
        var again = StartUnrecovered();
        var recovered = ExpectMsg<CheckpointsRecovered>();
        var replay = Assert.Single(recovered.ActiveReplays);
        Assert.Equal(("acme.order.1", ReplayStage.Rewound, 2), (replay.Id, replay.Stage, replay.Instances));
        AssertCheckpoints(again, ("order", 9));

        // From the rewound checkpoint the checkpoint advances again, also past where it was.
        again.Tell(new CheckpointAdvanced("order", 50));
        again.Tell(new CheckpointAdvanced("order", 120));
        AssertCheckpoints(again, ("order", 120));
        StopAndWait(again);
        AssertCheckpoints(Start(), ("order", 120));
    }

    [Fact]
    public void CheckpointActor_should_refuse_a_second_replay_of_a_saga_while_one_is_active()
    {
        var checkpoints = Start();
        Begin(checkpoints, "acme.order.1", "order");

        checkpoints.Tell(new BeginReplay(Started("acme.order.2", "order")));
        var refused = ExpectMsg<ReplayRefused>();
        Assert.Contains("acme.order.1", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("'order'", refused.Reason, StringComparison.Ordinal);

        Begin(checkpoints, "acme.payment.1", "payment"); // another saga is not held up

        Rewind(checkpoints, "acme.order.1", "order", 0, instances: 0);
        checkpoints.Tell(new BeginReplay(Started("acme.order.3", "order")));
        Assert.Contains("acme.order.1", ExpectMsg<ReplayRefused>().Reason, StringComparison.Ordinal); // rewound is still active

        Finish(checkpoints, "acme.order.1");
        Begin(checkpoints, "acme.order.4", "order");
        checkpoints.Tell(GetReplays.Instance);
        var known = ExpectMsg<ReplaysKnown>().Replays;
        Assert.Equal(["acme.order.1", "acme.payment.1", "acme.order.4"], known.Select(r => r.Id));
        Assert.Equal([ReplayStage.Finished, ReplayStage.Started, ReplayStage.Started], known.Select(r => r.Stage));
    }

    [Fact]
    public void CheckpointActor_should_refuse_a_second_replay_of_a_saga_after_a_restart()
    {
        var checkpoints = Start();
        Begin(checkpoints, "acme.order.1", "order");
        StopAndWait(checkpoints);

        var again = StartUnrecovered();
        ExpectMsg<CheckpointsRecovered>();
        again.Tell(new BeginReplay(Started("acme.order.2", "order")));
        Assert.Contains("acme.order.1", ExpectMsg<ReplayRefused>().Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointActor_should_ignore_checkpoints_of_a_saga_while_its_replay_is_started_and_honour_them_after_the_rewind()
    {
        var checkpoints = Start();
        checkpoints.Tell(new CheckpointAdvanced("order", 50));
        Begin(checkpoints, "acme.order.1", "order");

        checkpoints.Tell(new CheckpointAdvanced("order", 80)); // the floor of the consumer the replay is about to delete
        checkpoints.Tell(new CheckpointAdvanced("payment", 7)); // another saga: honoured
        AssertCheckpoints(checkpoints, ("order", 50), ("payment", 7));

        Rewind(checkpoints, "acme.order.1", "order", 9, instances: 1);
        checkpoints.Tell(new CheckpointAdvanced("order", 20));
        AssertCheckpoints(checkpoints, ("order", 20), ("payment", 7));
        StopAndWait(checkpoints);

        // The ignored checkpoint was never written.
        AssertCheckpoints(Start(), ("order", 20), ("payment", 7));
    }

    [Fact]
    public void CheckpointActor_should_tell_its_parent_only_the_unfinished_replays_after_a_restart()
    {
        var checkpoints = Start();
        Begin(checkpoints, "acme.order.1", "order");
        Rewind(checkpoints, "acme.order.1", "order", 0, instances: 3);
        Finish(checkpoints, "acme.order.1");
        Begin(checkpoints, "acme.payment.1", "payment");
        Begin(checkpoints, "acme.shipping.1", "shipping");
        Rewind(checkpoints, "acme.shipping.1", "shipping", 4, instances: 1);
        StopAndWait(checkpoints);

        var again = StartUnrecovered();
        var recovered = ExpectMsg<CheckpointsRecovered>();
        Assert.Equal(["acme.payment.1", "acme.shipping.1"], recovered.ActiveReplays.Select(r => r.Id));
        Assert.Equal([ReplayStage.Started, ReplayStage.Rewound], recovered.ActiveReplays.Select(r => r.Stage));

        again.Tell(GetReplays.Instance);
        var known = ExpectMsg<ReplaysKnown>().Replays;
        var finished = Assert.Single(known, r => r.Stage == ReplayStage.Finished);
        Assert.Equal("acme.order.1", finished.Id);
        Assert.Equal(3, finished.Instances);
        Assert.Equal(At, finished.FinishedAt);
        Assert.Equal(new ReplayCounts(5, 3, 1, 1, 0, 4), finished.Counts);
    }

    [Fact]
    public void CheckpointActor_should_keep_only_the_last_20_finished_replays()
    {
        var checkpoints = Start();
        Begin(checkpoints, "acme.payment.1", "payment"); // active, older than all of them: always kept
        for (var i = 1; i <= 25; i++)
        {
            Begin(checkpoints, $"acme.order.{i}", "order");
            Finish(checkpoints, $"acme.order.{i}");
        }

        string[] expected = ["acme.payment.1", .. Enumerable.Range(6, 20).Select(i => $"acme.order.{i}")];
        checkpoints.Tell(GetReplays.Instance);
        Assert.Equal(expected, ExpectMsg<ReplaysKnown>().Replays.Select(r => r.Id));
        StopAndWait(checkpoints);

        var again = Start();
        again.Tell(GetReplays.Instance);
        Assert.Equal(expected, ExpectMsg<ReplaysKnown>().Replays.Select(r => r.Id));
    }

    /// <summary>
    /// A replay that finishes after 20 later-started replays of other sagas finished is the most recent finished one: it
    /// is answered, and kept (the one dropped is the one that finished longest ago).
    /// </summary>
    [Fact]
    public void CheckpointActor_should_record_the_finish_of_a_replay_that_started_before_the_last_20_finished()
    {
        var checkpoints = Start();
        Begin(checkpoints, "acme.payment.1", "payment");
        for (var i = 1; i <= 20; i++)
        {
            Begin(checkpoints, $"acme.order.{i}", "order");
            Finish(checkpoints, $"acme.order.{i}");
        }

        checkpoints.Tell(new RecordFinish(new ReplayFinished("acme.payment.1", ReplayCounts.Zero, At)));
        var record = ExpectMsg<FinishRecorded>().Record;
        Assert.Equal(("acme.payment.1", ReplayStage.Finished), (record.Id, record.Stage));

        checkpoints.Tell(GetReplays.Instance);
        var known = ExpectMsg<ReplaysKnown>().Replays.Select(r => r.Id).ToList();
        Assert.Equal(20, known.Count);
        Assert.Contains("acme.payment.1", known);
        Assert.DoesNotContain("acme.order.1", known);
    }

    [Fact]
    public async Task CheckpointActor_should_recover_checkpoints_and_replays_from_its_snapshot()
    {
        var checkpoints = Start();
        Begin(checkpoints, "acme.order.1", "order"); // 1
        Rewind(checkpoints, "acme.order.1", "order", 9, instances: 2); // 2
        Finish(checkpoints, "acme.order.1"); // 3
        Begin(checkpoints, "acme.payment.1", "payment"); // 4
        for (var i = 1UL; i <= 496; i++) checkpoints.Tell(new CheckpointAdvanced("shipping", i)); // 5..500: the snapshot
        checkpoints.Tell(new CheckpointAdvanced("order", 30)); // 501
        AssertCheckpoints(checkpoints, ("order", 30), ("shipping", 496));

        var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor("akka.persistence.snapshot-store.lmdb");
        AwaitAssert(() =>
        {
            store.Tell(new LoadSnapshot(PersistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), TestActor);
            var loaded = ExpectMsg<LoadSnapshotResult>();
            Assert.NotNull(loaded.Snapshot);
            Assert.Equal(500, loaded.Snapshot.Metadata.SequenceNr);
            var snapshot = Assert.IsType<CheckpointSnapshot>(loaded.Snapshot.Snapshot);
            Assert.Equal(496UL, snapshot.Checkpoints["shipping"]);
            Assert.Equal(9UL, snapshot.Checkpoints["order"]);
            Assert.NotNull(snapshot.Replays);
            Assert.Equal(["acme.order.1", "acme.payment.1"], snapshot.Replays.Value.Select(r => r.Id));
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        // The journal up to the snapshot is deleted.
        await AwaitAssertAsync(async () =>
        {
            var events = await PersistenceQuery.Get(Sys).ReadJournalFor<LmdbReadJournal>(LmdbReadJournal.Identifier)
                .CurrentEventsByPersistenceId(PersistenceId, 0, long.MaxValue)
                .RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());
            Assert.Equal(501, Assert.Single(events).SequenceNr);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        StopAndWait(checkpoints);
        var again = StartUnrecovered();
        var recovered = ExpectMsg<CheckpointsRecovered>();
        Assert.Equal("acme.payment.1", Assert.Single(recovered.ActiveReplays).Id);
        AssertCheckpoints(again, ("order", 30), ("shipping", 496));
        again.Tell(GetReplays.Instance);
        var known = ExpectMsg<ReplaysKnown>().Replays;
        Assert.Equal([ReplayStage.Finished, ReplayStage.Started], known.Select(r => r.Stage));
        Assert.Equal(2, known[0].Instances);
        again.Tell(new BeginReplay(Started("acme.payment.2", "payment")));
        Assert.Contains("acme.payment.1", ExpectMsg<ReplayRefused>().Reason, StringComparison.Ordinal);
    }

    private static Props CheckpointProps() => Akka.Actor.Props.Create(() => new CheckpointActor(Tenant, "node-1", RuntimeSettings.Default));

    /// <summary>Starts the checkpoints as a child of the test actor and waits for what they tell their parent once recovered.</summary>
    private IActorRef Start()
    {
        var actor = StartUnrecovered();
        ExpectMsg<CheckpointsRecovered>();
        return actor;
    }

    /// <summary>A child of the test actor, supervised as the tenant supervises it (restart on failure).</summary>
    private IActorRef StartUnrecovered() => ChildActorOf(CheckpointProps(), SupervisorStrategy.DefaultStrategy);

    private static ReplayStarted Started(string id, string saga) => new(id, saga, ReplayModes.FullReset, 1, 100, At);

    private void Begin(IActorRef checkpoints, string id, string saga)
    {
        checkpoints.Tell(new BeginReplay(Started(id, saga)));
        var begun = ExpectMsg<ReplayBegun>().Record;
        Assert.Equal((id, saga, ReplayStage.Started, 1UL, 100UL), (begun.Id, begun.Saga, begun.Stage, begun.FromSeq, begun.TargetSeq));
    }

    private void Rewind(IActorRef checkpoints, string id, string saga, ulong to, int instances)
    {
        checkpoints.Tell(new RecordRewind(new ReplayRewound(id, saga, to, instances, At)));
        ExpectMsg<RewindRecorded>(r => Assert.Equal(id, r.Id));
    }

    private void Finish(IActorRef checkpoints, string id)
    {
        checkpoints.Tell(new RecordFinish(new ReplayFinished(id, new ReplayCounts(5, 3, 1, 1, 0, 4), At)));
        var record = ExpectMsg<FinishRecorded>().Record;
        Assert.Equal((id, ReplayStage.Finished, At), (record.Id, record.Stage, record.FinishedAt));
    }

    private void AssertCheckpoints(IActorRef checkpoints, params (string Saga, ulong Seq)[] expected)
    {
        checkpoints.Tell(CheckpointActor.GetCheckpoints.Instance);
        var actual = ExpectMsg<ImmutableDictionary<string, ulong>>();
        Assert.Equal(expected.OrderBy(e => e.Saga, StringComparer.Ordinal), actual.Select(kv => (kv.Key, kv.Value)).OrderBy(e => e.Key, StringComparer.Ordinal));
    }
}
