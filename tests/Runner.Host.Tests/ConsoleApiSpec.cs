using System.Net;
using Akka.Configuration;
using Runner.Host.Ui;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// What the operator console reads beyond the first admin API: tenants paged and searched, instances searched by correlation
/// id, dead letters counted by tenant, each tenant's samples; the console's sessions and settings; a node without the console.
/// </summary>
public sealed class ConsoleApiSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private const string Token = "console-api-token";

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task Tenants_should_be_paged_and_searched_instances_searched_dead_letters_counted_by_tenant_and_samples_kept()
    {
        await using var s = new Scenario(nats, $"""
            runner.admin.token = "{Token}"
            runner.samples.order.payment-timeout = 1h
            runner.admin.console.sample-interval = 200ms
            """);
        await s.StartNodeAsync();
        using var admin = new AdminClient(s.AdminPort, Token);
        for (var i = 0; i < 12; i++) await s.PublishAsync($"t-{i:00}", "OrderPlaced", $$"""{"orderId":"o-{{i}}","amount":1}""", $"t{i}-placed");
        foreach (var id in new[] { "alpha-1", "alpha-2", "beta-1" }) await s.PublishAsync("t-00", "OrderPlaced", $$"""{"orderId":"{{id}}","amount":1}""", id);
        await s.PublishAsync("t-03", "StockReserved", """{"orderId":"nope"}""", "t3-early");
        await s.CommandsAsync("t-00", c => c.Count(x => x.CommandType == "ReserveStock") >= 4);
        await admin.UntilAsync("/admin/tenants", t => t.GetProperty("total").GetInt32() == 12);

        var page = await admin.OkAsync("/admin/tenants?offset=10&limit=5");
        Assert.Equal((12, 10, false), (page.GetProperty("total").GetInt32(), page.GetProperty("offset").GetInt32(), page.GetProperty("more").GetBoolean()));
        Assert.Equal(["t-10", "t-11"], page.GetProperty("tenants").EnumerateArray().Select(t => t.GetProperty("tenant").GetString()));
        var first = await admin.OkAsync("/admin/tenants?limit=5");
        Assert.True(first.GetProperty("more").GetBoolean());
        Assert.Equal(5, first.GetProperty("tenants").GetArrayLength());
        var found = await admin.OkAsync("/admin/tenants?search=T-1");
        Assert.Equal(["t-10", "t-11"], found.GetProperty("tenants").EnumerateArray().Select(t => t.GetProperty("tenant").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/admin/tenants?limit=0")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/admin/tenants?offset=-1")).Status);

        var alpha = await admin.OkAsync("/admin/tenants/t-00/sagas?search=ALPHA");
        Assert.Equal(["alpha-1", "alpha-2"], alpha.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("correlationId").GetString()));
        Assert.Equal(2, alpha.GetProperty("total").GetInt32());

        var dlq = await admin.UntilAsync("/admin/dlq", d => d.GetProperty("total").GetInt64() >= 1);
        Assert.Equal(1L, dlq.GetProperty("byTenant").GetProperty("t-03").GetInt64());

        var samples = await admin.UntilAsync("/admin/tenants/t-00/samples", x => x.GetProperty("samples").GetArrayLength() >= 2);
        var last = samples.GetProperty("samples").EnumerateArray().Last();
        var order = Assert.Single(last.GetProperty("sagas").EnumerateArray());
        Assert.Equal("order", order.GetProperty("saga").GetString());
        Assert.True(order.GetProperty("appliedSeq").GetUInt64() >= 4);
        Assert.Equal(0.2, samples.GetProperty("intervalSeconds").GetDouble());
        Assert.Equal(0, (await admin.OkAsync("/admin/tenants/nobody/samples")).GetProperty("samples").GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/admin/tenants/Bad.Tenant/samples")).Status);
    }

    [Fact]
    public async Task A_node_with_the_console_off_should_not_serve_it()
    {
        await using var s = new Scenario(nats, "runner.admin.console.enabled = off");
        await s.StartNodeAsync();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{s.AdminPort}") };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/ui/", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/admin/cluster", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public void Sessions_should_expire_end_with_their_token_and_refuse_forgeries()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-12-05T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var settings = new AdminSettings { OperatorToken = "op", ReadToken = "rd", ConsoleSessionTtl = TimeSpan.FromHours(1) };
        var sessions = new ConsoleSessions(settings, time);
        var (value, nonce, expires) = sessions.Issue(AdminSettings.Access.Read);
        Assert.Equal(time.Now.AddHours(1), expires);
        var session = sessions.Verify(value);
        Assert.Equal((AdminSettings.Access.Read, nonce), (session?.Access, session?.Nonce));
        Assert.Null(sessions.Verify(value.Replace("v1.read.", "v1.operate.", StringComparison.Ordinal)));
        Assert.Null(sessions.Verify(value + "0"));
        Assert.Null(sessions.Verify("v1.read.9999999999.00.00"));
        Assert.Null(sessions.Verify(null));
        Assert.Null(new ConsoleSessions(settings with { ReadToken = "rotated" }, time).Verify(value));
        Assert.Null(new ConsoleSessions(settings with { ReadToken = "" }, time).Verify(value));
        time.Now = expires;
        Assert.Null(sessions.Verify(value));
        Assert.Throws<ArgumentOutOfRangeException>(() => sessions.Issue(AdminSettings.Access.None));
    }

    [Fact]
    public void Console_settings_should_default_read_their_keys_and_env_and_refuse_bad_values()
    {
        var defaults = AdminSettings.Create(RunnerConfiguration.Load([], new Dictionary<string, string?>()));
        Assert.Equal((true, TimeSpan.FromHours(8), TimeSpan.FromSeconds(5), 120),
            (defaults.ConsoleEnabled, defaults.ConsoleSessionTtl, defaults.ConsoleSampleInterval, defaults.ConsoleSamplesKept));
        var off = AdminSettings.Create(RunnerConfiguration.Load([], new Dictionary<string, string?> { ["RUNNER_ADMIN_CONSOLE"] = "off" }));
        Assert.False(off.ConsoleEnabled);
        var set = AdminSettings.Create(ConfigurationFactory.ParseString("runner.admin.console { session-ttl = 30m, sample-interval = 1s, samples-kept = 60 }")
            .WithFallback(RunnerConfiguration.Defaults()));
        Assert.Equal((TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(1), 60), (set.ConsoleSessionTtl, set.ConsoleSampleInterval, set.ConsoleSamplesKept));
        var kept = Assert.Throws<ConfigurationException>(() =>
            AdminSettings.Create(ConfigurationFactory.ParseString("runner.admin.console.samples-kept = 1").WithFallback(RunnerConfiguration.Defaults())));
        Assert.Contains("samples-kept", kept.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigurationException>(() =>
            AdminSettings.Create(ConfigurationFactory.ParseString("runner.admin.console.session-ttl = 0s").WithFallback(RunnerConfiguration.Defaults())));
    }
}
