using NATS.Client.JetStream;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// The node is killed with SIGKILL during a burst of 5,000 events over 50 orders; after a restart every event is
/// applied once and the command stream holds exactly the expected commands, each once.
/// </summary>
public sealed class CrashSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private const int Orders = 50;
    private const int EventsPerOrder = 100;

    [Fact]
    public async Task A_node_killed_with_sigkill_mid_burst_should_apply_every_event_exactly_once()
    {
        await using var s = new Scenario(nats);
        var env = NodeEnvironment.For(s, nats, "runner.samples.order.payment-timeout = 1h");
        var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
        try
        {
            // Per order: OrderPlaced, 98 x StockReserved (the first applies, the rest change nothing but are each
            // persisted with their dedupe marker), then PaymentCaptured. Round robin over the orders.
            var publishing = Task.Run(async () =>
            {
                for (var e = 0; e < EventsPerOrder; e++)
                {
                    for (var o = 0; o < Orders; o++)
                    {
                        var (type, json) = e switch
                        {
                            0 => ("OrderPlaced", $$"""{"orderId":"o-{{o}}","amount":{{o + 1}}}"""),
                            EventsPerOrder - 1 => ("PaymentCaptured", $$"""{"orderId":"o-{{o}}"}"""),
                            _ => ("StockReserved", $$"""{"orderId":"o-{{o}}"}"""),
                        };
                        await s.PublishAsync("acme", type, json, $"burst-{o}-{e}");
                    }
                }
            });

            // Kill when some, but not all, commands are out.
            var before = await s.CommandsAsync("acme", c => c.Count >= 20, TimeSpan.FromSeconds(60));
            await node.KillAsync();
            Assert.InRange(before.Count, 20, 3 * Orders - 1);

            // Restarted at once, as a supervisor would, while the burst goes on. (A command whose PubAck or delivery
            // record the crash lost is published again by its recovered instance; JetStream drops the copy inside
            // the stream's duplicate window, 10 minutes by default, which therefore bounds the tolerable downtime.)
            await using var again = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
            await publishing.WaitAsync(TimeSpan.FromSeconds(120));
            var commands = await s.CommandsAsync("acme", c => c.Count >= 3 * Orders, TimeSpan.FromSeconds(120));

            // Quiescence: every event of the stream applied and acked, then count again.
            var consumer = await s.Js.GetConsumerAsync(s.EventsStream, "runner-acme-order");
            var stream = await s.Js.GetStreamAsync(s.EventsStream);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (consumer.Info.AckFloor.StreamSeq < stream.Info.State.LastSeq && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // polling the consumer's ack floor
                await consumer.RefreshAsync();
            }

            Assert.True(stream.Info.State.LastSeq == consumer.Info.AckFloor.StreamSeq,
                $"ack floor {consumer.Info.AckFloor.StreamSeq} of {stream.Info.State.LastSeq}; restarted node:\n{again.Output}");
            Assert.Equal(Orders * EventsPerOrder, (int)stream.Info.State.Messages);
            commands = await s.CommandsAsync("acme", c => c.Count > 3 * Orders, TimeSpan.FromSeconds(2));

            var wrong = commands.GroupBy(c => c.MsgId.Split(':')[2]).Where(g => g.Count() != 3)
                .Select(g => $"{g.Key}: {string.Join(", ", g.Select(c => $"{c.CommandType}@{c.MsgId}#{c.Sequence}"))}").ToList();
            Assert.True(wrong.Count == 0, $"{commands.Count} commands; orders with other than 3:\n{string.Join("\n", wrong)}");
            Assert.Equal(3 * Orders, commands.Count);
            Assert.Equal(commands.Count, commands.Select(c => c.MsgId).Distinct().Count());
            for (var o = 0; o < Orders; o++)
            {
                var order = commands.Where(c => c.MsgId.StartsWith($"acme:order:o-{o}:", StringComparison.Ordinal)).Select(c => c.CommandType);
                Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder"], order);
            }
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\nnode output:\n{node.Output}", e);
        }
        finally
        {
            await node.DisposeAsync();
        }
    }
}
