using Akka.Actor;
using Runner.Actors.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// <c>runner.instances.active</c>: a tenant's instances in memory. Passivation after 2 s, long enough that an instance
/// which has just answered is still in memory when the count is read, however loaded the machine.
/// </summary>
public sealed class InstancesGaugeSpec(ITestOutputHelper output) : ActorSpecBase(output, "runner.runtime.passivate-after = 2s")
{
    [Fact]
    public void TenantActor_should_count_its_instances_in_memory_until_they_passivate_and_stop_counting_when_it_stops()
    {
        // A tenant id of its own: the gauge is per tenant and process-wide, and other specs run "acme" in parallel.
        const string tenantId = "instances-gauge";
        var tenant = Sys.ActorOf(TenantActor.Props(tenantId, Services), "gauge");
        int? Active() => RunnerMetrics.ActiveInstances().TryGetValue(tenantId, out var n) ? n : null;

        tenant.Tell(Event("OrderPlaced", new { orderId = "g-1", amount = 3m }, "mg-1"));
        tenant.Tell(Event("OrderPlaced", new { orderId = "g-2", amount = 3m }, "mg-2"));
        ExpectMsg<Applied>();
        ExpectMsg<Applied>();
        Assert.Equal(2, Active());

        // Idle past passivate-after (2 s): both stop, and the count with them.
        AwaitAssert(() => Assert.Equal(0, Active()), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        tenant.Tell(Event("StockReserved", new { orderId = "g-1" }, "mg-3"));
        ExpectMsg<Applied>();
        Assert.Equal(1, Active());

        StopAndWait(tenant);
        Assert.Null(Active());
    }
}
