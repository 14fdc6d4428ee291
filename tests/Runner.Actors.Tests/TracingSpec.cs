using Akka.Actor;
using System.Collections.Concurrent;
using System.Diagnostics;
using Runner.Actors.Protocol;
using Runner.Nats;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// A decision is a span of its event's trace (decide + persist), and its commands carry that span as their parent, kept
/// in the outbox entry; without a listener the event's own trace context is passed on unchanged.
/// </summary>
public sealed class TracingSpec(ITestOutputHelper output) : ActorSpecBase(output)
{
    [Fact]
    public void The_decision_should_be_a_span_of_the_event_trace_and_the_parent_of_its_commands()
    {
        var trace = ActivityTraceId.CreateRandom();
        var producer = ActivitySpanId.CreateRandom();
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RunnerTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var tenant = StartTenant();
        tenant.Tell(Traced(Event("OrderPlaced", new { orderId = "tr-1", amount = 1m }, "mtr-1"), $"00-{trace}-{producer}-01"));
        ExpectMsg<Applied>(TimeSpan.FromSeconds(5));

        AwaitAssert(() => Assert.Contains(Transport.TraceParents, t => t.Key.StartsWith("acme:order:tr-1:", StringComparison.Ordinal)), TimeSpan.FromSeconds(10));
        var sent = Transport.TraceParents.Single(t => t.Key.StartsWith("acme:order:tr-1:", StringComparison.Ordinal)).Value;
        Assert.True(ActivityContext.TryParse(sent, null, out var command));
        Assert.Equal(trace, command.TraceId);
        var apply = Assert.Single(stopped, a => a.TraceId == trace && a.OperationName == "order apply");
        Assert.Equal(producer, apply.ParentSpanId);
        Assert.Equal(apply.SpanId, command.SpanId);
        Assert.Equal("tr-1", apply.GetTagItem("runner.correlation_id"));
        Assert.Equal("acme", apply.GetTagItem("runner.tenant"));
    }

    [Fact]
    public void A_command_should_carry_its_event_trace_id_when_nothing_listens()
    {
        var trace = ActivityTraceId.CreateRandom();
        var tenant = StartTenant();
        tenant.Tell(Traced(Event("OrderPlaced", new { orderId = "tr-2", amount = 1m }, "mtr-2"), $"00-{trace}-{ActivitySpanId.CreateRandom()}-01"));
        ExpectMsg<Applied>(TimeSpan.FromSeconds(5));
        AwaitAssert(() => Assert.Contains(Transport.TraceParents, t => t.Key.StartsWith("acme:order:tr-2:", StringComparison.Ordinal)), TimeSpan.FromSeconds(10));
        var sent = Transport.TraceParents.Single(t => t.Key.StartsWith("acme:order:tr-2:", StringComparison.Ordinal)).Value;
        Assert.True(ActivityContext.TryParse(sent, null, out var command));
        Assert.Equal(trace, command.TraceId);
    }

    private static DeliverEvent Traced(DeliverEvent e, string traceParent) =>
        e with { Event = e.Event with { Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [RunnerTracing.TraceParentHeader] = traceParent } } };
}
