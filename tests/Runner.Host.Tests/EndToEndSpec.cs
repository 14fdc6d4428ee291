using Akka.Streams;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.JetStream;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>The whole node against a real nats-server: every path of the order saga, the DLQ, isolation.</summary>
public sealed class EndToEndSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private const string Fast = "runner.samples.order.payment-timeout = 2s";

    [Fact]
    public async Task Order_saga_should_run_every_path_including_the_timeout()
    {
        await using var s = new Scenario(nats, Fast);
        await s.StartNodeAsync();
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"o-1","amount":42.5}""", "e1");
        await s.PublishAsync("acme", "StockReserved", """{"orderId":"o-1"}""", "e2");
        await s.PublishAsync("acme", "PaymentCaptured", """{"orderId":"o-1"}""", "e3");
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"o-2","amount":10}""", "e4");
        await s.PublishAsync("acme", "StockUnavailable", """{"orderId":"o-2","reason":"none left"}""", "e5");
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"o-3","amount":1}""", "e6");

        var commands = await s.CommandsAsync("acme", c => c.Count >= 7);
        string[] Of(string order) => commands.Where(c => c.Json.Contains($"\"{order}\"", StringComparison.Ordinal)).Select(c => c.CommandType).ToArray();
        Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder"], Of("o-1"));
        Assert.Equal(["ReserveStock", "CancelOrder"], Of("o-2"));
        Assert.Equal(["ReserveStock", "CancelOrder"], Of("o-3")); // payment-timeout fired after 2 s
        Assert.Contains("payment-timeout", commands.Single(c => c.CommandType == "CancelOrder" && c.Json.Contains("o-3", StringComparison.Ordinal)).Json,
            StringComparison.Ordinal);
        Assert.Equal(commands.Count, commands.Select(c => c.MsgId).Distinct().Count());
        Assert.All(commands, c => Assert.Matches(@"^acme:order:o-\d:\d+:\d+$", c.MsgId));
        Assert.Equal($"{s.Prefix}.cmd.acme.ShipOrder", commands.Single(c => c.CommandType == "ShipOrder").Subject);

        // The checkpoint of (acme, order) reaches the last event: everything applied and acked, persisted in LMDB.
        var system = s.Node!.Services.GetRequiredService<Akka.Actor.ActorSystem>();
        var queries = Akka.Persistence.Query.PersistenceQuery.Get(system)
            .ReadJournalFor<Runner.Persistence.Lmdb.Query.LmdbReadJournal>(Runner.Persistence.Lmdb.Query.LmdbReadJournal.Identifier);
        var stream = await s.Js.GetStreamAsync(s.EventsStream);
        var last = stream.Info.State.LastSeq;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        ulong checkpoint = 0;
        while (checkpoint < last && DateTime.UtcNow < deadline)
        {
            var events = await queries.CurrentEventsByPersistenceId("checkpoint|acme", 0, long.MaxValue)
                .RunWith(Akka.Streams.Dsl.Sink.Seq<Akka.Persistence.Query.EventEnvelope>(), system.Materializer());
            checkpoint = events.Select(e => e.Event).OfType<Runner.Actors.Serialization.CheckpointAdvanced>()
                .Where(c => c.Saga == "order").Select(c => c.StreamSequence).DefaultIfEmpty(0UL).Max();
            if (checkpoint < last) await Task.Delay(100); // sampled every checkpoint-interval (200 ms here)
        }

        Assert.Equal(last, checkpoint);
    }

    [Fact]
    public async Task Redelivered_event_should_have_no_second_effect()
    {
        // A 1 s duplicate window lets the same Nats-Msg-Id into the stream again: only the runner's dedupe stops it.
        await using var s = new Scenario(nats, Fast + "\nrunner.nats.streams.duplicate-window = 1s");
        await s.StartNodeAsync();
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"r-1","amount":5}""", "dup-1");
        await s.CommandsAsync("acme", c => c.Count >= 1);
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // let the stream's duplicate window pass: the point of the scenario
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"r-1","amount":5}""", "dup-1");
        await s.PublishAsync("acme", "StockReserved", """{"orderId":"r-1"}""", "dup-2");
        var commands = await s.CommandsAsync("acme", c => c.Any(x => x.CommandType == "ChargePayment"));
        Assert.Equal(["ReserveStock", "ChargePayment"], commands.Select(c => c.CommandType).ToArray());
    }

    [Fact]
    public async Task Poison_events_should_be_parked_with_reasons_while_others_go_on()
    {
        await using var s = new Scenario(nats, Fast);
        await s.StartNodeAsync();
        await s.PublishAsync("acme", "OrderPlaced", "{not json", "p1");
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"","amount":3}""", "p2");
        await s.PublishAsync("acme", "NoSuchEvent", """{"orderId":"x"}""", "p3");
        await s.PublishAsync("ACME", "OrderPlaced", """{"orderId":"bad-tenant","amount":1}""", "p4");
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"ok-1","amount":1}""", "p5");

        var parked = await s.DeadLettersAsync("acme", d => d.Count >= 3);
        Assert.Equal(3, parked.Count);
        Assert.Equal(2, parked.Count(d => d.Subject == $"{s.Prefix}.dlq.acme.order"));
        Assert.Single(parked, d => d.Subject == $"{s.Prefix}.dlq.acme._unrouted");
        var invalid = await s.DeadLettersAsync("_invalid", d => d.Count >= 1);
        Assert.Contains("bad-tenant", Assert.Single(invalid).Json, StringComparison.Ordinal);
        var commands = await s.CommandsAsync("acme", c => c.Count >= 1);
        Assert.Equal("ReserveStock", Assert.Single(commands).CommandType);
        var reasons = await ReasonsAsync(s);
        Assert.Contains(reasons, r => r.Kind == "MalformedPayload");
        Assert.Contains(reasons, r => r.Kind == "MissingCorrelation");
        Assert.Contains(reasons, r => r.Kind == "UnknownEventType" && r.Reason.Contains("NoSuchEvent", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tenants_should_be_isolated()
    {
        await using var s = new Scenario(nats, Fast);
        await s.StartNodeAsync();
        for (var i = 0; i < 5; i++)
        {
            await s.PublishAsync("t-one", "OrderPlaced", $$"""{"orderId":"o-{{i}}","amount":1}""", $"one-{i}");
            await s.PublishAsync("t-two", "OrderPlaced", $$"""{"orderId":"o-{{i}}","amount":2}""", $"two-{i}");
        }

        await s.PublishAsync("t-two", "StockReserved", """{"orderId":"o-0"}""", "two-x");
        var one = await s.CommandsAsync("t-one", c => c.Count >= 5);
        var two = await s.CommandsAsync("t-two", c => c.Count >= 6);
        Assert.Equal(5, one.Count);
        Assert.All(one, c => Assert.StartsWith("t-one:", c.MsgId, StringComparison.Ordinal));
        Assert.DoesNotContain(one, c => c.CommandType == "ChargePayment");
        Assert.Single(two, c => c.CommandType == "ChargePayment");
        var consumer = await s.Js.GetConsumerAsync(s.EventsStream, "runner-t-one-order");
        Assert.Equal($"{s.Prefix}.evt.t-one.>", consumer.Info.Config.FilterSubject);
    }

    private static async Task<List<(string Kind, string Reason)>> ReasonsAsync(Scenario s)
    {
        var consumer = await s.Js.CreateOrUpdateConsumerAsync(s.DeadLetterStream, new NATS.Client.JetStream.Models.ConsumerConfig(NatsServerFixture.UniqueName("reasons"))
        {
            FilterSubject = $"{s.Prefix}.dlq.acme.>",
            AckPolicy = NATS.Client.JetStream.Models.ConsumerConfigAckPolicy.None,
        });
        var list = new List<(string, string)>();
        await foreach (var m in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 100 }))
            list.Add((m.Headers!["Runner-Dlq-Kind"].ToString(), m.Headers!["Runner-Dlq-Reason"].ToString()));
        return list;
    }
}
