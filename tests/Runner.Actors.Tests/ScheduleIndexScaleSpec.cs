using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Placement;
using Runner.Sagas.Samples;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// The schedule index of a tenant with many instances waiting on timers: its ticks look at the due timers only, in due
/// order, and it snapshots once per as many followed events as it holds instances (a snapshot costs as much as it is large).
/// </summary>
public sealed class ScheduleIndexScaleSpec(ITestOutputHelper output) : ActorSpecBase(output, "runner.runtime.schedule-snapshot-every = 2")
{
    [Fact]
    public void ScheduleIndexActor_should_fire_the_due_timers_only_in_due_order_and_forget_fired_ones()
    {
        var tenant = StartTenant();
        // o-0 .. o-9 placed a minute apart: their payment timeouts fall due a minute apart, 15 minutes later.
        for (var i = 0; i < 10; i++)
        {
            PlaceOrder(tenant, $"o-{i}");
            Clock.Advance(TimeSpan.FromMinutes(1));
        }

        AwaitAssert(() => Assert.Equal(Orders(0, 10), IndexedTimers(tenant).Select(d => d.Correlation)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        // Now = placing o-0 + 10 min; + 10.5 min: the timers of o-0 .. o-5 (due at + 15 .. + 20) are due, o-6's is half a minute away.
        Clock.Advance(TimeSpan.FromMinutes(10.5));
        AwaitAssert(() =>
        {
            foreach (var order in Orders(0, 6)) Assert.Equal(["ReserveStock", "CancelOrder"], Transport.CommandTypes(order));
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        // Fired timers leave the index (the instances completed); the others stay, in due order.
        AwaitAssert(() => Assert.Equal(Orders(6, 4), IndexedTimers(tenant).Select(d => d.Correlation)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        foreach (var order in Orders(6, 4)) Assert.Equal(["ReserveStock"], Transport.CommandTypes(order));

        Clock.Advance(TimeSpan.FromMinutes(4));
        AwaitAssert(() =>
        {
            foreach (var order in Orders(6, 4)) Assert.Equal(["ReserveStock", "CancelOrder"], Transport.CommandTypes(order));
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        AwaitAssert(() => Assert.Empty(IndexedTimers(tenant)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void ScheduleIndexActor_should_snapshot_once_per_as_many_followed_events_as_it_holds_instances()
    {
        var tenant = StartTenant();
        for (var i = 0; i < 10; i++) PlaceOrder(tenant, $"o-{i}");
        AwaitAssert(() => Assert.Equal(10, IndexedTimers(tenant).Length), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        // Every 2 followed events (schedule-snapshot-every), but not before as many events as instances indexed: the 2nd event
        // (2 instances) is snapshotted, then the next one would be due at the 2 + 10th; every 2 events would have made 5 by now,
        // the last holding all 10 instances.
        AwaitAssert(() => Assert.Equal(2, LatestSnapshot()?.Instances.Length), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        PlaceOrder(tenant, "o-10");
        AwaitAssert(() => Assert.Equal(11, IndexedTimers(tenant).Length), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        Assert.Equal(2, LatestSnapshot()?.Instances.Length);
    }

    private static IEnumerable<string> Orders(int from, int count) => Enumerable.Range(from, count).Select(i => $"o-{i}");

    private ScheduleSnapshot? LatestSnapshot()
    {
        var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        store.Tell(new LoadSnapshot(TenantKeys.Schedule(Tenant), SnapshotSelectionCriteria.Latest, long.MaxValue), TestActor);
        return ExpectMsg<LoadSnapshotResult>().Snapshot?.Snapshot as ScheduleSnapshot;
    }
}
