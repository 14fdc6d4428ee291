using System.Net;
using System.Text.Json;
using OpenQA.Selenium;
using Runner.Host.Tests;
using Runner.TestKit;
using Xunit;

namespace Runner.Console.Tests;

/// <summary>One node with real NATS and the order saga, tokens set, its console sampling every second; shared by the specs.</summary>
public sealed class ConsoleNode : IAsyncLifetime
{
    public const string OperatorToken = "console-operator-token";
    public const string ReadToken = "console-read-token";

    public NatsServerFixture Nats { get; } = new();

    public Scenario Scenario { get; private set; } = null!;

    public string BaseUrl => $"http://127.0.0.1:{Scenario.AdminPort}";

    public AdminClient Admin() => new(Scenario.AdminPort, OperatorToken);

    public async Task InitializeAsync()
    {
        Scenario = new Scenario(Nats, $"""
            runner.samples.order.payment-timeout = 1h
            runner.admin.operator-token = "{OperatorToken}"
            runner.admin.read-token = "{ReadToken}"
            runner.admin.console.sample-interval = 1s
            """);
        await Scenario.StartNodeAsync();
        using var admin = Admin();
        await admin.UntilAsync("/admin/cluster", c => c.GetProperty("members").EnumerateArray().Any(m => m.GetProperty("status").GetString() == "Up"));
    }

    public async Task DisposeAsync()
    {
        await Scenario.DisposeAsync();
        await Nats.DisposeAsync();
    }
}

/// <summary>
/// The operator console in headless Chromium against a real node: each page opens, an instance is found by its id and its
/// timeline read, a parked event is redriven and seen applied, a replay is previewed, actions are only for the operator, and
/// nothing is shown without a sign-in. Screenshots are saved (<c>RUNNER_CONSOLE_SCREENSHOTS=docs</c> regenerates the README's).
/// </summary>
public sealed class ConsoleSpec(ConsoleNode node) : IClassFixture<ConsoleNode>
{
    private Scenario S => node.Scenario;

