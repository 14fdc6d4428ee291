using System.Diagnostics;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Nats;

namespace Runner.Host;

/// <summary>
/// <c>Runner.Host demo</c>: publishes the sample order events for one tenant and prints the commands the node
/// emits, until every expected command arrived (exit 0) or the time is up (exit 1).
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
        var url = Arg(args, "--nats") ?? Environment.GetEnvironmentVariable(NatsSettings.UrlVariable) ?? "nats://127.0.0.1:4222";
        var tenant = Arg(args, "--tenant") ?? "acme";
        var timeout = TimeSpan.FromSeconds(double.Parse(Arg(args, "--timeout") ?? "60", System.Globalization.CultureInfo.InvariantCulture));
        var run = Arg(args, "--run") ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

        await using var nats = new NatsConnection(NatsOpts.Default with { Url = url, Name = "runner-demo" });
        await nats.ConnectAsync().ConfigureAwait(false);
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
            return 0;
        }

        Console.WriteLine($"demo: missing after {timeout.TotalSeconds:0}s: {string.Join(", ", missing)}");
        return 1;
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
