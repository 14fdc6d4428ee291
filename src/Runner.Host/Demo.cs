using System.Diagnostics;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Nats;

namespace Runner.Host;

/// <summary>
/// <c>Runner.Host demo</c>: publishes the sample order events for one tenant and prints the commands the node
/// emits, until every expected command arrived (exit 0) or the time is up (exit 1). With <c>--admin host:port</c> it then
/// replays the tenant's order saga through the node's admin endpoint: a dry run of a <c>full_reset</c> (what it would
/// re-emit) and a real <c>checkpoint_only</c> replay, which must re-emit nothing (exit 1 otherwise).
/// </summary>
internal static class Demo
{
    private static readonly (string Order, string Type, string Json)[] Events =
    [
        ("o-1", "OrderPlaced", """{"orderId":"o-1","amount":42.5}"""),
        ("o-1", "StockReserved", """{"orderId":"o-1"}"""),
        ("o-1", "PaymentCaptured", """{"orderId":"o-1"}"""),
        ("o-2", "OrderPlaced", """{"orderId":"o-2","amount":10}"""),
        ("o-2", "StockUnavailable", """{"orderId":"o-2","reason":"sold out"}"""),
        ("o-3", "OrderPlaced", """{"orderId":"o-3","amount":99.9}"""),
        ("o-3", "StockReserved", """{"orderId":"o-3"}"""),
    ];

    // o-1 ships; o-2 is cancelled for stock; o-3 is cancelled when its payment times out.
    private static readonly string[] Expected =
    [
        "o-1:ReserveStock", "o-1:ChargePayment", "o-1:ShipOrder",
        "o-2:ReserveStock", "o-2:CancelOrder",
        "o-3:ReserveStock", "o-3:ChargePayment", "o-3:CancelOrder",
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        // The node's connection settings (URL, credentials, TLS from runner.nats and RUNNER_NATS_*), --nats over the URL.
        var settings = NatsSettings.Create(RunnerConfiguration.Load());
        if (Arg(args, "--nats") is { } natsUrl) settings = settings with { Url = natsUrl };
        var url = settings.RedactedUrl;
        var tenant = Arg(args, "--tenant") ?? "acme";
        var timeout = TimeSpan.FromSeconds(double.Parse(Arg(args, "--timeout") ?? "60", System.Globalization.CultureInfo.InvariantCulture));
        var run = Arg(args, "--run") ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

        await using var nats = new NatsConnection(settings.ClientOptions("runner-demo"));
        try
        {
            await nats.ConnectAsync().ConfigureAwait(false);
        }
        catch (NatsException e)
        {
            await Console.Error.WriteLineAsync($"demo: {NatsConnectException.From(settings, e).Message}").ConfigureAwait(false);
            return 2;
        }

        var js = new NatsJSContext(nats);
        var missing = new HashSet<string>(Expected, StringComparer.Ordinal);
        using var cts = new CancellationTokenSource(timeout);

        await using var sub = await nats.SubscribeCoreAsync<byte[]>($"runner.cmd.{tenant}.>", cancellationToken: cts.Token).ConfigureAwait(false);
        Console.WriteLine($"demo: publishing {Events.Length} events for tenant '{tenant}' to {url}");
        foreach (var (order, type, json) in Events)
        {
            var subject = $"runner.evt.{tenant}.{type}";
            var headers = new NatsHeaders { [RunnerHeaders.MsgId] = $"demo-{run}-{order}-{type}" };
            var ack = await js.PublishAsync(subject, Encoding.UTF8.GetBytes(json.Replace("\"o-", $"\"{run}-o-", StringComparison.Ordinal)),
                headers: headers, cancellationToken: cts.Token).ConfigureAwait(false);
            ack.EnsureSuccess();
            Console.WriteLine($"  event   {subject,-36} {json}");
        }

        Console.WriteLine("demo: waiting for commands (o-3's payment-timeout fires after the configured delay)");
        var watch = Stopwatch.StartNew();
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(cts.Token).ConfigureAwait(false))
            {
                var body = Encoding.UTF8.GetString(msg.Data ?? []);
                var commandType = msg.Subject[(msg.Subject.LastIndexOf('.') + 1)..];
                var order = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("orderId").GetString() ?? "";
                if (!order.StartsWith(run + "-", StringComparison.Ordinal)) continue; // an earlier run's command
                order = order[(run.Length + 1)..];
                Console.WriteLine($"  command {msg.Subject,-36} {body.Replace(run + "-", "", StringComparison.Ordinal)}  ({watch.ElapsedMilliseconds} ms, Nats-Msg-Id {msg.Headers?[RunnerHeaders.MsgId]})");
                missing.Remove($"{order}:{commandType}");
                if (missing.Count == 0) break;
            }
        }
        catch (OperationCanceledException)
        {
            // timed out
        }

        if (missing.Count == 0)
        {
            Console.WriteLine($"demo: all {Expected.Length} expected commands arrived");
            return Arg(args, "--admin") is { } admin ? await ReplayAsync(admin, tenant, timeout).ConfigureAwait(false) : 0;
        }

        Console.WriteLine($"demo: missing after {timeout.TotalSeconds:0}s: {string.Join(", ", missing)}");
        return 1;
    }

    private static async Task<int> ReplayAsync(string admin, string tenant, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = new Uri("http://" + admin), Timeout = timeout };
        if (Environment.GetEnvironmentVariable("RUNNER_ADMIN_TOKEN") is { Length: > 0 } token)
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        async Task<System.Text.Json.JsonElement> Run(string mode, bool dryRun)
        {
            var body = $$"""{"tenant_id":"{{tenant}}","saga_name":"order","mode":"{{mode}}","dry_run":{{(dryRun ? "true" : "false")}}}""";
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var started = await http.PostAsync(new Uri("/admin/replay", UriKind.Relative), content).ConfigureAwait(false);
            var text = await started.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (!started.IsSuccessStatusCode) throw new InvalidOperationException($"POST /admin/replay: {(int)started.StatusCode} {text}");
            var id = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("id").GetString();
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var status = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri($"/admin/replay/{id}", UriKind.Relative)).ConfigureAwait(false))
                    .RootElement;
                if (status.GetProperty("done").GetBoolean()) return status.GetProperty("counts").Clone();
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"replay {id} not done: {status}");
                await Task.Delay(200).ConfigureAwait(false); // polling the replay's progress
            }
        }

        static string Describe(System.Text.Json.JsonElement c) =>
            $"{c.GetProperty("events")} event(s): {c.GetProperty("applied")} applied, {c.GetProperty("duplicates")} suppressed by dedupe, " +
            $"{c.GetProperty("ignoredCompleted")} ignored (completed); {c.GetProperty("commands")} command(s)";

        try
        {
            var dry = await Run("full_reset", dryRun: true).ConfigureAwait(false);
            Console.WriteLine($"demo: a full_reset of {tenant}/order would replay {Describe(dry)} re-emitted (dry run: nothing changed)");
            var replay = await Run("checkpoint_only", dryRun: false).ConfigureAwait(false);
            Console.WriteLine($"demo: checkpoint_only replay of {tenant}/order: {Describe(replay)} re-emitted");
            if (replay.GetProperty("commands").GetInt64() == 0 && replay.GetProperty("applied").GetInt64() == 0) return 0;
            Console.WriteLine("demo: the checkpoint_only replay applied events again: every one of them should have been suppressed");
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TimeoutException or TaskCanceledException)
        {
            Console.WriteLine($"demo: replay through {admin} failed: {e.Message}");
            return 1;
        }
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
