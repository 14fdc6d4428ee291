using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Akka.Configuration;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Nats;
using Runner.Sagas;
using Runner.Sagas.Samples;

// The sample feeder: publishes the order saga's sample events for one tenant and prints the commands a node running
// the saga sends back, until every expected one arrived (exit 0) or the time is up (exit 1); 2 for bad input or no NATS.
//   dotnet Runner.Sagas.Samples.Feeder.dll [--tenant acme] [--timeout 60] [--nats nats://127.0.0.1:4222] [--run <id>]
// The NATS URL, credentials and TLS are the node's RUNNER_NATS_* variables (--nats over the URL).

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

NatsSettings settings;
string tenant;
TimeSpan timeout;
try
{
    settings = NatsSettings.Create(NatsSettings.EnvironmentOverrides(Environment.GetEnvironmentVariable));
    if (Arg("--nats") is { } url) settings = settings with { Url = url };
    tenant = TenantId.Validate(Arg("--tenant") ?? "acme");
    timeout = TimeSpan.FromSeconds(double.Parse(Arg("--timeout") ?? "60", CultureInfo.InvariantCulture));
}
catch (Exception e) when (e is ConfigurationException or ArgumentException or FormatException)
{
    Console.Error.WriteLine($"feeder: {e.Message}");
    return 2;
}

// A prefix of this run on every order id: commands of an earlier run (same tenant, same stream) are told apart.
var run = Arg("--run") ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
string Order(string id) => $"{run}-{id}";

// o-1 ships; o-2 is cancelled for stock; o-3 is cancelled when its payment times out.
(string Order, object Event)[] events =
[
    ("o-1", new OrderPlaced(Order("o-1"), 42.5m)),
    ("o-1", new StockReserved(Order("o-1"))),
    ("o-1", new PaymentCaptured(Order("o-1"))),
    ("o-2", new OrderPlaced(Order("o-2"), 10m)),
    ("o-2", new StockUnavailable(Order("o-2"), "sold out")),
    ("o-3", new OrderPlaced(Order("o-3"), 99.9m)),
    ("o-3", new StockReserved(Order("o-3"))),
];
string[] expected =
[
    $"o-1:{nameof(ReserveStock)}", $"o-1:{nameof(ChargePayment)}", $"o-1:{nameof(ShipOrder)}",
    $"o-2:{nameof(ReserveStock)}", $"o-2:{nameof(CancelOrder)}",
    $"o-3:{nameof(ReserveStock)}", $"o-3:{nameof(ChargePayment)}", $"o-3:{nameof(CancelOrder)}",
];

await using var nats = new NatsConnection(settings.ClientOptions("runner-feeder") with { MaxReconnectRetry = 0 });
try
{
    await nats.ConnectAsync();
}
catch (NatsException e)
{
    Console.Error.WriteLine($"feeder: {NatsConnectException.From(settings, e).Message}");
    return 2;
}

var js = new NatsJSContext(nats);
var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
var missing = new HashSet<string>(expected, StringComparer.Ordinal);
using var cts = new CancellationTokenSource(timeout);
string Shown(string body) => body.Replace(run + "-", "", StringComparison.Ordinal);

await using var commands = await nats.SubscribeCoreAsync<byte[]>(settings.Subjects.Command(tenant, ">"), cancellationToken: cts.Token);
Console.WriteLine($"feeder: publishing {events.Length} events for tenant '{tenant}' to {settings.RedactedUrl}");
foreach (var (order, evt) in events)
{
    var type = evt.GetType().Name;
    var subject = settings.Subjects.Event(tenant, type);
    var body = JsonSerializer.Serialize(evt, evt.GetType(), json);
    var headers = new NatsHeaders { [RunnerHeaders.MsgId] = $"feeder-{run}-{order}-{type}" };
    var ack = await js.PublishAsync(subject, Encoding.UTF8.GetBytes(body), headers: headers, cancellationToken: cts.Token);
    ack.EnsureSuccess();
    Console.WriteLine($"  event   {subject,-36} {Shown(body)}");
}

Console.WriteLine("feeder: waiting for commands (o-3's payment-timeout fires after the configured delay)");
var watch = Stopwatch.StartNew();
try
{
    await foreach (var msg in commands.Msgs.ReadAllAsync(cts.Token))
    {
        var body = Encoding.UTF8.GetString(msg.Data ?? []);
        var commandType = msg.Subject[(msg.Subject.LastIndexOf('.') + 1)..];
        var order = JsonDocument.Parse(body).RootElement.GetProperty("orderId").GetString() ?? "";
        if (!order.StartsWith(run + "-", StringComparison.Ordinal)) continue; // an earlier run's command
        Console.WriteLine($"  command {msg.Subject,-36} {Shown(body)}  ({watch.ElapsedMilliseconds} ms, Nats-Msg-Id {msg.Headers?[RunnerHeaders.MsgId]})");
        missing.Remove($"{order[(run.Length + 1)..]}:{commandType}");
        if (missing.Count == 0) break;
    }
}
catch (OperationCanceledException)
{
    // the time is up
}

if (missing.Count == 0)
{
    Console.WriteLine($"feeder: all {expected.Length} expected commands arrived");
    return 0;
}

Console.WriteLine($"feeder: missing after {timeout.TotalSeconds:0}s: {string.Join(", ", missing)}");
return 1;
