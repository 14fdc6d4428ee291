using Akka.Actor;
using Runner.Actors.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// A commands stream without a leader (a NATS server lost) must not hold up the consumption of events: an applied event
/// is answered after outbox-ack-after at most, once the instance has recorded that it has commands to publish; the
/// schedule index then wakes it after a crash, without waiting for its next event.
/// </summary>
public sealed class OutboxOverdueSpec(ITestOutputHelper output) : ActorSpecBase(output, "runner.runtime.outbox-ack-after = 200ms")
{
    [Fact]
    public void An_applied_event_should_be_answered_while_its_commands_still_wait_for_their_PubAck()
    {
        var tenant = StartTenant();
        Transport.Hold(); // the commands stream has no leader
        tenant.Tell(Event("OrderPlaced", new { orderId = "d-1", amount = 1m }, "md-1"));
        ExpectMsg<Applied>(TimeSpan.FromSeconds(5));
        tenant.Tell(new GetSagaView("order", "d-1"));
        ExpectMsg<SagaView>(v => Assert.Single(v.OutboxPending));
        Assert.Empty(Transport.Commands);

        Transport.Release();
        AwaitAssert(() => Assert.Equal(["ReserveStock"], Transport.CommandTypes("d-1")), TimeSpan.FromSeconds(10));
        // The transport holds the command before the instance has its PubAck and removes the entry: wait for that.
        AwaitAssert(() =>
        {
            var view = tenant.Ask<SagaView>(new GetSagaView("order", "d-1"), TimeSpan.FromSeconds(3)).GetAwaiter().GetResult();
            Assert.Empty(view.OutboxPending);
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Commands_answered_for_before_a_crash_should_go_out_after_it_without_a_new_event()
    {
        var tenant = StartTenant("t-before");
        Transport.Hold();
        tenant.Tell(Event("OrderPlaced", new { orderId = "d-2", amount = 1m }, "md-2"));
        ExpectMsg<Applied>(TimeSpan.FromSeconds(5)); // the event is acked now: nothing will deliver it again
        Watch(tenant);
        Sys.Stop(tenant);
        ExpectTerminated(tenant);
        Assert.Empty(Transport.Commands);

        Transport.Release();
        StartTenant("t-after");
        // No event for d-2 arrives: the schedule index knows it has commands to publish and wakes it.
        AwaitAssert(() => Assert.Equal(["ReserveStock"], Transport.CommandTypes("d-2")), TimeSpan.FromSeconds(15));
        Assert.All(Transport.Commands.Where(c => c.Correlation == "d-2"), c => Assert.Equal("acme:order:d-2:1:0", c.MsgId));
    }
}
