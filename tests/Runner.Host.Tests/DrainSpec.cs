using System.Net;
using System.Text.Json;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>Drain of a real node process: through the admin endpoint and through SIGTERM, with per-tenant receipts.</summary>
public sealed class DrainSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task Post_admin_drain_should_hand_off_every_tenant_with_a_complete_receipt_and_exit_0()
    {
        await using var s = new Scenario(nats);
        var env = NodeEnvironment.For(s, nats, "runner.samples.order.payment-timeout = 1h");
        await using var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"d-1","amount":3}""", "drain-1");
        await s.PublishAsync("acme", "StockReserved", """{"orderId":"d-1"}""", "drain-2");
        await s.PublishAsync("beta", "OrderPlaced", """{"orderId":"d-2","amount":3}""", "drain-3");
        await s.CommandsAsync("acme", c => c.Count >= 2, TimeSpan.FromSeconds(60));
        await s.CommandsAsync("beta", c => c.Count >= 1, TimeSpan.FromSeconds(60));

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{env["RUNNER_ADMIN_PORT"]}"), Timeout = TimeSpan.FromMinutes(3) };
        using var response = await http.PostAsync(new Uri("/admin/drain?wait=true", UriKind.Relative), null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}\n{node.Output}");

        using var doc = JsonDocument.Parse(body);
        Assert.True(doc.RootElement.GetProperty("complete").GetBoolean());
        var tenants = doc.RootElement.GetProperty("tenants").EnumerateArray().ToDictionary(t => t.GetProperty("tenant").GetString()!);
        Assert.Equal(["acme", "beta"], tenants.Keys.Order());
        var acme = tenants["acme"];
        Assert.Equal(0, acme.GetProperty("outboxPending").GetInt32());
        Assert.Equal(1, acme.GetProperty("timersPending").GetInt32()); // d-1 waits for its payment (1 h)
        Assert.True(acme.GetProperty("nextTimerDue").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(50));
        var stream = await s.Js.GetStreamAsync(s.EventsStream);
        var acked = acme.GetProperty("lastAcked").GetProperty("order").GetUInt64() + tenants["beta"].GetProperty("lastAcked").GetProperty("order").GetUInt64();
        Assert.True(acked >= 2, body); // both tenants' consumers acked their events
        Assert.Equal(3L, stream.Info.State.Messages);

        var code = await node.ExitCodeAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"exit {code}:\n{node.Output}");
        Assert.Contains("Tenant acme handed off: acked [order=", node.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_should_drain_the_node_and_exit_0()
    {
        await using var s = new Scenario(nats);
        var env = NodeEnvironment.For(s, nats, "");
        await using var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90));
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"t-1","amount":3}""", "term-1");
        await s.CommandsAsync("acme", c => c.Count >= 1, TimeSpan.FromSeconds(60));

        var code = await node.TerminateAsync(TimeSpan.FromSeconds(90));
        Assert.True(code == 0, $"exit {code}:\n{node.Output}");
        Assert.Contains("Tenant acme handed off: acked [order=", node.Output, StringComparison.Ordinal);
        Assert.Contains("outbox pending 0", node.Output, StringComparison.Ordinal);
    }
}
