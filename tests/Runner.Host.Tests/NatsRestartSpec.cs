using NATS.Client.Core;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>nats-server restarts mid-stream: the node recovers by itself and nothing is lost or doubled.</summary>
public sealed class NatsRestartSpec
{
    [Fact]
    public async Task The_node_should_recover_by_itself_when_nats_restarts_mid_stream()
    {
        await using var server = new NatsServerFixture(); // its own server: the restart must not disturb other specs
        await using var s = new Scenario(server, "runner.samples.order.payment-timeout = 1h");
        await s.StartNodeAsync();
        for (var o = 0; o < 100; o++) await s.PublishAsync("acme", "OrderPlaced", $$"""{"orderId":"n-{{o}}","amount":1}""", $"n-{o}");
        await s.CommandsAsync("acme", c => c.Count >= 10);

        await server.RestartAsync(TimeSpan.FromSeconds(1));

        for (var o = 100; o < 200; o++)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                try
                {
                    await s.PublishAsync("acme", "OrderPlaced", $$"""{"orderId":"n-{{o}}","amount":1}""", $"n-{o}");
                    break;
                }
                catch (Exception) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100); // the producer's own client is reconnecting
                }
            }
        }

        var commands = await s.CommandsAsync("acme", c => c.Count >= 200, TimeSpan.FromSeconds(60));
        Assert.Equal(200, commands.Count);
        Assert.Equal(200, commands.Select(c => c.MsgId).Distinct().Count());
        Assert.All(commands, c => Assert.Equal("ReserveStock", c.CommandType));
        Assert.Equal(200, commands.Select(c => c.MsgId.Split(':')[2]).Distinct().Count());
    }
}
