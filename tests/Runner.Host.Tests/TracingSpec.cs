using System.Diagnostics;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>The whole node against a real nats-server: one trace id runs from an event's headers to its commands' headers.</summary>
public sealed class TracingSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task A_command_should_carry_the_trace_id_of_the_event_that_caused_it()
    {
        await using var s = new Scenario(nats);
        await s.StartNodeAsync();
        var trace = ActivityTraceId.CreateRandom();
        var producer = ActivitySpanId.CreateRandom();
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"tr-1","amount":1}""", "tr-e1", $"00-{trace}-{producer}-01");
        await s.PublishAsync("acme", "StockReserved", """{"orderId":"tr-1"}""", "tr-e2", $"00-{ActivityTraceId.CreateRandom()}-{producer}-01");

        var commands = await s.CommandsAsync("acme", c => c.Count >= 2);
        var reserve = commands.Single(c => c.CommandType == "ReserveStock");
        Assert.True(ActivityContext.TryParse(reserve.TraceParent, null, out var context), $"'{reserve.TraceParent}' is a W3C traceparent");
        Assert.Equal(trace, context.TraceId);

        // The next event of the instance has a trace of its own, and so has its command.
        var charge = commands.Single(c => c.CommandType == "ChargePayment");
        Assert.True(ActivityContext.TryParse(charge.TraceParent, null, out var next));
        Assert.NotEqual(trace, next.TraceId);
    }
}
