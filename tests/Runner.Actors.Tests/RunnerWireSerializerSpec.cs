using Akka.Serialization;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// The messages between the admin endpoint of one node and the tenant it asks, which may run on another: each request
/// and reply (and the envelope that carries a request through the tenant shard region) goes through
/// <see cref="RunnerWireSerializer"/> with its own versioned manifest and comes back equal.
/// </summary>
public sealed class RunnerWireSerializerSpec(ITestOutputHelper output) : ActorSpecBase(output)
{
    private static readonly DateTimeOffset At = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly SagaInstanceSummary Instance = new("order", "o-1|x/y", "AwaitingPayment", true, At.AddHours(1), 7,
        """{"status":"AwaitingPayment","orderId":"o-1","amount":42.5}""", [new PendingCommand("acme:order:o-1:7:0", "ChargePayment")],
        [new TimerView("payment-timeout", At.AddMinutes(15), true)], 3);

    private static readonly ReplayStatus Running = new("acme.order.20260101T120000-00ab", "acme", "order", ReplayModes.FullReset, false, 10, 120,
        ReplayStage.Rewound, 59, "node-a", At, null, 4, new ReplayCounts(50, 40, 5, 3, 2, 80), "resetting 4 instance(s)");

    private static readonly DryRunReport Report = new(new ReplayCounts(3, 1, 1, 0, 1, 2), 2,
        [new DryRunCommand(11, "OrderPlaced", "o-1", "ReserveStock", """{"orderId":"o-1"}""")],
        [new DryRunEvent(10, "OrderPlaced", "o-1", "id:m-1")], [], [new DryRunEvent(13, "Junk", null, "MalformedPayload: bad")], true);

