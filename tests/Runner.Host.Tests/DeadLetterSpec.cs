using System.Net;
using System.Text.Json;
using Runner.Nats;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// Parked events through the admin endpoint of a real node: listed and shown with filters, redriven once the saga accepts
/// them (and to the saga that parked them only), a repeated redrive applied once, dry runs that send nothing, purges.
/// </summary>
public sealed class DeadLetterSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private const string Token = "dlq-token";

    /// <summary>The order saga (1 h payment timeout) and the same saga under the name <c>flaky</c> (never failing here): two sagas handling the same events.</summary>
    private static async Task<Scenario> StartAsync(NatsServerFixture nats)
    {
        var s = new Scenario(nats, $"runner.samples.order.payment-timeout = 1h\nrunner.admin.token = \"{Token}\"");
        await s.StartNodeAsync(new FlakyOrderSaga("no-such-order"));
        return s;
    }

    private static ulong Seq(JsonElement e) => e.GetProperty("seq").GetUInt64();

    private static JsonElement[] Events(JsonElement page) => [.. page.GetProperty("events").EnumerateArray()];

    private static string Body(object o) => JsonSerializer.Serialize(o);

    private static bool FromSaga(ReadCommand c, string saga, string order) => c.MsgId.StartsWith($"acme:{saga}:{order}:", StringComparison.Ordinal);

    [Fact]
    public async Task Dead_letters_should_be_listed_shown_redriven_to_the_saga_that_parked_them_once_it_accepts_them_and_purged()
    {
        await using var s = await StartAsync(nats);
        using var admin = new AdminClient(s.AdminPort, Token);

        // StockReserved before its order exists: both sagas park it (UnexpectedEvent); a payload without its amount (MalformedPayload,
        // both sagas); an event type no saga handles (once, under _unrouted).
        await s.PublishAsync("acme", "StockReserved", """{"orderId":"o-1"}""", "o1-reserved");
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"o-2"}""", "o2-placed");
        await s.PublishAsync("acme", "Mystery", """{"x":1}""", "mystery-1");
        await s.DeadLettersAsync("acme", d => d.Count >= 5);

        var all = Events(await admin.OkAsync("/admin/dlq/events?tenant=acme"));
        Assert.Equal(5, all.Length);
        var unexpected = Events(await admin.OkAsync("/admin/dlq/events?tenant=acme&saga=order&kind=UnexpectedEvent"));
        var parked = Assert.Single(unexpected);
        Assert.Equal(2, Events(await admin.OkAsync("/admin/dlq/events?kind=MalformedPayload")).Length);
        Assert.Equal("UnknownEventType", Assert.Single(Events(await admin.OkAsync("/admin/dlq/events?saga=_unrouted"))).GetProperty("kind").GetString());
        var page = await admin.OkAsync("/admin/dlq/events?tenant=acme&limit=2");
        Assert.Equal(2, Events(page).Length);
        Assert.Equal(Seq(all[2]), page.GetProperty("next").GetUInt64());
        Assert.Equal(3, Events(await admin.OkAsync($"/admin/dlq/events?from_seq={Seq(all[2])}&to_seq={Seq(all[4])}")).Length);
        Assert.Equal(5L, (await admin.OkAsync("/admin/dlq")).GetProperty("total").GetInt64());

        var shown = await admin.OkAsync($"/admin/dlq/events/{Seq(parked)}");
        Assert.Equal(("order", "UnexpectedEvent", "o1-reserved"), (shown.GetProperty("saga").GetString(), shown.GetProperty("kind").GetString(),
            shown.GetProperty("originMsgId").GetString()));
        Assert.Contains("StockReserved while the order is New", shown.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(s.EventSubject("acme", "StockReserved"), shown.GetProperty("originSubject").GetString());
        Assert.Equal("""{"orderId":"o-1"}""", shown.GetProperty("payload").GetString());
        Assert.Equal("UnexpectedEvent", shown.GetProperty("headers").GetProperty(RunnerHeaders.DeadLetterKind).GetString());
        var redriveHeaders = shown.GetProperty("redrive").GetProperty("headers");
        Assert.Equal("order", redriveHeaders.GetProperty(RunnerHeaders.RedriveSaga).GetString());
        Assert.StartsWith("redrive:acme:order:", redriveHeaders.GetProperty("Nats-Msg-Id").GetString(), StringComparison.Ordinal);

        // Refusals name what is wrong.
        foreach (var bad in new[] { "/admin/dlq/events?tenant=Bad.Tenant", "/admin/dlq/events?from_seq=5&to_seq=2", "/admin/dlq/events?limit=0",
                     "/admin/dlq/events?from_seq=x", "/admin/dlq/events?colour=red", "/admin/dlq/events/abc" })
        {
            var (status, body) = await admin.GetAsync(bad);
            Assert.True(status == HttpStatusCode.BadRequest, $"{bad}: {(int)status} {body}");
            Assert.False(string.IsNullOrEmpty(body.GetProperty("error").GetString()));
        }

        var (missing, why) = await admin.GetAsync("/admin/dlq/events/999");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Contains("999", why.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/admin/dlq/redrive", Body(new { seq = 999 }))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/admin/dlq/redrive", Body(new { tenant = "acme", mode = "all" }))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/admin/dlq/purge", Body(new { from_seq = 0 }))).Status);
        using (var anonymous = new AdminClient(s.AdminPort))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/admin/dlq/redrive", Body(new { seq = Seq(parked) }))).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/admin/dlq/purge", Body(new { seq = Seq(parked) }))).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/admin/dlq/events")).Status);
        }

        // The order arrives; a dry run says what would be sent and sends nothing.
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"o-1","amount":4}""", "o1-placed");
        await s.CommandsAsync("acme", c => c.Count(x => x.CommandType == "ReserveStock") >= 2);
        var (dryStatus, dry) = await admin.PostAsync("/admin/dlq/redrive", Body(new { seq = Seq(parked), dry_run = true }));
        Assert.Equal(HttpStatusCode.OK, dryStatus);
        var would = Assert.Single(Events(dry));
        Assert.Equal(("would_send", s.EventSubject("acme", "StockReserved")), (would.GetProperty("outcome").GetString(), would.GetProperty("subject").GetString()));
        Assert.StartsWith("redrive:acme:order:", would.GetProperty("headers").GetProperty("Nats-Msg-Id").GetString(), StringComparison.Ordinal);
        Assert.Equal(5L, (await admin.OkAsync("/admin/dlq")).GetProperty("total").GetInt64());
        var eventsBefore = await s.ReadAsync(s.EventsStream, s.EventSubject("acme", "StockReserved"), r => r.Count >= 1, TimeSpan.FromSeconds(5));
        Assert.Single(eventsBefore);

        // The redrive: the order saga applies it (ChargePayment), the flaky saga, which parked its own copy, does not.
        var sent = Assert.Single(Events(await Redrive(admin, new { seq = Seq(parked) })));
        Assert.Equal("sent", sent.GetProperty("outcome").GetString());
        var commands = await s.CommandsAsync("acme", c => c.Any(x => x.CommandType == "ChargePayment"));
        Assert.Single(commands, c => c.CommandType == "ChargePayment" && FromSaga(c, "order", "o-1"));
        var order = await admin.UntilAsync("/admin/tenants/acme/sagas/order/o-1", i => i.GetProperty("status").GetString() == "AwaitingPayment");
        Assert.Contains(order.GetProperty("history").EnumerateArray(), h => h.TryGetProperty("dedupeKey", out var k) && k.GetString() == "id:" + sent.GetProperty("msgId").GetString());
        Assert.Equal("AwaitingStock", (await admin.SagaAsync("acme", "flaky", "o-1")).GetProperty("status").GetString());
        Assert.Single(Events(await admin.OkAsync("/admin/dlq/events?saga=flaky&kind=UnexpectedEvent")));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/admin/dlq/redrive", Body(new { seq = Seq(parked) }))).Status);

        // A payload the saga still refuses is parked again (a new entry), by the saga it went back to only.
        var malformed = Events(await admin.OkAsync("/admin/dlq/events?saga=order&kind=MalformedPayload")).Single();
        Assert.Equal("sent", Assert.Single(Events(await Redrive(admin, new { seq = Seq(malformed) }))).GetProperty("outcome").GetString());
        var again = await admin.UntilAsync("/admin/dlq/events?kind=MalformedPayload", p => Events(p).Any(e => Seq(e) > Seq(malformed)));
        Assert.Equal(["flaky", "order"], Events(again).Select(e => e.GetProperty("saga").GetString()).Order(StringComparer.Ordinal));

        // Purge: a dry run lists, a purge deletes only what matches.
        var (_, dryPurge) = await admin.PostAsync("/admin/dlq/purge", Body(new { saga = "flaky", dry_run = true }));
        Assert.Equal(2, Events(dryPurge).Length);
        Assert.Equal(4L, (await admin.OkAsync("/admin/dlq")).GetProperty("total").GetInt64());
        var (purgeStatus, purged) = await admin.PostAsync("/admin/dlq/purge", Body(new { tenant = "acme", saga = "flaky" }));
        Assert.Equal((HttpStatusCode.OK, 2), (purgeStatus, purged.GetProperty("deleted").GetInt32()));
        Assert.Empty(Events(await admin.OkAsync("/admin/dlq/events?saga=flaky")));
        Assert.Equal(2L, (await admin.OkAsync("/admin/dlq")).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task A_redrive_repeated_after_a_crash_between_publish_and_delete_should_apply_the_event_once()
    {
        await using var s = await StartAsync(nats);
        using var admin = new AdminClient(s.AdminPort, Token);
        await s.PublishAsync("acme", "StockReserved", """{"orderId":"o-3"}""", "o3-reserved");
        await s.DeadLettersAsync("acme", d => d.Count >= 2);
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"o-3","amount":4}""", "o3-placed");
        await s.CommandsAsync("acme", c => c.Count(x => x.CommandType == "ReserveStock") >= 2);
        var parked = Assert.Single(Events(await admin.OkAsync("/admin/dlq/events?saga=order")));

        // A redrive that published and died before it removed the entry.
        await using (var edge = new NatsEdge(NatsSettings.Create(s.NodeConfig(0))))
        {
            await edge.StartAsync();
            var crashing = new DeadLetters(edge.JetStream, edge.Settings) { AfterPublish = _ => throw new InvalidOperationException("crash after publish") };
            await Assert.ThrowsAsync<InvalidOperationException>(() =>
                crashing.RedriveAsync(new DeadLetterFilter { FromSeq = Seq(parked), ToSeq = Seq(parked) }, false, 10, _ => true, CancellationToken.None));
        }

        await s.CommandsAsync("acme", c => c.Any(x => x.CommandType == "ChargePayment" && FromSaga(x, "order", "o-3")));

        // The operator redrives it again: not sent again, removed.
        var again = Assert.Single(Events(await Redrive(admin, new { seq = Seq(parked) })));
        Assert.Equal("already_sent", again.GetProperty("outcome").GetString());
        Assert.Empty(Events(await admin.OkAsync("/admin/dlq/events?saga=order")));

        // Everything of o-3 before PaymentCaptured is behind it: once ShipOrder is out, ChargePayment was decided exactly once.
        await s.PublishAsync("acme", "PaymentCaptured", """{"orderId":"o-3"}""", "o3-paid");
        var commands = await s.CommandsAsync("acme", c => c.Any(x => x.CommandType == "ShipOrder" && FromSaga(x, "order", "o-3")));
        Assert.Single(commands, c => c.CommandType == "ChargePayment" && FromSaga(c, "order", "o-3"));
        var copies = await s.ReadAsync(s.EventsStream, s.EventSubject("acme", "StockReserved"), r => r.Count >= 2, TimeSpan.FromSeconds(5));
        Assert.Equal(2, copies.Count);
        Assert.Equal(again.GetProperty("msgId").GetString(), copies[1].MsgId);
    }

    private static async Task<JsonElement> Redrive(AdminClient admin, object body)
    {
        var (status, json) = await admin.PostAsync("/admin/dlq/redrive", Body(body));
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"POST /admin/dlq/redrive: {(int)status} {json}");
        return json;
    }
}