    private async Task OrderAsync(string order, int amount = 5)
    {
        await S.PublishAsync("acme", "OrderPlaced", $$"""{"orderId":"{{order}}","amount":{{amount}}}""", order + "-placed");
        await S.CommandsAsync("acme", c => c.Any(x => x.CommandType == "ReserveStock" && x.Json.Contains($"\"{order}\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Pages_and_the_api_without_a_sign_in_should_be_refused_and_a_read_session_should_only_read()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(node.BaseUrl) };
        foreach (var page in new[] { "/ui/", "/ui/tenants/acme", "/ui/dlq", "/ui/replays" })
        {
            using var response = await http.GetAsync(new Uri(page, UriKind.Relative));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/ui/login?next=", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
            Assert.DoesNotContain("console.js", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var root = await http.GetAsync(new Uri("/", UriKind.Relative))) Assert.Equal("/ui/", root.Headers.Location!.OriginalString);
        using (var api = await http.GetAsync(new Uri("/admin/tenants", UriKind.Relative))) Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);

        using var browser = new Browser(node.BaseUrl);
        browser.Open("/ui/dlq?tenant=acme");
        Assert.Contains("/ui/login", browser.Driver.Url, StringComparison.Ordinal);
        Assert.Empty(browser.Driver.FindElements(By.Id("main")));
        browser.Find("#token").SendKeys("not-a-token");
        browser.Find("#sign-in").Click();
        Assert.Contains("neither", browser.Text("#login-error"), StringComparison.Ordinal);

        // The read token: the page it was sent to, no actions offered, and the API refuses its actions even with the CSRF header.
        browser.Find("#token").SendKeys(ConsoleNode.ReadToken);
        browser.Find("#sign-in").Click();
        browser.Loaded();
        Assert.EndsWith("/ui/dlq?tenant=acme", browser.Driver.Url, StringComparison.Ordinal);
        Assert.Equal("read-only", browser.Text("#access"));
        browser.Open("/ui/replays");
        Assert.Empty(browser.Driver.FindElements(By.Id("replay-preview")));
        browser.Open("/ui/drain");
        Assert.Empty(browser.Driver.FindElements(By.Id("drain-start")));
        var readSession = browser.Driver.Manage().Cookies.GetCookieNamed("runner_session")!.Value;
        var readCsrf = browser.Driver.Manage().Cookies.GetCookieNamed("runner_csrf")!.Value;
        Assert.Equal(HttpStatusCode.OK, await SendAsync(http, HttpMethod.Get, "/admin/dlq", readSession, null));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(http, HttpMethod.Post, "/admin/dlq/purge", readSession, readCsrf));

        // The operator token: actions through the cookie need the session's CSRF header; a forged cookie is nobody.
        browser.SignOut();
        browser.SignIn(ConsoleNode.OperatorToken);
        Assert.Equal("operator", browser.Text("#access"));
        var session = browser.Driver.Manage().Cookies.GetCookieNamed("runner_session")!;
        Assert.True(session.IsHttpOnly);
        var csrf = browser.Driver.Manage().Cookies.GetCookieNamed("runner_csrf")!.Value;
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(http, HttpMethod.Post, "/admin/dlq/purge", session.Value, null));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(http, HttpMethod.Post, "/admin/dlq/purge", session.Value, "wrong"));
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync(http, HttpMethod.Post, "/admin/dlq/purge", session.Value, csrf)); // authorised: nothing parked at 999999
        var forged = session.Value[..^1] + (session.Value[^1] == '0' ? '1' : '0');
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(http, HttpMethod.Get, "/admin/dlq", forged, null));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(http, HttpMethod.Get, "/admin/dlq", readSession.Replace("v1.read.", "v1.operate.", StringComparison.Ordinal), null));
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient http, HttpMethod method, string path, string session, string? csrf)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Add("Cookie", "runner_session=" + session);
        if (csrf is not null) request.Headers.Add("X-Runner-Csrf", csrf);
        if (method == HttpMethod.Post) request.Content = new StringContent("""{"seq":999999}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task An_operator_should_find_an_instance_by_its_id_and_read_its_timeline_and_state()
    {
        for (var i = 1; i <= 12; i++) await OrderAsync($"o-{i:00}", i);
        await S.PublishAsync("acme", "StockReserved", """{"orderId":"o-07"}""", "o-07-reserved");
        await S.CommandsAsync("acme", c => c.Any(x => x.CommandType == "ChargePayment" && x.Json.Contains("\"o-07\"", StringComparison.Ordinal)));

        using var browser = new Browser(node.BaseUrl);
        browser.SignIn(ConsoleNode.OperatorToken);
        browser.Open("/ui/");
        Assert.Contains("Up", browser.Text("#members"), StringComparison.Ordinal);
        browser.Find("#tenants tr[data-tenant='acme'] a.tenant-link");
        browser.Screenshot("console-cluster");
        browser.Find("#tenants tr[data-tenant='acme'] a.tenant-link").Click();
        browser.Loaded();
        Assert.Equal("acme", browser.Text("#tenant-id"));
        Assert.Contains("running", browser.Text("#tenant-status"), StringComparison.Ordinal);

        // Search by correlation id: only the matching instance, then its page.
        browser.Find("#instance-search").SendKeys("o-07");
        browser.Find("#instance-search-go").Click();
        browser.Until(d => d.FindElements(By.CssSelector("#instances tbody tr")).Count == 1, "one instance found");
        browser.Find("#instances tr[data-correlation='o-07'] a.instance-link").Click();
        browser.Loaded();
        var timeline = browser.Text("#timeline");
        Assert.Contains("OrderPlaced", timeline, StringComparison.Ordinal);
        Assert.Contains("StockReserved", timeline, StringComparison.Ordinal);
        Assert.Contains("o-07-placed", timeline, StringComparison.Ordinal); // the event's Nats-Msg-Id
        Assert.Contains("stream seq", timeline, StringComparison.Ordinal);
        Assert.Contains("ReserveStock", timeline, StringComparison.Ordinal);
        Assert.Contains("ChargePayment", timeline, StringComparison.Ordinal);
        Assert.Contains("payment-timeout", timeline, StringComparison.Ordinal); // the timer the decision scheduled
        Assert.Contains("published", timeline, StringComparison.Ordinal);
        var state = JsonDocument.Parse(browser.Text("#state-json")).RootElement;
        Assert.Equal("o-07", state.GetProperty("orderId").GetString());
        Assert.Equal("AwaitingPayment", browser.Text("#instance-status"));
        browser.Screenshot("console-instance");

        // The tenant's page charts its backlog and throughput from the node's own samples once there are two.
        browser.Open("/ui/tenants/acme");
        browser.UntilAfterReload(d => d.FindElements(By.Id("chart-throughput")).Count == 1, "the tenant's charts");
        Assert.Contains("0 parked", browser.Text("#tenant-dlq"), StringComparison.Ordinal);
        browser.Screenshot("console-tenant");
    }

    [Fact]
    public async Task An_operator_should_redrive_a_parked_event_and_see_it_applied()
    {
        await S.PublishAsync("acme", "StockReserved", """{"orderId":"o-30"}""", "o-30-reserved");
        using var admin = node.Admin();
        var parked = await admin.UntilAsync("/admin/dlq/events?tenant=acme&saga=order&kind=UnexpectedEvent",
            p => p.GetProperty("events").EnumerateArray().Any(e => e.GetProperty("preview").GetString()!.Contains("o-30", StringComparison.Ordinal)));
        var seq = parked.GetProperty("events").EnumerateArray().First(e => e.GetProperty("preview").GetString()!.Contains("o-30", StringComparison.Ordinal))
            .GetProperty("seq").GetUInt64();
        await OrderAsync("o-30");

        using var browser = new Browser(node.BaseUrl);
        browser.SignIn(ConsoleNode.OperatorToken);
        browser.Open("/ui/dlq?tenant=acme");
        browser.Find($"#dlq-events tr[data-seq='{seq}'] button.show").Click();
        Assert.Contains("o-30", browser.Text("tr.detail pre.payload"), StringComparison.Ordinal);
        browser.Screenshot("console-dlq");
        browser.Find("tr.detail button.redrive").Click();
        browser.Until(d => d.SwitchTo().Alert(), "the confirmation").Accept();
        Assert.Contains("redriven", browser.Text("#dlq-message"), StringComparison.Ordinal);
        browser.Until(d => d.FindElements(By.CssSelector($"#dlq-events tr[data-seq='{seq}']")).Count == 0, "the redriven event to leave the list");

        browser.Open("/ui/tenants/acme/sagas/order/o-30");
        browser.UntilAfterReload(d => d.FindElement(By.Id("timeline")).Text.Contains("StockReserved", StringComparison.Ordinal), "the redriven event applied");
        Assert.Equal("AwaitingPayment", browser.Text("#instance-status"));
        Assert.Contains("redrive:acme:order:", browser.Text("#timeline"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operator_should_preview_a_replay_before_starting_it_and_see_the_drain_page()
    {
        await OrderAsync("o-60");
        await OrderAsync("o-61");

        using var browser = new Browser(node.BaseUrl);
        browser.SignIn(ConsoleNode.OperatorToken);
        browser.Open("/ui/replays?tenant=acme&saga=order");
        new OpenQA.Selenium.Support.UI.SelectElement(browser.Find("#replay-mode")).SelectByValue("full_reset");
        browser.Find("#replay-from").SendKeys("1");
        Assert.False(browser.Driver.FindElement(By.Id("replay-start")).Displayed); // no start before a preview
        browser.Find("#replay-preview").Click();
        browser.Find("#replay-status .replay[data-done='true']");
        Assert.Contains("Preview (dry run)", browser.Text("#replay-status h2"), StringComparison.Ordinal);
        var wouldEmit = browser.Text("#would-emit");
        Assert.Contains("ReserveStock", wouldEmit, StringComparison.Ordinal);
        Assert.Contains("o-60", wouldEmit, StringComparison.Ordinal);
        Assert.True(browser.Find("#replay-start").Displayed);
        Assert.Contains("finished", browser.Text("#replay-status"), StringComparison.Ordinal);
        browser.Screenshot("console-replay");

        // checkpoint_only from the start: the dedupe markers suppress what was applied.
        new OpenQA.Selenium.Support.UI.SelectElement(browser.Find("#replay-mode")).SelectByValue("checkpoint_only");
        Assert.False(browser.Driver.FindElement(By.Id("replay-start")).Displayed); // the preview was of other parameters
        browser.Find("#replay-preview").Click();
        browser.Until(d => d.FindElements(By.CssSelector("#replay-status .replay[data-done='true']")).Count == 1
                           && d.FindElement(By.CssSelector("#replay-status .replay")).Text.Contains("checkpoint_only", StringComparison.Ordinal),
            "the second preview");
        Assert.Contains("o-61", browser.Text("#would-suppress"), StringComparison.Ordinal);

        browser.Open("/ui/drain");
        Assert.Contains("not draining", browser.Text("#drain-receipts"), StringComparison.Ordinal);
        Assert.True(browser.Find("#drain-start").Displayed);
    }
    [Fact]
    public async Task The_cluster_page_should_page_and_search_tenants_on_the_server()
    {
        for (var i = 0; i < 27; i++) await S.PublishAsync($"p-{i:00}", "OrderPlaced", $$"""{"orderId":"o-{{i}}","amount":1}""", $"p{i}-placed");
        using var admin = node.Admin();
        await admin.UntilAsync("/admin/tenants?search=p-", t => t.GetProperty("total").GetInt32() == 27);

        using var browser = new Browser(node.BaseUrl);
        browser.SignIn(ConsoleNode.OperatorToken);
        browser.Open("/ui/");
        browser.Find("#tenant-search").SendKeys("p-");
        browser.Find("#tenant-search-go").Click();
        // The list as the search left it (without the search, the list may also have 27 tenants, if only these exist yet).
        browser.Until(d => d.FindElement(By.CssSelector("#tenant-list[data-query='p-'] .pager")).Text.Contains("1–25 of 27", StringComparison.Ordinal),
            "the first page of the search");
        Assert.Equal(25, browser.Driver.FindElements(By.CssSelector("#tenants tbody tr")).Count);
        browser.Find("#tenant-list button.next").Click();
        browser.Until(d => d.FindElements(By.CssSelector("#tenants tbody tr")).Count == 2, "the second page");
        Assert.Equal(["p-25", "p-26"], browser.Driver.FindElements(By.CssSelector("#tenants tbody tr")).Select(r => r.GetAttribute("data-tenant")));
    }

    [Fact]
    public async Task A_node_that_is_not_ready_should_say_why_and_the_message_should_go_once_it_is()
    {
        // A node of its own without tokens (its console needs no sign-in), on a nats-server of its own that is stopped and started.
        await using var ownNats = new NatsServerFixture();
        await using var s = new Scenario(ownNats);
        await s.StartNodeAsync();
        using var browser = new Browser($"http://127.0.0.1:{s.AdminPort}");
        browser.Open("/ui/drain");
        Assert.Empty(browser.Driver.FindElements(By.Id("token")));
        Assert.Equal("operator", browser.Text("#access"));

        await ownNats.StopAsync();
        browser.Driver.Navigate().Refresh();
        Assert.Contains("not connected to NATS", browser.Text("#banner"), StringComparison.Ordinal);
        browser.Screenshot("console-not-ready");
        ownNats.StartAgain();
        browser.Until(d => !d.FindElement(By.Id("banner")).Displayed, "the banner to go once NATS is back", TimeSpan.FromSeconds(60));
    }
}
