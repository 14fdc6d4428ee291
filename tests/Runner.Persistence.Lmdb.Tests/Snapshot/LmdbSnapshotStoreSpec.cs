using Akka.Actor;
using Akka.Persistence;
using AkkaPersistence = Akka.Persistence.Persistence;
using Akka.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Snapshot;

/// <summary>
/// The snapshot store contract (what Akka's TCK <c>SnapshotStoreSpec</c> checks), driven through the store actor
/// with SaveSnapshot / LoadSnapshot / DeleteSnapshot / DeleteSnapshots on a real LMDB environment.
/// Every spec starts with five snapshots s-1..s-5 at sequence numbers 11..15, one minute apart.
/// </summary>
public sealed class LmdbSnapshotStoreSpec : LmdbSpecBase
{
    private const string Pid = "snap-pid";
    private static readonly DateTime Epoch = new(2024, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private readonly TestProbe _sender;
    private readonly List<SnapshotMetadata> _metadata;

    public LmdbSnapshotStoreSpec(ITestOutputHelper output)
        : base(output, "akka.persistence.publish-plugin-commands = on")
    {
        _sender = CreateTestProbe();
        _metadata = [];
        for (var i = 1; i <= 5; i++) _metadata.Add(Save(Pid, i + 10, $"s-{i}", Epoch.AddMinutes(i)));
    }

    private IActorRef Store => AkkaPersistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    private SnapshotMetadata Save(string pid, long seq, object snapshot, DateTime? timestamp = null)
    {
        var metadata = timestamp is { } t ? new SnapshotMetadata(pid, seq, t) : new SnapshotMetadata(pid, seq, DateTime.MinValue);
        Store.Tell(new SaveSnapshot(metadata, snapshot), _sender.Ref);
        return _sender.ExpectMsg<SaveSnapshotSuccess>().Metadata;
    }

    private SelectedSnapshot? Load(string pid, SnapshotSelectionCriteria criteria, long toSequenceNr = long.MaxValue)
    {
        Store.Tell(new LoadSnapshot(pid, criteria, toSequenceNr), _sender.Ref);
        var result = _sender.ExpectMsg<LoadSnapshotResult>();
        Assert.Equal(toSequenceNr, result.ToSequenceNr);
        return result.Snapshot;
    }

    private void AssertLoaded(SelectedSnapshot? snapshot, int index)
    {
        Assert.NotNull(snapshot);
        Assert.Equal(_metadata[index], snapshot.Metadata);
        Assert.Equal($"s-{index + 1}", snapshot.Snapshot);
    }

    private static SnapshotSelectionCriteria Criteria(long maxSeq, DateTime? maxTime = null, long minSeq = 0, DateTime? minTime = null) =>
        new(maxSeq, maxTime ?? DateTime.MaxValue, minSeq, minTime);

    [Fact]
    public void SnapshotStore_should_report_the_metadata_it_saved()
    {
        Assert.Equal(Enumerable.Range(11, 5).Select(i => (long)i), _metadata.Select(m => m.SequenceNr));
        Assert.All(_metadata, m => Assert.Equal(Pid, m.PersistenceId));
        Assert.Equal(Epoch.AddMinutes(3), _metadata[2].Timestamp);
    }

    [Fact]
    public void SnapshotStore_should_stamp_a_snapshot_saved_without_timestamp_with_the_current_time()
    {
        var before = DateTime.UtcNow;
        var saved = Save("stamped", 1, "x");
        var after = DateTime.UtcNow;

        var loaded = Load("stamped", SnapshotSelectionCriteria.Latest);
        Assert.NotNull(loaded);
        Assert.Equal(saved, loaded.Metadata);
        Assert.InRange(loaded.Metadata.Timestamp, before, after);
    }

    [Fact]
    public void SnapshotStore_should_not_load_a_snapshot_given_an_unknown_persistence_id()
    {
        Assert.Null(Load("unknown", SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public void SnapshotStore_should_not_load_a_snapshot_given_non_matching_timestamp_criteria()
    {
        Assert.Null(Load(Pid, Criteria(long.MaxValue, new DateTime(100000, DateTimeKind.Utc))));
        Assert.Null(Load(Pid, Criteria(long.MaxValue, Epoch)));
    }

    [Fact]
    public void SnapshotStore_should_not_load_a_snapshot_given_non_matching_sequence_number_criteria()
    {
        Assert.Null(Load(Pid, Criteria(7)));
        Assert.Null(Load(Pid, SnapshotSelectionCriteria.Latest, 7));
        Assert.Null(Load(Pid, Criteria(long.MaxValue, minSeq: 16)));
    }

    [Fact]
    public void SnapshotStore_should_not_load_a_snapshot_given_criteria_None()
    {
        Assert.Null(Load(Pid, SnapshotSelectionCriteria.None));
    }

    [Fact]
    public void SnapshotStore_should_load_the_most_recent_snapshot()
    {
        AssertLoaded(Load(Pid, SnapshotSelectionCriteria.Latest), 4);
    }

    [Fact]
    public void SnapshotStore_should_load_the_most_recent_snapshot_matching_an_upper_sequence_number_bound()
    {
        AssertLoaded(Load(Pid, Criteria(13)), 2);
        AssertLoaded(Load(Pid, SnapshotSelectionCriteria.Latest, 13), 2);
        AssertLoaded(Load(Pid, Criteria(14), 12), 1);
    }

    [Fact]
    public void SnapshotStore_should_load_the_most_recent_snapshot_matching_an_upper_sequence_number_and_timestamp_bound()
    {
        AssertLoaded(Load(Pid, Criteria(13, _metadata[2].Timestamp)), 2);
        AssertLoaded(Load(Pid, Criteria(long.MaxValue, _metadata[2].Timestamp), 13), 2);
        // The timestamp bound alone picks the youngest snapshot not younger than it.
        AssertLoaded(Load(Pid, Criteria(long.MaxValue, _metadata[3].Timestamp.AddTicks(-1))), 2);
    }

    [Fact]
    public void SnapshotStore_should_load_the_most_recent_snapshot_within_lower_bounds()
    {
        AssertLoaded(Load(Pid, Criteria(13, minSeq: 12)), 2);
        AssertLoaded(Load(Pid, Criteria(13, minSeq: 13)), 2);
        AssertLoaded(Load(Pid, Criteria(long.MaxValue, minTime: _metadata[4].Timestamp)), 4);
        AssertLoaded(Load(Pid, Criteria(long.MaxValue, _metadata[3].Timestamp, minTime: _metadata[1].Timestamp)), 3);
        Assert.Null(Load(Pid, Criteria(13, minTime: _metadata[3].Timestamp)));
        Assert.Null(Load(Pid, Criteria(12, minSeq: 13)));
    }

    [Fact]
    public void SnapshotStore_should_keep_persistence_ids_apart()
    {
        // Ids allocated after Pid sort after it in the store; loads and deletes must not cross over.
        Save("other", 3, "o-3");
        Save("other", 20, "o-20");

        AssertLoaded(Load(Pid, SnapshotSelectionCriteria.Latest), 4);
        Assert.Equal("o-20", Load("other", SnapshotSelectionCriteria.Latest)?.Snapshot);
        Assert.Equal("o-3", Load("other", Criteria(19))?.Snapshot);

        Store.Tell(new DeleteSnapshots(Pid, SnapshotSelectionCriteria.Latest), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotsSuccess>();
        Assert.Null(Load(Pid, SnapshotSelectionCriteria.Latest));
        Assert.Equal("o-20", Load("other", SnapshotSelectionCriteria.Latest)?.Snapshot);
    }

    [Fact]
    public void SnapshotStore_should_delete_a_single_snapshot_identified_by_sequence_number_in_metadata()
    {
        // No timestamp: the sequence number alone identifies the snapshot.
        var command = new DeleteSnapshot(new SnapshotMetadata(Pid, _metadata[2].SequenceNr, DateTime.MinValue));
        var sub = CreateTestProbe();
        Sys.EventStream.Subscribe(sub.Ref, typeof(DeleteSnapshot));

        Store.Tell(command, _sender.Ref);
        sub.ExpectMsg(command);
        _sender.ExpectMsg<DeleteSnapshotSuccess>();

        AssertLoaded(Load(Pid, Criteria(_metadata[2].SequenceNr)), 1);
        AssertLoaded(Load(Pid, SnapshotSelectionCriteria.Latest), 4);
    }

    [Fact]
    public void SnapshotStore_should_delete_a_single_snapshot_only_when_a_given_timestamp_matches()
    {
        Store.Tell(new DeleteSnapshot(new SnapshotMetadata(Pid, 14, _metadata[3].Timestamp.AddTicks(1))), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotSuccess>();
        AssertLoaded(Load(Pid, Criteria(14)), 3);

        Store.Tell(new DeleteSnapshot(_metadata[3]), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotSuccess>();
        AssertLoaded(Load(Pid, Criteria(14)), 2);
    }

    [Fact]
    public void SnapshotStore_should_succeed_deleting_a_snapshot_that_does_not_exist()
    {
        Store.Tell(new DeleteSnapshot(new SnapshotMetadata("unknown", 1, DateTime.MinValue)), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotSuccess>();
        Store.Tell(new DeleteSnapshots("unknown", SnapshotSelectionCriteria.Latest), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotsSuccess>();
        AssertLoaded(Load(Pid, SnapshotSelectionCriteria.Latest), 4);
    }

    [Fact]
    public void SnapshotStore_should_delete_all_snapshots_matching_upper_sequence_number_and_timestamp_bounds()
    {
        var md = _metadata[2];
        var command = new DeleteSnapshots(Pid, Criteria(md.SequenceNr, md.Timestamp));
        var sub = CreateTestProbe();
        Sys.EventStream.Subscribe(sub.Ref, typeof(DeleteSnapshots));

        Store.Tell(command, _sender.Ref);
        sub.ExpectMsg(command);
        _sender.ExpectMsg<DeleteSnapshotsSuccess>();

        Assert.Null(Load(Pid, Criteria(md.SequenceNr, md.Timestamp)));
        AssertLoaded(Load(Pid, Criteria(_metadata[3].SequenceNr, _metadata[3].Timestamp)), 3);
        AssertLoaded(Load(Pid, SnapshotSelectionCriteria.Latest), 4);
    }

    [Fact]
    public void SnapshotStore_should_not_delete_snapshots_with_non_matching_upper_timestamp_bounds()
    {
        var md = _metadata[3];
        var criteria = Criteria(md.SequenceNr, md.Timestamp.AddTicks(-1));
        Store.Tell(new DeleteSnapshots(Pid, criteria), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotsSuccess>(m => m.Criteria.Equals(criteria));

        AssertLoaded(Load(Pid, Criteria(md.SequenceNr, md.Timestamp)), 3);
        Assert.Null(Load(Pid, Criteria(13)));
    }

    [Fact]
    public void SnapshotStore_should_delete_only_snapshots_within_lower_and_upper_bounds()
    {
        Store.Tell(new DeleteSnapshots(Pid, Criteria(14, minSeq: 12)), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotsSuccess>();

        Assert.Equal(["s-1", "s-5"], Enumerable.Range(11, 5).Select(seq => Load(Pid, Criteria(seq, minSeq: seq))?.Snapshot).OfType<string>());

        Store.Tell(new DeleteSnapshots(Pid, Criteria(long.MaxValue, minTime: _metadata[4].Timestamp)), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotsSuccess>();
        AssertLoaded(Load(Pid, SnapshotSelectionCriteria.Latest), 0);
    }

    [Fact]
    public void SnapshotStore_should_save_and_overwrite_a_snapshot_with_the_same_sequence_number()
    {
        var md = _metadata[4];
        var saved = Save(Pid, md.SequenceNr, "s-5-modified");
        Assert.Equal(md.SequenceNr, saved.SequenceNr);

        var loaded = Load(Pid, Criteria(md.SequenceNr));
        Assert.NotNull(loaded);
        Assert.Equal("s-5-modified", loaded.Snapshot);
        Assert.Equal(saved, loaded.Metadata);

        // Overwriting replaced the snapshot: one delete by sequence number removes it.
        Store.Tell(new DeleteSnapshot(new SnapshotMetadata(Pid, md.SequenceNr, DateTime.MinValue)), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotSuccess>();
        AssertLoaded(Load(Pid, SnapshotSelectionCriteria.Latest), 3);
    }

    [Fact]
    public void SnapshotStore_should_save_and_load_a_20_MB_snapshot()
    {
        var big = new byte[20 * 1024 * 1024];
        new Random(42).NextBytes(big);
        Store.Tell(new SaveSnapshot(new SnapshotMetadata("big", 100, DateTime.MinValue), big), _sender.Ref);
        _sender.ExpectMsg<SaveSnapshotSuccess>(TimeSpan.FromSeconds(30));

        Store.Tell(new LoadSnapshot("big", SnapshotSelectionCriteria.Latest, long.MaxValue), _sender.Ref);
        var loaded = _sender.ExpectMsg<LoadSnapshotResult>(TimeSpan.FromSeconds(30)).Snapshot;
        Assert.NotNull(loaded);
        Assert.Equal(100, loaded.Metadata.SequenceNr);
        var bytes = Assert.IsType<byte[]>(loaded.Snapshot);
        Assert.True(big.AsSpan().SequenceEqual(bytes), "the 20 MB snapshot did not round-trip byte for byte");
    }

    [Fact]
    public void SnapshotStore_should_save_many_small_snapshots_and_select_among_them()
    {
        const int count = 500;
        for (var i = 1; i <= count; i++)
            Store.Tell(new SaveSnapshot(new SnapshotMetadata($"small-{i % 5}", i, DateTime.MinValue), $"v-{i}"), _sender.Ref);
        var acked = _sender.ReceiveN(count, TimeSpan.FromSeconds(30)).Cast<SaveSnapshotSuccess>().ToList();
        Assert.Equal(count, acked.Select(a => (a.Metadata.PersistenceId, a.Metadata.SequenceNr)).Distinct().Count());

        for (var k = 0; k < 5; k++)
        {
            var youngest = count - ((count - k) % 5);
            Assert.Equal($"v-{youngest}", Load($"small-{k}", SnapshotSelectionCriteria.Latest)?.Snapshot);
        }

        Assert.Equal("v-250", Load("small-0", Criteria(252))?.Snapshot);

        Store.Tell(new DeleteSnapshots("small-0", Criteria(400)), _sender.Ref);
        _sender.ExpectMsg<DeleteSnapshotsSuccess>();
        Assert.Null(Load("small-0", Criteria(400)));
        Assert.Equal("v-405", Load("small-0", Criteria(405))?.Snapshot);
        Assert.Equal("v-396", Load("small-1", Criteria(400))?.Snapshot);
    }
}
