using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Persistence.Lmdb.Query;
using Runner.Sagas.Samples;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// What a replay does to one instance (<see cref="ResetInstance"/>): a full reset back to the initial state, or
/// forgetting the dedupe markers only. Snapshots every 3 events, so a reset also meets a snapshot taken before it.
/// </summary>
public sealed class SagaResetSpec(ITestOutputHelper output) : ActorSpecBase(output, "runner.runtime.snapshot-every = 3\nrunner.runtime.outbox-ack-after = 1h")
{
    private const string ReplayId = "acme.order.20260101T120000-00ab";
    private static readonly string PersistenceId = Runner.Placement.TenantKeys.Saga(Tenant, OrderSaga.DefinitionName, "o-1");

    [Fact]
    public void SagaActor_should_go_back_to_its_initial_state_on_a_full_reset()
    {
        var tenant = StartTenant();
        PlaceAndReserve(tenant);
        var before = View(tenant);
        Assert.Equal(4, before.SequenceNr); // 1 OrderPlaced, 2 delivered, 3 StockReserved (snapshot), 4 delivered
        Assert.Single(before.Timers);
        Assert.Equal(2, before.DedupeMarkers);

        tenant.Tell(new ResetInstance(OrderSaga.DefinitionName, "o-1", ReplayId, Full: true));
        ExpectMsg<InstanceReset>(r => Assert.Equal("o-1", r.CorrelationId));

        var after = View(tenant);
        Assert.Equal(before.SequenceNr + 1, after.SequenceNr);
        Assert.Equal(OrderState.Initial, after.State);
        Assert.Equal(OrderStatus.New, ((OrderState)after.State).Status);
        Assert.Empty(after.Timers);
        Assert.Empty(after.OutboxPending);
        Assert.Equal(0, after.DedupeMarkers);
        Assert.False(after.Completed);
        Assert.Null(after.CompletedAt);
    }

    [Fact]
    public void SagaActor_should_apply_a_redelivered_event_again_after_a_full_reset_with_a_new_msg_id()
    {
        var tenant = StartTenant();
        PlaceAndReserve(tenant);
        Reset(tenant, full: true); // sequence number 5

        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Applied>(a =>
        {
            Assert.Equal(6, a.SequenceNr);
            Assert.Equal(1, a.Commands);
        });

        Assert.Equal(["ReserveStock", "ChargePayment", "ReserveStock"], Transport.CommandTypes("o-1"));
        var ids = Transport.Commands.Where(c => c.Correlation == "o-1").Select(c => c.MsgId).ToList();
        Assert.Equal(["acme:order:o-1:1:0", "acme:order:o-1:3:0", "acme:order:o-1:6:0"], ids);
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count()); // JetStream would not de-duplicate it away

