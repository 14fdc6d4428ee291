using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Runner.Persistence.Lmdb.Query;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.State;

/// <summary>Export, import, delete and fences of persistence id sets, between two real LMDB stores.</summary>
public sealed class LmdbStateStoreSpec(ITestOutputHelper output) : LmdbSpecBase(output)
{
    private static readonly PersistenceIdSelector TenantT1 = new(["checkpoint|t1"], ["saga|t1|"]);

    [Fact]
    public async Task Export_and_import_should_carry_events_tags_snapshots_and_highest_sequence_numbers_to_another_store()
    {
        var a = Persist("saga|t1|order|o1", "e1", "e2", "snap", "e3");
        Persist("saga|t1|order|o2", "x1");
        Persist("checkpoint|t1", "c1");
        Persist("saga|t2|order|o1", "other-tenant");
        a.Tell(new Cmd("delete-to-1"));
        ExpectMsg("deleted");

        var data = await LmdbPersistence.Get(Sys).StateStore().ExportAsync(TenantT1);

        using var dirB = new TempDirectory();
        using var b = TestSystems.Create("b", Config(dirB.Path));
        try
        {
            var summary = await LmdbPersistence.Get(b).StateStore().ImportAsync(data, TenantT1);
            Assert.Equal(3, summary.PersistenceIds);
            Assert.Equal(4, summary.Events); // e2, e3 (e1 deleted), x1, c1
            Assert.Equal(1, summary.Snapshots);

            var probe = CreateTestProbe(b);
            var recovered = b.ActorOf(Props.Create(() => new Recorder("saga|t1|order|o1", probe.Ref)));
            recovered.Tell(new Cmd("state"), probe.Ref);
            Assert.Equal("snap:[e1,e2]|e3 @3", probe.ExpectMsg<string>()); // e1, e2, snapshot at 2, e3

            // Tags are indexed in the importing store (new global offsets).
            var journal = PersistenceQuery.Get(b).ReadJournalFor<LmdbReadJournal>(LmdbReadJournal.Identifier);
            var tagged = await journal.CurrentEventsByTag("t1", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), b.Materializer());
            Assert.Equal(["e2", "e3", "x1", "c1"], tagged.Select(e => (string)e.Event));

            // The other tenant did not travel.
            Assert.Equal(0, (await LmdbPersistence.Get(b).StateStore().ExportAsync(new PersistenceIdSelector([], ["saga|t2|"]))).Length - Empty().Length);
        }
        finally
        {
            await b.Terminate();
        }
    }

    [Fact]
    public async Task Import_should_refuse_corrupt_data_and_leave_the_store_untouched()
    {
        Persist("saga|t1|order|o1", "e1");
        var store = LmdbPersistence.Get(Sys).StateStore();
        var data = await store.ExportAsync(TenantT1);
        var corrupt = (byte[])data.Clone();
        corrupt[corrupt.Length / 2] ^= 0xFF;

        await Assert.ThrowsAsync<InvalidDataException>(() => store.ImportAsync(corrupt, TenantT1));
        await Assert.ThrowsAsync<InvalidDataException>(() => store.ImportAsync(data[..^10], TenantT1));
        Assert.Equal(data, await store.ExportAsync(TenantT1));
    }

    [Fact]
    public async Task A_fence_should_refuse_writes_of_fenced_ids_only_and_survive_until_lifted()
    {
        var fenced = Persist("saga|t1|order|o1", "e1");
        var free = Persist("saga|t2|order|o1", "f1");
        var store = LmdbPersistence.Get(Sys).StateStore();
        await store.FenceAsync(TenantT1, "moved to node-b (epoch 2)");
        Assert.Equal("moved to node-b (epoch 2)", store.FenceOf("saga|t1|order|o1"));
        Assert.Equal("moved to node-b (epoch 2)", store.FenceOf("checkpoint|t1"));
        Assert.Null(store.FenceOf("saga|t10|order|o1"));
        Assert.Null(store.FenceOf("checkpoint|t1x"));

        fenced.Tell(new Cmd("e2"));
        free.Tell(new Cmd("f2"));
        // Two actors answer; nothing orders their replies.
        var replies = ReceiveN(2).Cast<string>().ToList();
        Assert.Contains("f2", replies);
        Assert.Single(replies, r => r.StartsWith("rejected: Persistence id 'saga|t1|order|o1' is fenced", StringComparison.Ordinal));

        await store.UnfenceAsync(TenantT1);
        fenced.Tell(new Cmd("e3"));
        ExpectMsg("e3");
    }

    [Fact]
    public async Task Delete_should_remove_every_selected_id_and_nothing_else()
    {
        Persist("saga|t1|order|o1", "e1", "snap");
        Persist("saga|t2|order|o1", "f1");
        var store = LmdbPersistence.Get(Sys).StateStore();
        Assert.Equal(1, await store.DeleteAsync(TenantT1));
        Assert.Equal(Empty().Length, (await store.ExportAsync(TenantT1)).Length);
        Assert.True((await store.ExportAsync(new PersistenceIdSelector([], ["saga|t2|"]))).Length > Empty().Length);
    }

    private static byte[] Empty() => Internal.LmdbStore.Encode([]);

    private IActorRef Persist(string pid, params string[] events)
    {
        var actor = Sys.ActorOf(Props.Create(() => new Recorder(pid, TestActor)));
        foreach (var e in events)
        {
            actor.Tell(new Cmd(e));
            ExpectMsg(e == "snap" ? "saved" : e);
        }

        return actor;
    }

    private sealed record Cmd(string Value);

    /// <summary>Persists strings (tagged with the tenant token of its id), snapshots on "snap", reports on "state".</summary>
    private sealed class Recorder : ReceivePersistentActor
    {
        private readonly List<string> _events = [];
        private string _snapshot = "";
        private IActorRef _replyTo;

        public Recorder(string pid, IActorRef replyTo)
        {
            PersistenceId = pid;
            _replyTo = replyTo;
            var tag = pid.Split('|')[1];
            Recover<SnapshotOffer>(o => _snapshot = (string)o.Snapshot);
            Recover<string>(e => _events.Add(e));
            Command<Cmd>(c => c.Value == "state", _ =>
                Sender.Tell($"{_snapshot}|{string.Join(",", _events)} @{LastSequenceNr}"));
            Command<Cmd>(c => c.Value == "snap", _ =>
            {
                _replyTo = Sender;
                SaveSnapshot($"snap:[{string.Join(",", _events)}]");
                _events.Clear();
            });
            Command<Cmd>(c => c.Value == "delete-to-1", _ =>
            {
                _replyTo = Sender;
                DeleteMessages(1);
            });
            Command<Cmd>(c => Persist(new Akka.Persistence.Journal.Tagged(c.Value, [tag]), _ =>
            {
                _events.Add(c.Value);
                _replyTo.Tell(c.Value);
            }));
            Command<SaveSnapshotSuccess>(_ => _replyTo.Tell("saved"));
            Command<DeleteMessagesSuccess>(_ => _replyTo.Tell("deleted"));
        }

        public override string PersistenceId { get; }

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
            _replyTo.Tell("rejected: " + cause.Message);
    }
}
