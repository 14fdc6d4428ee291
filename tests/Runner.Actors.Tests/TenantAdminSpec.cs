using System.Text.Json;
using Akka.Actor;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// A tenant answers operator requests with typed replies (no HTTP, no JSON): its instances, one instance with its journal,
/// its timers and replays, and a refusal with its kind for what it cannot do.
/// </summary>
public sealed class TenantAdminSpec(ITestOutputHelper output) : ActorSpecBase(output)
{
    [Fact]
    public void TenantActor_should_list_its_instances_as_a_saga_page()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-2", amount = 5m }, "m-2", seq: 2));
        ExpectMsg<Applied>();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1", seq: 1));
        ExpectMsg<Applied>();

        tenant.Tell(new ListSagas("order", null, 0, 1));
        var page = ExpectMsg<SagaPage>();
        Assert.Equal((Tenant, 2, true), (page.Tenant, page.Total, page.More));
        var instance = Assert.Single(page.Instances);
        Assert.Equal(("order", "o-1", "AwaitingStock", false), (instance.Saga, instance.CorrelationId, instance.Status, instance.Completed));
        Assert.Equal(42.5m, JsonDocument.Parse(instance.StateJson!).RootElement.GetProperty("amount").GetDecimal());
        Assert.Equal(["payment-timeout"], instance.Timers.Select(t => t.Name));
        Assert.Equal(1, instance.DedupeMarkers);

        tenant.Tell(new ListSagas(null, "AwaitingStock", 1, 10));
        var second = ExpectMsg<SagaPage>();
        Assert.Equal(("o-2", (int?)2, false), (Assert.Single(second.Instances).CorrelationId, second.Total, second.More));
    }

    [Fact]
    public void TenantActor_should_show_an_instance_with_its_journal()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1", seq: 7));
        ExpectMsg<Applied>();

        AwaitAssert(() =>
        {
            // The delivery of its command is journaled once the transport acknowledged it.
            tenant.Tell(new ShowSaga("order", "o-1", 200));
            var detail = ExpectMsg<SagaDetail>();
            Assert.Equal(("o-1", 2L), (detail.Instance.CorrelationId, detail.HistoryTotal));
            var applied = Assert.IsType<HistoryApplied>(detail.History[0]);
            Assert.Equal(("OrderPlaced", "id:m-1", (ulong?)7, true), (applied.Trigger, applied.DedupeKey, applied.StreamSeq, applied.StateChanged));
            Assert.Equal(["ReserveStock"], applied.Commands.Select(c => c.CommandType));
            Assert.Equal(applied.Commands.Select(c => c.MsgId), Assert.IsType<HistoryDelivered>(detail.History[1]).MsgIds);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        tenant.Tell(new ShowSaga("order", "o-1", 1));
        var last = ExpectMsg<SagaDetail>();
        Assert.Equal((2L, 2L), (last.HistoryTotal, Assert.Single(last.History).SequenceNr));
    }

    [Fact]
    public void TenantActor_should_list_its_timers_next_due_first()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 1m }, "m-1"));
        ExpectMsg<Applied>();
        Clock.Advance(TimeSpan.FromMinutes(1));
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-0", amount = 1m }, "m-0"));
        ExpectMsg<Applied>();

        AwaitAssert(() =>
        {
            tenant.Tell(ListTimers.Instance);
            var timers = ExpectMsg<TimerList>();
            Assert.Equal((Tenant, 2, false), (timers.Tenant, timers.Pending, timers.Truncated));
            Assert.Equal(["o-1", "o-0"], timers.Timers.Select(t => t.CorrelationId));
            Assert.Equal(timers.Timers[0].DueAt, timers.NextDue);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void TenantActor_should_list_its_checkpoints_and_replays()
    {
        var tenant = StartTenant();
        tenant.Tell(ListReplays.Instance);
        var list = ExpectMsg<ReplayList>();
        Assert.Equal((Tenant, 0, 0), (list.Tenant, list.Checkpoints.Length, list.Replays.Length));
    }

    [Fact]
    public void TenantActor_should_refuse_with_the_kind_of_refusal()
    {
        var tenant = StartTenant();
        tenant.Tell(new ShowSaga("nope", "o-1", 10));
        Assert.Equal(RefusalKind.NotFound, ExpectMsg<AdminRefusal>().Kind);
        tenant.Tell(new ListSagas("nope", null, 0, 10));
        Assert.Equal(RefusalKind.NotFound, ExpectMsg<AdminRefusal>().Kind);
        tenant.Tell(new ShowSaga("order", "never-seen", 10));
        var unknown = ExpectMsg<AdminRefusal>();
        Assert.Equal(RefusalKind.NotFound, unknown.Kind);
        Assert.Contains("never-seen", unknown.Message, StringComparison.Ordinal);
        tenant.Tell(new GetReplay("acme.order.20260101T120000-00ab"));
        Assert.Equal(RefusalKind.NotFound, ExpectMsg<AdminRefusal>().Kind);
        tenant.Tell(new StartReplay("order", "rewind-everything", null, false));
        var mode = ExpectMsg<AdminRefusal>();
        Assert.Equal(RefusalKind.Invalid, mode.Kind);
        Assert.Contains("rewind-everything", mode.Message, StringComparison.Ordinal);
    }
}
