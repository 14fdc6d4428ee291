using Akka.Actor;
using Runner.Actors.Protocol;
using Runner.Sagas.Samples;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

public sealed class SagaActorSpec(ITestOutputHelper output) : ActorSpecBase(output, "runner.runtime.snapshot-every = 3\nrunner.runtime.outbox-ack-after = 1h")
{
    [Fact]
    public void SagaActor_should_answer_only_after_its_commands_are_acknowledged()
    {
        var tenant = StartTenant();
        Transport.Hold(); // NATS "down": the publish cannot complete
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1"));
        ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // no reply, so the NATS message would not be acked

        Transport.Release();
        ExpectMsg<Applied>(a => Assert.Equal(1, a.SequenceNr));
        var command = Assert.Single(Transport.Commands);
        Assert.Equal("ReserveStock", command.CommandType);
        Assert.Equal("acme:order:o-1:1:0", command.MsgId);
        Assert.Contains("\"orderId\":\"o-1\"", Utf8(command.Payload), StringComparison.Ordinal);
    }

    [Fact]
    public void SagaActor_should_skip_a_redelivered_event_by_its_dedupe_marker()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-2", amount = 10m }, "m-2"));
        ExpectMsg<Applied>();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-2", amount = 10m }, "m-2"));
        ExpectMsg<Duplicate>(d => Assert.Equal("id:m-2", d.DedupeKey));
        Assert.Single(Transport.CommandTypes("o-2"));
    }

    [Fact]
    public void SagaActor_should_recover_state_dedupe_and_snapshots_after_a_restart()
    {
        var tenant = StartTenant("t-restart-1");
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-3", amount = 5m }, "m-3a"));
        ExpectMsg<Applied>();
        tenant.Tell(Event("StockReserved", new { orderId = "o-3" }, "m-3b"));
        ExpectMsg<Applied>();
        tenant.Tell(new GetSagaView("order", "o-3"));
        var before = ExpectMsg<SagaView>();
        StopAndWait(tenant);

        var again = StartTenant("t-restart-2");
        again.Tell(Event("OrderPlaced", new { orderId = "o-3", amount = 5m }, "m-3a"));
        ExpectMsg<Duplicate>();
        again.Tell(Event("PaymentCaptured", new { orderId = "o-3" }, "m-3c"));
        // Journal: 1 OrderPlaced, 2 delivered, 3 StockReserved (snapshot, snapshot-every = 3), 4 delivered, 5 PaymentCaptured.
        ExpectMsg<Applied>(a => Assert.Equal(5, a.SequenceNr));
        Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder"], Transport.CommandTypes("o-3"));
        again.Tell(new GetSagaView("order", "o-3"));
        var after = ExpectMsg<SagaView>();
        Assert.True(after.Completed);
        Assert.Empty(after.Timers);
        Assert.Equal(4, before.SequenceNr);
        StopAndWait(again);

        // Recovery from the snapshot taken at sequence number 3.
        var third = StartTenant("t-restart-3");
        third.Tell(new GetSagaView("order", "o-3"));
        var recovered = ExpectMsg<SagaView>();
        Assert.True(recovered.Completed);
        Assert.Equal(6, recovered.SequenceNr);
        third.Tell(Event("StockReserved", new { orderId = "o-3" }, "m-late"));
        ExpectMsg<IgnoredCompleted>();
    }

    [Fact]
    public void SagaActor_should_answer_not_accepted_and_record_nothing_for_an_event_its_state_does_not_accept()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("StockReserved", new { orderId = "o-6" }, "m-6b"));
        ExpectMsg<NotAccepted>(n => Assert.Equal("StockReserved while the order is New", n.Reason));
        tenant.Tell(new GetSagaView("order", "o-6"));
        ExpectMsg<SagaView>(v => Assert.Equal(0, v.SequenceNr));

        // No dedupe marker was kept: once its predecessor is applied, the same event is accepted.
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-6", amount = 3m }, "m-6a"));
        ExpectMsg<Applied>();
        tenant.Tell(Event("StockReserved", new { orderId = "o-6" }, "m-6b"));
        ExpectMsg<Applied>();
        Assert.Equal(["ReserveStock", "ChargePayment"], Transport.CommandTypes("o-6"));
    }

    [Fact]
    public void SagaActor_should_tell_waiting_consumers_when_it_stops_before_its_commands_are_acknowledged()
    {
        var tenant = StartTenant();
        Transport.Hold();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-7", amount = 1m }, "m-7"));
        // Answered once the event is persisted (commands wait while a persist is in flight): applied, not yet published.
        tenant.Tell(new GetSagaView("order", "o-7"));
        ExpectMsg<SagaView>(v => Assert.Single(v.OutboxPending));

        // A hand-off or crash of the instance: the consumer hears at once that it must try again, not after its timeout.
        Sys.Stop(tenant);
        ExpectMsg<NotApplied>(n => Assert.Contains("stopped", n.Reason, StringComparison.Ordinal));
        Transport.Release();
    }

    [Fact]
    public void SagaActor_should_republish_an_unacknowledged_outbox_entry_with_the_same_msg_id_after_a_crash()
    {
        var tenant = StartTenant("t-crash-1");
        Transport.Hold();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-4", amount = 1m }, "m-4"));
        // The view is answered once the event is persisted (commands wait while a persist is in flight): persisted, not published.
        tenant.Tell(new GetSagaView("order", "o-4"));
        ExpectMsg<SagaView>(v => Assert.Single(v.OutboxPending));
        // The node goes away before the PubAck; the NATS message is not acked (its consumer hears "not applied").
        Watch(tenant);
        Sys.Stop(tenant);
        ExpectMsg<NotApplied>();
        ExpectTerminated(tenant);

        Transport.Release();
        var again = StartTenant("t-crash-2");
        // JetStream redelivers the message: dedupe says applied, the outbox entry goes out, then the answer.
        again.Tell(Event("OrderPlaced", new { orderId = "o-4", amount = 1m }, "m-4"));
        ExpectMsg<Duplicate>();
        var sent = Transport.Commands.Where(c => c.Correlation == "o-4").ToList();
        Assert.NotEmpty(sent);
        Assert.All(sent, c => Assert.Equal("acme:order:o-4:1:0", c.MsgId));
    }

    [Fact]
    public void SagaActor_should_fire_a_due_timer_and_complete()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-5", amount = 7m }, "m-5"));
        ExpectMsg<Applied>();
        tenant.Tell(new GetSagaView("order", "o-5"));
        var timer = Assert.Single(ExpectMsg<SagaView>().Timers);
        Assert.Equal("payment-timeout", timer.Name);
        Assert.Equal(Clock.Now + TimeSpan.FromMinutes(15), timer.DueAt);

        Clock.Advance(TimeSpan.FromMinutes(14));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.DoesNotContain("CancelOrder", Transport.CommandTypes("o-5"));

        Clock.Advance(TimeSpan.FromMinutes(2));
        AwaitAssert(() => Assert.Equal(["ReserveStock", "CancelOrder"], Transport.CommandTypes("o-5")), TimeSpan.FromSeconds(10));
        tenant.Tell(new GetSagaView("order", "o-5"));
        var view = ExpectMsg<SagaView>();
        Assert.True(view.Completed);
        Assert.Empty(view.Timers);
    }
    [Fact]
    public void SagaActor_should_not_publish_again_what_was_acknowledged_while_its_delivered_marker_is_written()
    {
        var publisher = CreateTestProbe();
        var index = CreateTestProbe();
        var instance = Sys.ActorOf(SagaActor.Props(Tenant, Saga, "o-9", Services.Runtime, publisher.Ref, index.Ref, Clock), "o-9");
        instance.Tell(Event("OrderPlaced", new { orderId = "o-9", amount = 3m }, "m-9"));
        var first = publisher.ExpectMsg<PublishCommands>();
        var msgId = Assert.Single(first.Entries).MsgId;

        // The acknowledgement and an outbox due (the schedule index after an overdue outbox) both in the mailbox: the due
        // is handled while the delivered marker is still being written, and must not send the entry again.
        instance.Tell(new CommandsPublished([msgId]), publisher.Ref);
        instance.Tell(new OutboxDue("order", "o-9"));
        ExpectMsg<Applied>();
        publisher.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        instance.Tell(new GetSagaView("order", "o-9"));
        Assert.Empty(ExpectMsg<SagaView>().OutboxPending);

        // A command decided later is published as before.
        instance.Tell(Event("StockReserved", new { orderId = "o-9" }, "m-9b", seq: 2));
        Assert.Equal("ChargePayment", Assert.Single(publisher.ExpectMsg<PublishCommands>().Entries).CommandType);
    }
}