        var view = View(tenant);
        Assert.Equal(OrderStatus.AwaitingStock, ((OrderState)view.State).Status);
        Assert.Equal(1, view.DedupeMarkers);
        var timer = Assert.Single(view.Timers);
        Assert.Equal(OrderSaga.PaymentTimeoutTimer, timer.Name);

        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Duplicate>(d => Assert.Equal("id:m-1", d.DedupeKey)); // the new marker is there again
    }

    [Fact]
    public void SagaActor_should_recover_a_reset_instance_as_it_was_after_a_restart_of_the_tenant()
    {
        var tenant = StartTenant("t-reset-1");
        PlaceAndReserve(tenant);
        Reset(tenant, full: true);
        var reset = View(tenant);
        StopAndWait(tenant);

        var again = StartTenant("t-reset-2");
        AssertSameView(reset, View(again));

        // The reset is the first event of the new history: what follows it recovers on top of the initial state.
        again.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Applied>(a => Assert.Equal(6, a.SequenceNr)); // 6 is also a snapshot (snapshot-every = 3)
        var applied = View(again);
        StopAndWait(again);

        var third = StartTenant("t-reset-3");
        AssertSameView(applied, View(third));
        third.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Duplicate>();
    }

    [Fact]
    public async Task SagaActor_should_delete_its_journal_before_a_full_reset()
    {
        var tenant = StartTenant();
        PlaceAndReserve(tenant);
        Reset(tenant, full: true);

        await AwaitAssertAsync(async () =>
        {
            var events = await Journal(PersistenceId);
            var first = Assert.Single(events);
            Assert.Equal(5, first.SequenceNr);
            var reset = Assert.IsType<SagaReset>(first.Event);
            Assert.Equal(ReplayId, reset.ReplayId);
            Assert.Equal(Clock.Now, reset.At);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Applied>();
        await AwaitAssertAsync(async () =>
        {
            var events = await Journal(PersistenceId);
            Assert.Equal([5L, 6L, 7L], events.Select(e => e.SequenceNr));
            Assert.IsType<SagaReset>(events[0].Event);
            Assert.IsType<SagaApplied>(events[1].Event);
            Assert.IsType<OutboxDelivered>(events[2].Event);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void SagaActor_should_accept_events_again_after_a_full_reset_of_a_completed_instance()
    {
        var tenant = StartTenant();
        PlaceAndReserve(tenant);
        tenant.Tell(Event("PaymentCaptured", new { orderId = "o-1" }, "m-3"));
        ExpectMsg<Applied>(a => Assert.Equal(5, a.SequenceNr));
        Assert.True(View(tenant).Completed);
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 1m }, "m-late"));
        ExpectMsg<IgnoredCompleted>();

        Reset(tenant, full: true); // 7 (6 is the delivery of ShipOrder)
        var view = View(tenant);
        Assert.Equal(7, view.SequenceNr);
        Assert.False(view.Completed);
        Assert.Null(view.CompletedAt);
        Assert.Equal(OrderState.Initial, view.State);

        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Applied>(a =>
        {
            Assert.Equal(8, a.SequenceNr);
            Assert.Equal(1, a.Commands);
        });
        tenant.Tell(Event("StockReserved", new { orderId = "o-1" }, "m-2"));
        ExpectMsg<Applied>(a => Assert.Equal(1, a.Commands));
        tenant.Tell(Event("PaymentCaptured", new { orderId = "o-1" }, "m-3"));
        ExpectMsg<Applied>(a => Assert.Equal(1, a.Commands));
        Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder", "ReserveStock", "ChargePayment", "ShipOrder"], Transport.CommandTypes("o-1"));
        Assert.True(View(tenant).Completed);
    }

    /// <summary>
    /// The recording transport holds a publish inside <c>PublishCommandAsync</c>: an entry handed to it before the reset
    /// is already on its way (as a publish waiting for NATS would be) and goes out once NATS is back, under its old
    /// Nats-Msg-Id. What the reset drops is the rest of the outbox: nothing of it is published, then or after a restart.
    /// </summary>
    [Fact]
    public void SagaActor_should_drop_outbox_entries_pending_at_a_full_reset()
    {
        var tenant = StartTenant("t-outbox-1");
        View(tenant); // the tenant runs: what follows reaches the instance in the order sent
        Transport.Hold();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1")); // 1: ReserveStock, handed to the transport
        tenant.Tell(Event("StockReserved", new { orderId = "o-1" }, "m-2")); // 2: ChargePayment, waits behind it in the outbox
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // nothing acknowledged, so no answer yet
        var held = View(tenant);
        Assert.Equal(2, held.OutboxPending.Length);

        tenant.Tell(new ResetInstance(OrderSaga.DefinitionName, "o-1", ReplayId, Full: true));
        // The outbox is empty now: the events waiting for their commands are answered, then the reset.
        ExpectMsg<Applied>(a => Assert.Equal(1, a.SequenceNr));
        ExpectMsg<Applied>(a => Assert.Equal(2, a.SequenceNr));
        ExpectMsg<InstanceReset>();
        var reset = View(tenant);
        Assert.Empty(reset.OutboxPending);
        Assert.Equal(3, reset.SequenceNr);

        Transport.Release();
        AwaitAssert(() => Assert.Equal(["ReserveStock"], Transport.CommandTypes("o-1")), TimeSpan.FromSeconds(10));
        Assert.Equal("acme:order:o-1:1:0", Assert.Single(Transport.Commands).MsgId);
        StopAndWait(tenant);

        var again = StartTenant("t-outbox-2");
        var recovered = View(again);
        Assert.Empty(recovered.OutboxPending);
        Assert.Equal(3, recovered.SequenceNr); // no delivery marker was written for the entry the reset dropped
        // Anything recovered into the outbox would go out before the commands of a new event (one publish at a time).
        again.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Applied>(a => Assert.Equal(4, a.SequenceNr));
        Assert.Equal(["acme:order:o-1:1:0", "acme:order:o-1:4:0"], Transport.Commands.Select(c => c.MsgId));
        Assert.DoesNotContain("ChargePayment", Transport.CommandTypes("o-1"));
    }

    [Fact]
    public void SagaActor_should_forget_its_dedupe_markers_but_keep_state_and_timers()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Applied>(a => Assert.Equal(1, a.Commands));
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Duplicate>(d => Assert.Equal("id:m-1", d.DedupeKey));
        var before = View(tenant);
        Assert.Equal(2, before.SequenceNr); // 1 OrderPlaced, 2 delivered

        Reset(tenant, full: false);
        var forgotten = View(tenant);
        Assert.Equal(before.SequenceNr + 1, forgotten.SequenceNr);
        Assert.Equal(0, forgotten.DedupeMarkers);
        Assert.Equal(before.State, forgotten.State);
        Assert.Equal(OrderStatus.AwaitingStock, ((OrderState)forgotten.State).Status);
        Assert.Equal(before.Timers.ToList(), forgotten.Timers.ToList());
        Assert.False(forgotten.Completed);

        // The state was kept: the next event goes on from it.
        tenant.Tell(Event("StockReserved", new { orderId = "o-1" }, "m-2"));
        ExpectMsg<Applied>(a =>
        {
            Assert.Equal(4, a.SequenceNr);
            Assert.Equal(1, a.Commands);
        });
        Assert.Equal(["ReserveStock", "ChargePayment"], Transport.CommandTypes("o-1"));
        Assert.Equal("acme:order:o-1:4:0", Transport.Commands.Last().MsgId);
        // The marker of m-1 is gone: it is decided again, onto the current state, which does not accept it.
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<NotAccepted>(n => Assert.Equal("OrderPlaced while the order is AwaitingPayment", n.Reason));
        Assert.Equal(OrderStatus.AwaitingPayment, ((OrderState)View(tenant).State).Status);
    }

    [Fact]
    public void SagaActor_should_keep_forgotten_dedupe_markers_forgotten_after_a_restart()
    {
        var tenant = StartTenant("t-forget-1");
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Applied>();
        Reset(tenant, full: false);
        var forgotten = View(tenant);
        StopAndWait(tenant);

        var again = StartTenant("t-forget-2");
        AssertSameView(forgotten, View(again));
        again.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<NotAccepted>(); // not a duplicate any more
        again.Tell(Event("StockReserved", new { orderId = "o-1" }, "m-2"));
        ExpectMsg<Applied>(a => Assert.Equal(1, a.Commands));
        var applied = View(again);
        Assert.Equal(1, applied.DedupeMarkers);
        StopAndWait(again);

        var third = StartTenant("t-forget-3");
        AssertSameView(applied, View(third));
        third.Tell(Event("StockReserved", new { orderId = "o-1" }, "m-2"));
        ExpectMsg<Duplicate>();
    }

    private void PlaceAndReserve(IActorRef tenant)
    {
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectMsg<Applied>(a => Assert.Equal(1, a.Commands));
        tenant.Tell(Event("StockReserved", new { orderId = "o-1" }, "m-2"));
        ExpectMsg<Applied>(a => Assert.Equal(1, a.Commands));
    }

    private void Reset(IActorRef tenant, bool full)
    {
        tenant.Tell(new ResetInstance(OrderSaga.DefinitionName, "o-1", ReplayId, full));
        ExpectMsg<InstanceReset>(r => Assert.Equal("o-1", r.CorrelationId));
    }

    private SagaView View(IActorRef tenant)
    {
        tenant.Tell(new GetSagaView(OrderSaga.DefinitionName, "o-1"));
        return ExpectMsg<SagaView>();
    }

    private static void AssertSameView(SagaView expected, SagaView actual)
    {
        Assert.Equal(expected.SequenceNr, actual.SequenceNr);
        Assert.Equal(expected.State, actual.State);
        Assert.Equal(expected.Completed, actual.Completed);
        Assert.Equal(expected.CompletedAt, actual.CompletedAt);
        Assert.Equal(expected.Timers.ToList(), actual.Timers.ToList());
        Assert.Equal(expected.OutboxPending.Select(o => o.MsgId), actual.OutboxPending.Select(o => o.MsgId));
        Assert.Equal(expected.DedupeMarkers, actual.DedupeMarkers);
    }

    private Task<System.Collections.Immutable.IImmutableList<EventEnvelope>> Journal(string persistenceId) =>
        PersistenceQuery.Get(Sys).ReadJournalFor<LmdbReadJournal>(LmdbReadJournal.Identifier)
            .CurrentEventsByPersistenceId(persistenceId, 0, long.MaxValue)
            .RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());
}
