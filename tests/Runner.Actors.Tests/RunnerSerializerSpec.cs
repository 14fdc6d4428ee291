using System.Collections.Immutable;
using Akka.Serialization;
using Runner.Actors.Serialization;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

public sealed class RunnerSerializerSpec(ITestOutputHelper output) : ActorSpecBase(output)
{
    public static TheoryData<IRunnerStored> Samples() => new()
    {
        new SagaApplied("id:m-1", 42, "OrderPlaced", [1, 2, 3],
            [new OutboxEntry("acme:order:o-1:1:0", "ReserveStock", "{\"orderId\":\"o-1\"}"u8.ToArray(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")],
            [new TimerEntry("payment-timeout", new DateTimeOffset(2026, 1, 1, 12, 15, 0, TimeSpan.Zero), false)],
            ["old"], false, new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)),
        new SagaApplied("timer:t:1", 0, "timer:t", null, [], [], [], true, DateTimeOffset.UnixEpoch),
        new OutboxDelivered(["a", "b"]),
        new OutboxOverdue(true, At),
        new OutboxOverdue(false, At),
        new SagaSnapshot([9], [], [new TimerEntry("x", DateTimeOffset.UnixEpoch, true)], ["id:1", "seq:2"], true, DateTimeOffset.UnixEpoch, 7),
        new TimersIndexed("order", "o-1", [new TimerEntry("payment-timeout", DateTimeOffset.UnixEpoch, false)]),
        new ScheduleSnapshot([new TimersIndexed("order", "o-2", [])]),
        new ScheduleSnapshot([new TimersIndexed("order", "o-2", [])], 17, ["order|o-3"]),
        new CheckpointAdvanced("order", 1234),
        new CheckpointSnapshot(ImmutableDictionary<string, ulong>.Empty.Add("order", 5)),
        new CheckpointSnapshot(ImmutableDictionary<string, ulong>.Empty.Add("order", 9).Add("payment", 77),
        [
            new ReplayRecord("acme.payment.20260101T120000-00ef", "payment", "checkpoint_only", 3, 80, At, ReplayStage.Started),
            new ReplayRecord("acme.order.20260101T120000-00ab", "order", "full_reset", 10, 120, At, ReplayStage.Finished, 4, At.AddMinutes(3),
                new ReplayCounts(111, 100, 5, 3, 3, 250)),
        ]),
        new CheckpointSnapshot(ImmutableDictionary<string, ulong>.Empty, []),
        new SagaReset("acme.order.20260101T120000-00ab", At),
        new DedupeForgotten("acme.order.20260101T120000-00ab", At),
        new ReplayStarted("acme.order.20260101T120000-00ab", "order", "full_reset", 10, 120, At),
        new ReplayRewound("acme.order.20260101T120000-00ab", "order", 9, 4, At),
        new ReplayFinished("acme.order.20260101T120000-00ab", new ReplayCounts(111, 100, 5, 3, 3, 250), At),
        new ReplayFinished("acme.order.20260101T120000-00ac", ReplayCounts.Zero, DateTimeOffset.UnixEpoch),
    };

    private static readonly DateTimeOffset At = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(Samples))]
    public void RunnerSerializer_should_round_trip_every_stored_type(IRunnerStored value)
    {
        var serializer = Sys.Serialization.FindSerializerFor(value);
        Assert.IsType<RunnerSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, value);
        Assert.EndsWith(".v1", manifest, StringComparison.Ordinal);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(value), serializer.Identifier, manifest);
        // Records with arrays compare by reference; compare their JSON instead.
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(value, value.GetType()), System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
    }

    [Fact]
    public void RunnerSerializer_should_give_every_stored_type_its_own_manifest()
    {
        var types = typeof(IRunnerStored).Assembly.GetTypes().Where(t => typeof(IRunnerStored).IsAssignableFrom(t) && !t.IsInterface).ToList();
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(SagaApplied));
        var manifests = types.Select(t => serializer.Manifest(System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(t))).ToList();
        Assert.Equal(manifests.Count, manifests.Distinct(StringComparer.Ordinal).Count());
        var sampled = ((IEnumerable<object[]>)Samples()).Select(row => row[0].GetType()).ToHashSet();
        Assert.All(types, t => Assert.Contains(t, sampled)); // each has a round-trip sample above
    }

    [Fact]
    public void RunnerSerializer_should_read_a_schedule_snapshot_written_before_it_held_overdue_outboxes()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(ScheduleSnapshot));
        var old = Assert.IsType<ScheduleSnapshot>(serializer.FromBinary("""{"instances":[],"offset":42}"""u8.ToArray(), "schedule-snapshot.v1"));
        Assert.Equal(42, old.Offset);
        Assert.Null(old.OutboxPending);
    }

    [Fact]
    public void RunnerSerializer_should_read_an_outbox_entry_written_before_it_held_a_trace_parent()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(SagaApplied));
        var json = """
            {"dedupeKey":"m-1","streamSequence":3,"trigger":"OrderPlaced","state":null,
            "outbox":[{"msgId":"acme:order:o-1:1:0","commandType":"ReserveStock","payload":"e30="}],
            "scheduled":[],"cancelled":[],"completed":false,"at":"2026-01-01T12:00:00+00:00"}
            """u8.ToArray();
        var applied = Assert.IsType<SagaApplied>(serializer.FromBinary(json, "saga-applied.v1"));
        var entry = Assert.Single(applied.Outbox);
        Assert.Equal("ReserveStock", entry.CommandType);
        Assert.Null(entry.TraceParent);
    }

    [Fact]
    public void RunnerSerializer_should_read_a_checkpoint_snapshot_written_before_it_held_replays()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(CheckpointSnapshot));
        var old = serializer.FromBinary("""{"checkpoints":{"order":5,"payment":12}}"""u8.ToArray(), "checkpoint-snapshot.v1");
        var snapshot = Assert.IsType<CheckpointSnapshot>(old);
        Assert.Equal(5UL, snapshot.Checkpoints["order"]);
        Assert.Equal(12UL, snapshot.Checkpoints["payment"]);
        Assert.Null(snapshot.Replays);
    }

    [Fact]
    public void RunnerSerializer_should_read_replay_records_written_without_their_optional_members()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(CheckpointSnapshot));
        var json = """
            {"checkpoints":{},"replays":[{"id":"acme.order.1","saga":"order","mode":"full_reset","fromSeq":1,"targetSeq":9,
            "startedAt":"2026-01-01T12:00:00+00:00","stage":"started"}]}
            """u8.ToArray();
        var snapshot = Assert.IsType<CheckpointSnapshot>(serializer.FromBinary(json, "checkpoint-snapshot.v1"));
        var record = Assert.Single(snapshot.Replays!.Value);
        Assert.Equal(new ReplayRecord("acme.order.1", "order", "full_reset", 1, 9, At, ReplayStage.Started), record);
    }

    [Fact]
    public void RunnerSerializer_should_refuse_an_unknown_manifest_with_its_name()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(SagaApplied));
        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "nope.v9"));
        Assert.Contains("nope.v9", e.Message, StringComparison.Ordinal);
    }
}