    public static TheoryData<IRunnerWire> Samples() => new()
    {
        new StartReplay("order", ReplayModes.CheckpointAndDedupe, 1200, true),
        new StartReplay("order", ReplayModes.CheckpointOnly, null, false),
        new GetReplay("acme.order.20260101T120000-00ab"),
        ListReplays.Instance,
        new ListSagas("order", "AwaitingPayment", 40, 20),
        new ListSagas(null, null, 0, 50),
        new ShowSaga("order", "o-1/with/slashes", 200),
        ListTimers.Instance,
        AdminRefusal.Invalid("from_seq 9 is beyond the end of the events stream"),
        AdminRefusal.NotFound("no saga named 'x' runs here"),
        AdminRefusal.Conflict("tenant acme is handing off"),
        AdminRefusal.Unavailable("this node does not consume from NATS"),
        AdminRefusal.Failed("the query failed: boom"),
        new ReplayAccepted(Running with { Stage = ReplayStage.Started, Position = null }),
        Running,
        Running with { DryRun = true, Stage = ReplayStage.Finished, FinishedAt = At.AddMinutes(1), Report = Report, Detail = null },
        Running with { DryRun = true, Stage = ReplayStage.Failed, Counts = ReplayCounts.Zero },
        new ReplayList("acme", "node-a", [new SagaCheckpoint("order", 120), new SagaCheckpoint("payment", 7)], [Running]),
        new ReplayList("acme", "node-a", [], []),
        new SagaPage("acme", "order", "AwaitingPayment", 40, 20, null, true, [Instance, Instance with { StateJson = null, Status = null }]),
        new SagaPage("acme", null, null, 0, 50, 0, false, []),
        new SagaDetail(Instance, 12,
        [
            new HistoryApplied(1, At, "OrderPlaced", "id:m-1", 42, true, [new PendingCommand("acme:order:o-1:1:0", "ReserveStock")],
                [new TimerView("t1", At.AddMinutes(1), false)], ["old"], false),
            new HistoryApplied(2, At, "timer:t", "timer:t:1", null, false, [], [], [], true),
            new HistoryDelivered(3, ["a", "b"]),
            new HistoryOutboxOverdue(4, true, At),
            new HistoryReset(5, At, "acme.order.1"),
            new HistoryDedupeForgotten(6, At, "acme.order.2"),
            new HistoryOther(7, "CheckpointAdvanced"),
            new HistoryOther(8, null),
        ]),
        new TimerList("acme", 1001, At, true, [new TenantTimer("order", "o-1", "payment-timeout", At, false)]),
        new TimerList("acme", 0, null, false, []),
        new TenantEnvelope("acme", new ShowSaga("order", "o-1", 50)),
        new TenantEnvelope("acme", ListTimers.Instance),
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void RunnerWireSerializer_should_round_trip_every_admin_message(IRunnerWire value)
    {
        var (back, manifest) = RoundTrip(value);
        Assert.EndsWith(".v1", manifest, StringComparison.Ordinal);
        Assert.IsType(value.GetType(), back);
        // Records holding arrays compare them by reference: compare the structure instead, and the bytes of a second trip.
        Assert.Equivalent(value, back, strict: true);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(value);
        Assert.Equal(serializer.ToBinary(value), serializer.ToBinary(back));
    }

    [Fact]
    public void RunnerWireSerializer_should_keep_the_kind_of_every_history_entry()
    {
        var detail = (SagaDetail)RoundTrip(new SagaDetail(Instance, 3,
            [new HistoryDelivered(1, ["a"]), new HistoryOutboxOverdue(2, false, At), new HistoryOther(3, "X")])).Back;
        Assert.Collection(detail.History,
            e => Assert.Equal(["a"], Assert.IsType<HistoryDelivered>(e).MsgIds.AsEnumerable()),
            e => Assert.False(Assert.IsType<HistoryOutboxOverdue>(e).Pending),
            e => Assert.Equal("X", Assert.IsType<HistoryOther>(e).Type));
    }

    [Fact]
    public void RunnerWireSerializer_should_carry_an_envelope_whose_message_another_serializer_writes()
    {
        // Tenant starts travel in the same envelope; their message keeps the serializer Akka binds to it.
        var (back, _) = RoundTrip(new TenantEnvelope("acme", TenantActor.Start.Instance));
        var envelope = Assert.IsType<TenantEnvelope>(back);
        Assert.Equal("acme", envelope.Tenant);
        Assert.IsType<TenantActor.Start>(envelope.Message);
        Assert.IsNotType<RunnerWireSerializer>(Sys.Serialization.FindSerializerFor(TenantActor.Start.Instance));
    }

    [Fact]
    public void RunnerWireSerializer_should_send_enums_by_name()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(Running);
        var json = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(Running with { Stage = ReplayStage.Finishing }));
        Assert.Contains("\"stage\":\"finishing\"", json, StringComparison.Ordinal);
        var refusal = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(AdminRefusal.Unavailable("x")));
        Assert.Contains("\"kind\":\"Unavailable\"", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void RunnerWireSerializer_should_give_every_wire_type_its_own_manifest_and_a_sample()
    {
        var types = typeof(IRunnerWire).Assembly.GetTypes().Where(t => typeof(IRunnerWire).IsAssignableFrom(t) && !t.IsInterface).ToList();
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(GetReplay));
        Assert.IsType<RunnerWireSerializer>(serializer);
        var manifests = types.Select(t => serializer.Manifest(System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(t))).ToList();
        Assert.Equal(manifests.Count, manifests.Distinct(StringComparer.Ordinal).Count());
        var sampled = ((IEnumerable<object[]>)Samples()).Select(row => row[0].GetType()).ToHashSet();
        Assert.All(types, t => Assert.Contains(t, sampled));
    }

    [Fact]
    public void RunnerWireSerializer_should_refuse_an_unknown_manifest_with_its_name()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(GetReplay));
        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "admin-nope.v9"));
        Assert.Contains("admin-nope.v9", e.Message, StringComparison.Ordinal);
    }

    private (object Back, string Manifest) RoundTrip(object value)
    {
        var serializer = Sys.Serialization.FindSerializerFor(value);
        Assert.IsType<RunnerWireSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, value);
        return (Sys.Serialization.Deserialize(serializer.ToBinary(value), serializer.Identifier, manifest), manifest);
    }
}
