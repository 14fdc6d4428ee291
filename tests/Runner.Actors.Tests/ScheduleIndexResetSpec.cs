using System.Collections.Immutable;
using Akka.Actor;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Sagas.Samples;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>The tenant's schedule index follows a full reset (a tagged <see cref="SagaReset"/>) and drops the instance's timers.</summary>
public sealed class ScheduleIndexResetSpec(ITestOutputHelper output) : ActorSpecBase(output)
{
    private const string ReplayId = "acme.order.20260101T120000-00cd";

    [Fact]
    public void ScheduleIndexActor_should_drop_the_timers_of_an_instance_reset_in_full()
    {
        var tenant = StartTenant();
        PlaceOrder(tenant, "o-1");
        PlaceOrder(tenant, "o-2");
        AwaitAssert(() => Assert.Equal(["o-1", "o-2"], IndexedTimers(tenant).Select(d => d.Correlation).Order(StringComparer.Ordinal)),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        tenant.Tell(new ResetInstance(OrderSaga.DefinitionName, "o-1", ReplayId, Full: true));
        ExpectMsg<InstanceReset>();
        AwaitAssert(() =>
        {
            var due = Assert.Single(IndexedTimers(tenant));
            Assert.Equal((OrderSaga.DefinitionName, "o-2", OrderSaga.PaymentTimeoutTimer), (due.Saga, due.Correlation, due.Timer.Name));
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void ScheduleIndexActor_should_not_fire_the_old_timer_of_an_instance_reset_in_full()
    {
        var tenant = StartTenant();
        PlaceOrder(tenant, "o-1");
        PlaceOrder(tenant, "o-2"); // not reset: its timer fires, so the tick that would have fired o-1's has run
        tenant.Tell(new ResetInstance(OrderSaga.DefinitionName, "o-1", ReplayId, Full: true));
        ExpectMsg<InstanceReset>();
        AwaitAssert(() => Assert.Single(IndexedTimers(tenant)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        Clock.Advance(TimeSpan.FromMinutes(16));
        AwaitAssert(() => Assert.Equal(["ReserveStock", "CancelOrder"], Transport.CommandTypes("o-2")), TimeSpan.FromSeconds(10));
        Assert.Equal(["ReserveStock"], Transport.CommandTypes("o-1"));
        tenant.Tell(new GetSagaView(OrderSaga.DefinitionName, "o-1"));
        var view = ExpectMsg<SagaView>();
        Assert.Equal(OrderState.Initial, view.State);
        Assert.False(view.Completed);
    }

    [Fact]
    public void ScheduleIndexActor_should_not_list_the_timers_of_a_reset_instance_after_a_restart_of_the_tenant()
    {
        var tenant = StartTenant("t-index-1");
        PlaceOrder(tenant, "o-1");
        PlaceOrder(tenant, "o-2");
        tenant.Tell(new ResetInstance(OrderSaga.DefinitionName, "o-1", ReplayId, Full: true));
        ExpectMsg<InstanceReset>();
        AwaitAssert(() => Assert.Single(IndexedTimers(tenant)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        StopAndWait(tenant);

        // The index rebuilds from the tagged events (no snapshot of its own yet): o-1's timer event is deleted, its reset is not.
        var again = StartTenant("t-index-2");
        again.Tell(new GetSagaView(OrderSaga.DefinitionName, "o-2")); // starts the tenant's children
        ExpectMsg<SagaView>();
        AwaitAssert(() => Assert.Equal("o-2", Assert.Single(IndexedTimers(again)).Correlation), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        Clock.Advance(TimeSpan.FromMinutes(16));
        AwaitAssert(() => Assert.Equal(["ReserveStock", "CancelOrder"], Transport.CommandTypes("o-2")), TimeSpan.FromSeconds(10));
        Assert.Equal(["ReserveStock"], Transport.CommandTypes("o-1"));
    }
}
