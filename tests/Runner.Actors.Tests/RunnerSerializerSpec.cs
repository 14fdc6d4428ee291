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
            [new OutboxEntry("acme:order:o-1:1:0", "ReserveStock", "{\"orderId\":\"o-1\"}"u8.ToArray())],
            [new TimerEntry("payment-timeout", new DateTimeOffset(2026, 1, 1, 12, 15, 0, TimeSpan.Zero), false)],
            ["old"], false, new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)),
        new SagaApplied("timer:t:1", 0, "timer:t", null, [], [], [], true, DateTimeOffset.UnixEpoch),
        new OutboxDelivered(["a", "b"]),
        new SagaSnapshot([9], [], [new TimerEntry("x", DateTimeOffset.UnixEpoch, true)], ["id:1", "seq:2"], true, DateTimeOffset.UnixEpoch, 7),
        new TimersIndexed("order", "o-1", [new TimerEntry("payment-timeout", DateTimeOffset.UnixEpoch, false)]),
        new ScheduleSnapshot([new TimersIndexed("order", "o-2", [])]),
        new CheckpointAdvanced("order", 1234),
        new CheckpointSnapshot(ImmutableDictionary<string, ulong>.Empty.Add("order", 5)),
    };

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
    public void RunnerSerializer_should_refuse_an_unknown_manifest_with_its_name()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(SagaApplied));
        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "nope.v9"));
        Assert.Contains("nope.v9", e.Message, StringComparison.Ordinal);
    }
}
