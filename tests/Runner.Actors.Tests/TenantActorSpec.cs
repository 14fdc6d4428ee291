using Akka.Actor;
using Runner.Actors.Protocol;
using Runner.Actors.Tenant;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

public sealed class TenantActorSpec(ITestOutputHelper output)
    : ActorSpecBase(output, "runner.runtime.passivate-after = 300ms\nrunner.runtime.schedule-snapshot-every = 1")
{
    [Fact]
    public void TenantActor_should_passivate_idle_sagas_and_wake_them_with_their_state()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "p-1", amount = 3m }, "mp-1"));
        ExpectMsg<Applied>();
        AwaitAssert(() =>
        {
            tenant.Tell(TenantActor.GetTenantView.Instance);
            Assert.Equal(0, ExpectMsg<TenantActor.TenantView>().ActiveSagas);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        tenant.Tell(Event("StockReserved", new { orderId = "p-1" }, "mp-2"));
        ExpectMsg<Applied>(a => Assert.Equal(3, a.SequenceNr)); // 1 OrderPlaced, 2 its delivery, 3 StockReserved
        Assert.Equal(["ReserveStock", "ChargePayment"], Transport.CommandTypes("p-1"));
    }

    [Fact]
    public async Task TenantActor_should_keep_an_instance_that_keeps_receiving_messages_and_passivate_it_once_idle()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "p-busy", amount = 3m }, "mp-busy"));
        ExpectMsg<Applied>();
        var instance = await Sys.ActorSelection(tenant.Path / TenantInstances.ChildName(Saga.Name, "p-busy")).ResolveOne(TimeSpan.FromSeconds(5));
        var watcher = CreateTestProbe();
        watcher.Watch(instance);

        // A message every 100 ms for 1.2 s, four times passivate-after (300 ms): the same incarnation answers all along.
        for (var i = 0; i < 12; i++)
        {
            tenant.Tell(new GetSagaView(Saga.Name, "p-busy"));
            ExpectMsg<SagaView>();
            watcher.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        }

        // Then idle: stopped after passivate-after, within half of it again (plus this machine's scheduling).
        watcher.ExpectTerminated(instance, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void TenantActor_should_wake_a_passivated_saga_whose_timer_is_due()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "p-2", amount = 3m }, "mp-3"));
        ExpectMsg<Applied>();
        AwaitAssert(() =>
        {
            tenant.Tell(TenantActor.GetTenantView.Instance);
            Assert.Equal(0, ExpectMsg<TenantActor.TenantView>().ActiveSagas);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        Clock.Advance(TimeSpan.FromMinutes(16));
        AwaitAssert(() => Assert.Equal(["ReserveStock", "CancelOrder"], Transport.CommandTypes("p-2")), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void TenantActor_should_keep_timers_across_a_restart_of_the_tenant()
    {
        var tenant = StartTenant("t-timers-1");
        tenant.Tell(Event("OrderPlaced", new { orderId = "p-3", amount = 3m }, "mp-4"));
        ExpectMsg<Applied>();
        StopAndWait(tenant);

        Clock.Advance(TimeSpan.FromMinutes(20)); // due while the tenant was down: policy "fire" fires it late
        StartTenant("t-timers-2");
        AwaitAssert(() => Assert.Equal(["ReserveStock", "CancelOrder"], Transport.CommandTypes("p-3")), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void TenantActor_should_refuse_an_invalid_tenant_id()
    {
        var props = TenantActor.Props("Not-Valid", Services);
        EventFilter.Exception<ActorInitializationException>().ExpectOne(() => Sys.ActorOf(props, "bad"));
    }
}
