using Runner.Sagas;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

public sealed record Boom(string Id, bool Fail);

public sealed record Boomed(string Id);

public sealed record BoomState(int Count);

/// <summary>A saga whose decide function throws on demand (an author's bug).</summary>
public sealed class FaultySaga : Saga<BoomState>
{
    public FaultySaga() : base("faulty")
    {
        On<Boom>((e, _) => e.Id, (s, e, ctx) => e.Fail
            ? throw new InvalidOperationException("boom " + e.Id)
            : ctx.Transition(s with { Count = s.Count + 1 }).Send(new Boomed(e.Id)));
    }

    protected override BoomState Initial() => new(0);
}

public sealed class HandlerFailureSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task A_throwing_decide_should_park_the_event_and_leave_other_instances_running()
    {
        await using var s = new Scenario(nats);
        await s.StartNodeAsync(new FaultySaga());
        await s.PublishAsync("acme", "Boom", """{"id":"b-1","fail":true}""", "b1");
        await s.PublishAsync("acme", "Boom", """{"id":"b-2","fail":false}""", "b2");
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"o-1","amount":1}""", "o1");

        var parked = await s.DeadLettersAsync("acme", d => d.Count >= 1);
        var dead = Assert.Single(parked);
        Assert.Equal($"{s.Prefix}.dlq.acme.faulty", dead.Subject);
        Assert.Contains("b-1", dead.Json, StringComparison.Ordinal);

        var commands = await s.CommandsAsync("acme", c => c.Count >= 2);
        Assert.Contains(commands, c => c.CommandType == "Boomed" && c.Json.Contains("b-2", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.CommandType == "ReserveStock");
        Assert.DoesNotContain(commands, c => c.Json.Contains("b-1", StringComparison.Ordinal));
    }
}
