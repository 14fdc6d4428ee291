using System.Text.Json;
using Runner.Actors.Protocol;
using Runner.Actors.Replay;
using Runner.Actors.Serialization;
using Runner.Sagas;
using Runner.Sagas.Samples;
using Xunit;

namespace Runner.Actors.Tests;

/// <summary>The dry run on paper, per replay mode, with the sample order saga (no actors).</summary>
public sealed class ReplaySimulationSpec
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly OrderSaga _saga = new(TimeSpan.FromMinutes(15));

    /// <summary>o-1 as the store holds it: placed (stock awaited), both of its events marked.</summary>
    private static readonly ReplayBasis Placed = new("o-1", new OrderState(OrderStatus.AwaitingStock, "o-1", 42.5m), false, ["id:m-1", "id:m-0"]);

    [Fact]
    public void ReplaySimulation_should_suppress_events_the_instance_has_markers_for_in_checkpoint_only()
    {
        var simulation = Simulation(ReplayModes.CheckpointOnly);
        Assert.True(simulation.NeedsBasis);
        simulation.Seed(Placed);
        Assert.True(simulation.Knows("o-1"));

        simulation.Apply(OrderPlaced("o-1", "m-1", 1), Now);
        simulation.Apply(StockReserved("o-1", "m-2", 2), Now); // no marker: applies onto the current state

        var report = simulation.Report();
        Assert.Equal(new ReplayCounts(2, 1, 1, 0, 0, 1), report.Counts);
        var suppressed = Assert.Single(report.Suppressed);
        Assert.Equal(new DryRunEvent(1, "OrderPlaced", "o-1", "id:m-1"), suppressed);
        Assert.Equal("ChargePayment", Assert.Single(report.Commands).CommandType);
        Assert.Equal(1, report.Instances);
        Assert.False(report.Truncated);
    }

    [Fact]
    public void ReplaySimulation_should_suppress_events_without_a_msg_id_by_their_stream_sequence_in_checkpoint_only()
    {
        var simulation = Simulation(ReplayModes.CheckpointOnly);
        simulation.Seed(Placed with { Dedupe = ["seq:7"] });
        simulation.Apply(OrderPlaced("o-1", null, 7), Now);
        Assert.Equal("seq:7", Assert.Single(simulation.Report().Suppressed).Detail);
    }

    [Fact]
    public void ReplaySimulation_should_apply_events_onto_the_current_state_in_checkpoint_and_dedupe()
    {
        var simulation = Simulation(ReplayModes.CheckpointAndDedupe);
        Assert.True(simulation.NeedsBasis);
        simulation.Seed(Placed);

        simulation.Apply(OrderPlaced("o-1", "m-1", 1), Now); // decided again: the placed order does not accept it
        simulation.Apply(StockReserved("o-1", "m-2", 2), Now);

        var report = simulation.Report();
        Assert.Equal(new ReplayCounts(2, 1, 0, 1, 0, 1), report.Counts);
        Assert.Empty(report.Suppressed);
        Assert.Equal("not accepted: OrderPlaced while the order is AwaitingStock", Assert.Single(report.Ignored).Detail);
        var command = Assert.Single(report.Commands);
        Assert.Equal((2UL, "StockReserved", "o-1", "ChargePayment"), (command.StreamSeq, command.EventType, command.CorrelationId, command.CommandType));
        Assert.Contains("\"orderId\":\"o-1\"", command.Payload, StringComparison.Ordinal);
        Assert.Contains("42.5", command.Payload, StringComparison.Ordinal); // the amount of the seeded state
    }

    [Fact]
    public void ReplaySimulation_should_mark_events_it_applies_so_a_second_delivery_is_suppressed()
    {
        var simulation = Simulation(ReplayModes.CheckpointAndDedupe);
        simulation.Seed(Placed);
        simulation.Apply(StockReserved("o-1", "m-2", 2), Now);
        simulation.Apply(StockReserved("o-1", "m-2", 3), Now);
        var report = simulation.Report();
        Assert.Equal(new ReplayCounts(2, 1, 1, 0, 0, 1), report.Counts);
        Assert.Equal("id:m-2", Assert.Single(report.Suppressed).Detail);
    }

    [Fact]
    public void ReplaySimulation_should_re_emit_the_commands_from_the_initial_state_in_full_reset()
    {
        var simulation = Simulation(ReplayModes.FullReset);
        Assert.False(simulation.NeedsBasis);
        // Whatever the instance holds now (here: completed, with markers) is not what a full reset starts from.
        simulation.Seed(new ReplayBasis("o-1", new OrderState(OrderStatus.Shipped, "o-1", 42.5m), true, ["id:m-1", "id:m-2"]));

        simulation.Apply(OrderPlaced("o-1", "m-1", 1), Now);
        simulation.Apply(StockReserved("o-1", "m-2", 2), Now);
        simulation.Apply(OrderPlaced("o-2", "m-3", 3), Now); // not seeded: a new instance

        var report = simulation.Report();
        Assert.Equal(new ReplayCounts(3, 3, 0, 0, 0, 3), report.Counts);
        Assert.Equal(["ReserveStock", "ChargePayment", "ReserveStock"], report.Commands.Select(c => c.CommandType));
        Assert.Equal(["o-1", "o-1", "o-2"], report.Commands.Select(c => c.CorrelationId));
        Assert.Equal([1UL, 2UL, 3UL], report.Commands.Select(c => c.StreamSeq));
        Assert.Equal(2, report.Instances);
        Assert.Empty(report.Suppressed);
        Assert.Empty(report.Ignored);
    }

    [Fact]
    public void ReplaySimulation_should_dead_letter_a_malformed_payload_with_its_reason()
    {
        var simulation = Simulation(ReplayModes.FullReset);
        simulation.Apply(Incoming("OrderPlaced", "{not json"u8.ToArray(), "m-bad", 4), Now);
        simulation.Apply(Incoming("OrderPlaced", Json(new { orderId = "", amount = 1m }), "m-nocorr", 5), Now);

        var report = simulation.Report();
        Assert.Equal(new ReplayCounts(2, 0, 0, 0, 2, 0), report.Counts);
        Assert.Equal(2, report.DeadLettered.Length);
        var malformed = report.DeadLettered[0];
        Assert.Equal((4UL, "OrderPlaced", (string?)null), (malformed.StreamSeq, malformed.EventType, malformed.CorrelationId));
        var reason = ((ParseResult.Rejected)_saga.Parse(Incoming("OrderPlaced", "{not json"u8.ToArray(), "m-bad", 4))).Reason;
        Assert.Equal($"{RejectionKind.MalformedPayload}: {reason}", malformed.Detail);
        Assert.StartsWith($"{RejectionKind.MissingCorrelation}: ", report.DeadLettered[1].Detail, StringComparison.Ordinal);
        Assert.Equal(0, report.Instances);
        Assert.Empty(report.Commands);
    }

    [Fact]
    public void ReplaySimulation_should_ignore_events_for_a_completed_instance()
    {
        var simulation = Simulation(ReplayModes.CheckpointAndDedupe);
        simulation.Seed(new ReplayBasis("o-1", new OrderState(OrderStatus.Shipped, "o-1", 42.5m), true, ["id:m-1"]));
        simulation.Apply(OrderPlaced("o-1", "m-1", 1), Now);

        var report = simulation.Report();
        Assert.Equal(new ReplayCounts(1, 0, 0, 1, 0, 0), report.Counts);
        Assert.Equal(new DryRunEvent(1, "OrderPlaced", "o-1", "instance completed"), Assert.Single(report.Ignored));
    }

    [Fact]
    public void ReplaySimulation_should_check_dedupe_before_completion_in_checkpoint_only()
    {
        var simulation = Simulation(ReplayModes.CheckpointOnly);
        simulation.Seed(new ReplayBasis("o-1", new OrderState(OrderStatus.Shipped, "o-1", 42.5m), true, ["id:m-1"]));
        simulation.Apply(OrderPlaced("o-1", "m-1", 1), Now); // marked: a duplicate, as the instance itself would say
        simulation.Apply(OrderPlaced("o-1", "m-9", 2), Now); // not marked: ignored, the instance is completed

        var report = simulation.Report();
        Assert.Equal(new ReplayCounts(2, 0, 1, 1, 0, 0), report.Counts);
    }

    [Fact]
    public void ReplaySimulation_should_ignore_events_after_a_decision_that_completes_the_instance()
    {
        var simulation = Simulation(ReplayModes.FullReset);
        simulation.Apply(OrderPlaced("o-1", "m-1", 1), Now);
        simulation.Apply(StockReserved("o-1", "m-2", 2), Now);
        simulation.Apply(Incoming("PaymentCaptured", Json(new { orderId = "o-1" }), "m-3", 3), Now);
        simulation.Apply(StockReserved("o-1", "m-4", 4), Now);

        var report = simulation.Report();
        Assert.Equal(new ReplayCounts(4, 3, 0, 1, 0, 3), report.Counts);
        Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder"], report.Commands.Select(c => c.CommandType));
        Assert.Equal(4UL, Assert.Single(report.Ignored).StreamSeq);
    }

    [Fact]
    public void ReplaySimulation_should_cap_its_lists_at_Kept_and_say_so()
    {
        var commands = Simulation(ReplayModes.FullReset);
        for (var i = 1; i <= ReplaySimulation.Kept; i++) commands.Apply(OrderPlaced($"o-{i}", $"m-{i}", (ulong)i), Now);
        Assert.False(commands.Report().Truncated); // exactly Kept entries: nothing cut
        commands.Apply(OrderPlaced("o-last", "m-last", ReplaySimulation.Kept + 1), Now);
        var report = commands.Report();
        Assert.True(report.Truncated);
        Assert.Equal(ReplaySimulation.Kept, report.Commands.Length);
        Assert.Equal(ReplaySimulation.Kept + 1, report.Counts.Commands);
        Assert.Equal(ReplaySimulation.Kept + 1, report.Instances);
        Assert.Equal("o-1", report.Commands[0].CorrelationId); // the first ones are kept

        var parked = Simulation(ReplayModes.FullReset);
        for (var i = 1; i <= ReplaySimulation.Kept + 5; i++) parked.Apply(Incoming("OrderPlaced", "{"u8.ToArray(), $"m-{i}", (ulong)i), Now);
        var parkedReport = parked.Report();
        Assert.True(parkedReport.Truncated);
        Assert.Equal(ReplaySimulation.Kept, parkedReport.DeadLettered.Length);
        Assert.Equal(ReplaySimulation.Kept + 5, parkedReport.Counts.DeadLettered);

        var duplicates = Simulation(ReplayModes.CheckpointOnly);
        duplicates.Seed(Placed with { Dedupe = ["id:m-1"] });
        for (var i = 1; i <= ReplaySimulation.Kept + 1; i++) duplicates.Apply(OrderPlaced("o-1", "m-1", (ulong)i), Now);
        var duplicatesReport = duplicates.Report();
        Assert.True(duplicatesReport.Truncated);
        Assert.Equal(ReplaySimulation.Kept, duplicatesReport.Suppressed.Length);
        Assert.Equal(ReplaySimulation.Kept + 1, duplicatesReport.Counts.Duplicates);
    }

    private ReplaySimulation Simulation(string mode) => new(_saga, mode, 1000);

    private static IncomingEvent OrderPlaced(string order, string? msgId, ulong seq) =>
        Incoming("OrderPlaced", Json(new { orderId = order, amount = 42.5m }), msgId, seq);

    private static IncomingEvent StockReserved(string order, string msgId, ulong seq) =>
        Incoming("StockReserved", Json(new { orderId = order }), msgId, seq);

    private static IncomingEvent Incoming(string type, byte[] payload, string? msgId, ulong seq) =>
        new("acme", type, payload, null, msgId, seq, Now);

    private static byte[] Json(object payload) => JsonSerializer.SerializeToUtf8Bytes(payload, Web);
}
