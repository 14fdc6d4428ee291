using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Akka.Configuration;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>The admin endpoint of a real node: health, readiness, metrics, the token, bad input and unknown tenants.</summary>
public sealed class AdminApiSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private const string Token = "s3cret-token";

    private static async Task<HttpResponseMessage> Until(HttpClient http, string path, Func<HttpResponseMessage, Task<bool>> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            if (await done(response) || DateTime.UtcNow > deadline) return response;
            await Task.Delay(100); // polling the endpoint for the condition
        }
    }

    [Fact]
    public async Task Admin_endpoint_should_answer_health_readiness_tenants_and_metrics_behind_its_token()
    {
        await using var s = new Scenario(nats, $"runner.admin.token = \"{Token}\"");
        await s.StartNodeAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{s.AdminPort}") };

        Assert.Equal("alive\n", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        var ready = await Until(http, "/ready", r => Task.FromResult(r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        // No token, a wrong token: 401 with a message.
        var anonymous = await http.GetAsync(new Uri("/admin/cluster", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("bearer token", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/admin/cluster", UriKind.Relative))).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var cluster = JsonDocument.Parse(await http.GetStringAsync(new Uri("/admin/cluster", UriKind.Relative)));
        var member = Assert.Single(cluster.RootElement.GetProperty("members").EnumerateArray());
        Assert.Equal(s.Name, member.GetProperty("shardId").GetString());
        Assert.Equal("Up", member.GetProperty("status").GetString());

        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"a-1","amount":3}""", "admin-1");
        await s.CommandsAsync("acme", c => c.Count >= 1);
        var acme = await Until(http, "/admin/tenants/acme", async r =>
            r.StatusCode == HttpStatusCode.OK && (await r.Content.ReadAsStringAsync()) is var text
                                               && text.Contains("\"runningHere\":true", StringComparison.Ordinal)
                                               && text.Contains("\"backlog\":0", StringComparison.Ordinal)); // its event acked
        using (var doc = JsonDocument.Parse(await acme.Content.ReadAsStringAsync()))
        {
            Assert.True(doc.RootElement.GetProperty("placement").GetProperty("runnable").GetBoolean());
            Assert.Equal("open", doc.RootElement.GetProperty("placement").GetProperty("source").GetString());
            Assert.Equal(s.Name, doc.RootElement.GetProperty("owner").GetProperty("shardId").GetString());
            Assert.Equal($"running on {s.Name}", doc.RootElement.GetProperty("status").GetString());
            Assert.Equal(0, doc.RootElement.GetProperty("backlog").GetInt32());
        }

        using (var list = JsonDocument.Parse(await http.GetStringAsync(new Uri("/admin/tenants", UriKind.Relative))))
            Assert.Contains(list.RootElement.GetProperty("tenants").EnumerateArray(), t => t.GetProperty("tenant").GetString() == "acme");

        var bad = await http.GetAsync(new Uri("/admin/tenants/Bad.Tenant", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("Tenant id", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var unknown = await http.GetAsync(new Uri("/admin/tenants/nobody", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("not known", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using (var dlq = JsonDocument.Parse(await http.GetStringAsync(new Uri("/admin/dlq", UriKind.Relative))))
            Assert.Equal(0, dlq.RootElement.GetProperty("total").GetInt64());

        string[] expected = ["runner_commands_published", "runner_events_applied", "runner_persist_latency", "runner_consumer_lag", "runner_outbox_pending"];
        var metrics = await Until(http, "/metrics", async r =>
        {
            var text = await r.Content.ReadAsStringAsync();
            return expected.All(m => text.Contains(m, StringComparison.Ordinal));
        });
        var scraped = await metrics.Content.ReadAsStringAsync();
        Assert.All(expected, m => Assert.Contains(m, scraped, StringComparison.Ordinal));
        Assert.Contains("tenant=\"acme\"", scraped, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_and_saga_endpoints_should_refuse_bad_input_with_a_message_and_count_replays()
    {
        await using var s = new Scenario(nats, $"runner.admin.token = \"{Token}\"");
        await s.StartNodeAsync();
        await s.PublishAsync("acme", "OrderPlaced", """{"orderId":"b-1","amount":3}""", "bad-1");
        await s.CommandsAsync("acme", c => c.Count >= 1);
        using (var anonymous = new AdminClient(s.AdminPort))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/admin/replay", "{}")).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/admin/tenants/acme/sagas")).Status);
        }

        using var admin = new AdminClient(s.AdminPort, Token);
        async Task Refused(HttpStatusCode status, string body, string message)
        {
            var (code, json) = await admin.PostAsync("/admin/replay", body);
            Assert.True(code == status, $"{body}: {(int)code} {json}");
            Assert.Contains(message, json.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        await Refused(HttpStatusCode.BadRequest, "not json", "must be a JSON object");
        await Refused(HttpStatusCode.BadRequest, "[1]", "must be a JSON object");
        await Refused(HttpStatusCode.BadRequest, """{"tenant_id":"acme","saga_name":"order","mode":"full_reset","dryrun":true}""", "unknown field 'dryrun'");
        await Refused(HttpStatusCode.BadRequest, """{"saga_name":"order","mode":"full_reset"}""", "tenant_id is required");
        await Refused(HttpStatusCode.BadRequest, """{"tenant_id":"Bad.Tenant","saga_name":"order","mode":"full_reset"}""", "is invalid");
        await Refused(HttpStatusCode.BadRequest, """{"tenant_id":"acme","saga_name":"order","mode":"everything"}""", "mode must be one of checkpoint_only");
        await Refused(HttpStatusCode.BadRequest, """{"tenant_id":"acme","saga_name":"order","mode":"full_reset","from_seq":0}""", "from_seq must be");
        await Refused(HttpStatusCode.BadRequest, """{"tenant_id":"acme","saga_name":"order","mode":"full_reset","dry_run":"yes"}""", "dry_run must be true or false");
        await Refused(HttpStatusCode.BadRequest, """{"tenant_id":"acme","saga_name":"order","mode":"full_reset","from_seq":99}""", "beyond the end of the events stream");
        await Refused(HttpStatusCode.NotFound, """{"tenant_id":"acme","saga_name":"payment","mode":"full_reset"}""", "no saga named 'payment'");
        await Refused(HttpStatusCode.NotFound, """{"tenant_id":"nobody","saga_name":"order","mode":"full_reset"}""", "not known");

        async Task Get(HttpStatusCode status, string path, string message)
        {
            var (code, json) = await admin.GetAsync(path);
            Assert.True(code == status, $"{path}: {(int)code} {json}");
            Assert.Contains(message, json.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        await Get(HttpStatusCode.BadRequest, "/admin/replay/garbage", "is not a replay id");
        await Get(HttpStatusCode.NotFound, "/admin/replay/acme.order.nope", "has no replay");
        await Get(HttpStatusCode.BadRequest, "/admin/tenants/acme/sagas?limit=0", "limit must be");
        await Get(HttpStatusCode.BadRequest, "/admin/tenants/acme/sagas?offset=-1", "offset must be");
        await Get(HttpStatusCode.NotFound, "/admin/tenants/acme/sagas?saga=payment", "no saga named");
        await Get(HttpStatusCode.BadRequest, "/admin/tenants/Bad.Tenant/sagas", "is invalid");
        await Get(HttpStatusCode.NotFound, "/admin/tenants/acme/sagas/order/no-such-order", "has no instance 'no-such-order'");
        await Get(HttpStatusCode.NotFound, "/admin/tenants/acme/sagas/payment/b-1", "no saga named");

        // A replay that is accepted is counted.
        await admin.WaitReplayAsync(await admin.StartReplayAsync("acme", "order", "checkpoint_only"));
        var metrics = await Until(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{s.AdminPort}") }, "/metrics",
            async r => (await r.Content.ReadAsStringAsync()).Contains("runner_replays_finished", StringComparison.Ordinal));
        var text = await metrics.Content.ReadAsStringAsync();
        Assert.Contains("runner_replays_started", text, StringComparison.Ordinal);
        Assert.Contains("mode=\"checkpoint_only\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unplaced_tenant_should_be_reported_with_its_backlog()
    {
        // A placement bucket with no entry for the tenant: it is placed nowhere, so nothing consumes its events.
        await using var bucketed = new Scenario(nats, $"runner.placement.bucket = \"{NatsServerFixture.UniqueName("placement")}\"");
        await bucketed.StartNodeAsync();
        await bucketed.PublishAsync("lost", "OrderPlaced", """{"orderId":"l-1","amount":1}""", "lost-1");
        await bucketed.PublishAsync("lost", "OrderPlaced", """{"orderId":"l-2","amount":1}""", "lost-2");
        using var admin = new AdminClient(bucketed.AdminPort);
        var lost = await admin.UntilAsync("/admin/tenants/lost", t => t.GetProperty("backlog").GetInt32() == 2);
        Assert.True(lost.GetProperty("unplaced").GetBoolean());
        Assert.Equal("unplaced", lost.GetProperty("status").GetString());
        Assert.False(lost.GetProperty("runningHere").GetBoolean());
        Assert.Equal(JsonValueKind.Null, lost.GetProperty("lag").GetProperty("order").ValueKind);
        var (status, body) = await admin.PostAsync("/admin/replay", """{"tenant_id":"lost","saga_name":"order","mode":"checkpoint_only"}""");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("runs nowhere", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_should_refuse_to_expose_the_admin_endpoint_beyond_loopback_without_a_token()
    {
        static AdminSettings Admin(string hocon) => AdminSettings.Create(ConfigurationFactory.ParseString($"runner.admin {{ {hocon} }}"));
        var e = Assert.Throws<ConfigurationException>(() => Admin("hostname = \"0.0.0.0\", token = \"\""));
        Assert.Contains("RUNNER_ADMIN_TOKEN", e.Message, StringComparison.Ordinal);
        Assert.Contains("RUNNER_ADMIN_OPERATOR_TOKEN", e.Message, StringComparison.Ordinal);
        Assert.True(Admin("hostname = \"0.0.0.0\", token = \"t\"").RequiresToken);
        Assert.True(Admin("hostname = \"0.0.0.0\", read-token = \"r\"").RequiresToken); // a read-only endpoint
        Assert.False(Admin("hostname = \"127.0.0.1\"").RequiresToken);
    }

    [Fact]
    public void The_single_token_should_be_the_operator_token_and_tokens_that_clash_should_be_refused()
    {
        static AdminSettings Admin(string hocon) => AdminSettings.Create(ConfigurationFactory.ParseString($"runner.admin {{ {hocon} }}"));
        var legacy = Admin("token = \"op\", read-token = \"rd\"");
        Assert.Equal(("op", "rd"), (legacy.OperatorToken, legacy.ReadToken));
        Assert.Equal(AdminSettings.Access.Operate, legacy.AccessOf("Bearer op"));
        Assert.Equal(AdminSettings.Access.Read, legacy.AccessOf("Bearer rd"));
        Assert.Equal(AdminSettings.Access.None, legacy.AccessOf("Bearer nope"));
        Assert.Equal(AdminSettings.Access.None, legacy.AccessOf(""));
        Assert.Equal("op", Admin("token = \"op\", operator-token = \"op\"").OperatorToken);
        Assert.Equal(AdminSettings.Access.Operate, Admin("").AccessOf("")); // loopback without tokens: open
        Assert.Contains("set one of them", Assert.Throws<ConfigurationException>(() => Admin("token = \"a\", operator-token = \"b\"")).Message,
            StringComparison.Ordinal);
        Assert.Contains("token of their own", Assert.Throws<ConfigurationException>(() => Admin("operator-token = \"a\", read-token = \"a\"")).Message,
            StringComparison.Ordinal);
        var env = RunnerConfiguration.Load([], new Dictionary<string, string?>
        {
            ["RUNNER_ADMIN_READ_TOKEN"] = "rd", ["RUNNER_ADMIN_OPERATOR_TOKEN"] = "op", ["RUNNER_ADMIN_TLS_CERT"] = "/etc/runner/admin.pfx",
            ["RUNNER_ADMIN_TLS_PASSWORD"] = "pw",
        });
        var fromEnv = AdminSettings.Create(env);
        Assert.Equal(("op", "rd", "/etc/runner/admin.pfx", "pw", true), (fromEnv.OperatorToken, fromEnv.ReadToken, fromEnv.CertificatePath, fromEnv.CertificatePassword,
            fromEnv.UsesHttps));
    }

    [Fact]
    public async Task Read_token_should_read_and_be_refused_actions_with_403_while_the_operator_token_does_both()
    {
        await using var s = new Scenario(nats, "runner.admin { read-token = \"reader\", operator-token = \"operator\" }");
        await s.StartNodeAsync();
        using (var anonymous = new AdminClient(s.AdminPort))
        {
            var (status, body) = await anonymous.GetAsync("/admin/cluster");
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Contains("RUNNER_ADMIN_READ_TOKEN", body.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/admin/drain", "")).Status);
        }

        using (var wrong = new AdminClient(s.AdminPort, "guess"))
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.PostAsync("/admin/drain", "")).Status);

        using var reader = new AdminClient(s.AdminPort, "reader");
        await reader.UntilAsync("/admin/cluster", c => c.GetProperty("members").GetArrayLength() == 1);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/admin/dlq")).Status);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/admin/tenants")).Status);
        foreach (var action in new[] { "/admin/drain", "/admin/replay", "/admin/cluster/leave", "/admin/dlq/redrive", "/admin/dlq/purge" })
        {
            var (status, body) = await reader.PostAsync(action, """{"dry_run":true}""");
            Assert.True(status == HttpStatusCode.Forbidden, $"{action}: {(int)status} {body}");
            Assert.Contains("the read token may only read; send the operator token", body.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        // The operator token reads and gets past the check for actions (a bad body: 400, not 401 or 403).
        using var operate = new AdminClient(s.AdminPort, "operator");
        Assert.Equal(HttpStatusCode.OK, (await operate.GetAsync("/admin/cluster")).Status);
        var (replay, answer) = await operate.PostAsync("/admin/replay", "not json");
        Assert.True(replay == HttpStatusCode.BadRequest, $"{(int)replay} {answer}");
        Assert.Equal(HttpStatusCode.OK, (await operate.PostAsync("/admin/dlq/purge", """{"dry_run":true}""")).Status);
    }

    [Fact]
    public async Task A_read_token_alone_should_make_a_read_only_endpoint()
    {
        await using var s = new Scenario(nats, "runner.admin.read-token = \"reader\"");
        await s.StartNodeAsync();
        using var reader = new AdminClient(s.AdminPort, "reader");
        await reader.UntilAsync("/admin/cluster", c => c.GetProperty("members").GetArrayLength() == 1);
        var (status, body) = await reader.PostAsync("/admin/drain", "");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("read-only", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
