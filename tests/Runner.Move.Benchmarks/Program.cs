using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Akka.Configuration;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using Runner.Host;
using Runner.Nats;
using Runner.TestKit;

// Move benchmark: a tenant holding N saga instances is moved M times between two nodes by the placement bucket,
// under a steady load of events. Per move: time from the KV put to the first command published by the new node
// for an event it processed. At the end every expected command is checked: lost = expected but absent,
// duplicated = one decision published more than once.
var inv = CultureInfo.InvariantCulture;
var quick = args.Contains("--quick");
int Int(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v ? int.Parse(v, inv) : fallback;
var moves = Int("--moves", quick ? 4 : 20);
var instances = Int("--instances", quick ? 200 : 1000);
var rate = Int("--rate", 100);
const string Tenant = "mover";

await using var nats = new NatsServerFixture();
var prefix = NatsServerFixture.UniqueName("mb");
var bucket = prefix + "-placement";
using var data = new TempDirectory("runner-move-bench");
Console.WriteLine(string.Create(inv,
    $"move-bench{(quick ? " (quick)" : "")}: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; " +
    $"{moves} moves of tenant '{Tenant}' holding {instances:N0} saga instances, load {rate} events/s; two nodes in this process, nats-server {nats.Url}"));

await using var client = new NatsConnection(NatsOpts.Default with { Url = nats.Url, Name = "move-bench" });
var js = new NatsJSContext(client);
var kv = await new NatsKVContext(js).CreateStoreAsync(new NatsKVConfig(bucket));
await kv.PutAsync(Tenant, "node-a");

var seedPort = NatsServerFixture.FreePort();
Config NodeConfig(string shardId, int port) => ConfigurationFactory.ParseString($$"""
    runner.nats.url = "{{nats.Url}}"
    runner.nats.subject-prefix = "{{prefix}}"
    runner.nats.streams { events = "{{prefix.ToUpperInvariant()}}_EVENTS", commands = "{{prefix.ToUpperInvariant()}}_COMMANDS", dead-letters = "{{prefix.ToUpperInvariant()}}_DLQ" }
    runner.node { shard-id = "{{shardId}}", port = {{port}}, seed-nodes = ["127.0.0.1:{{seedPort}}"] }
    runner.placement.bucket = "{{bucket}}"
    runner.admin.port = 0
    runner.custody { homes-bucket = "{{prefix}}-homes", state-bucket = "{{prefix}}-state" }
    runner.samples.order.payment-timeout = 1h
    akka.persistence.journal.lmdb.data-dir = "{{Path.Combine(data.Path, shardId)}}"
    akka.persistence.snapshot-store.lmdb.data-dir = "{{Path.Combine(data.Path, shardId)}}"
    akka.loglevel = WARNING
    """).WithFallback(RunnerConfiguration.Defaults());
var nodes = new List<IHost>();
foreach (var (id, port) in new[] { ("node-a", seedPort), ("node-b", NatsServerFixture.FreePort()) })
{
    var host = RunnerNode.Build(["--Logging:LogLevel:Default=Warning"], NodeConfig(id, port));
    await host.StartAsync();
    nodes.Add(host);
}

// Every command as it lands in the command stream: (order, type) → node, and first arrival per node after a mark.
var commands = new ConcurrentQueue<(string MsgId, string Order, string Type, string Node, long At)>();
var clock = Stopwatch.StartNew();
var watchCts = new CancellationTokenSource();
var commandsStream = prefix.ToUpperInvariant() + "_COMMANDS";
while (true)
{
    try
    {
        await js.GetStreamAsync(commandsStream);
        break;
    }
    catch (NatsJSApiException)
    {
        await Task.Delay(100); // the first node creates the streams while starting
    }
}

// One filter subject on a plain consumer: nats-server 2.9 ignores filters of ordered consumers.
var reader = await js.CreateOrUpdateConsumerAsync(commandsStream, new ConsumerConfig("move-bench-reader")
{
    FilterSubject = $"{prefix}.cmd.{Tenant}.>",
    AckPolicy = ConsumerConfigAckPolicy.None,
    DeliverPolicy = ConsumerConfigDeliverPolicy.All,
});
var watching = Task.Run(async () =>
{
    await foreach (var msg in reader.ConsumeAsync<byte[]>(cancellationToken: watchCts.Token))
    {
        var id = msg.Headers?[RunnerHeaders.MsgId].ToString() ?? "";
        var node = msg.Headers is { } h && h.TryGetValue(RunnerHeaders.Node, out var n) ? n.ToString() : "";
        var parts = id.Split(':');
        commands.Enqueue((id, parts.Length > 2 ? parts[2] : "", msg.Subject[(msg.Subject.LastIndexOf('.') + 1)..], node, clock.ElapsedMilliseconds));
    }
});

async Task Publish(string type, string json, string msgId)
{
    var headers = new NatsHeaders { [RunnerHeaders.MsgId] = msgId };
    (await js.PublishAsync($"{prefix}.evt.{Tenant}.{type}", Encoding.UTF8.GetBytes(json), headers: headers)).EnsureSuccess();
}

async Task WaitFor(Func<bool> condition, TimeSpan timeout, string what)
{
    var deadline = clock.Elapsed + timeout;
    while (!condition())
    {
        if (clock.Elapsed > deadline) throw new TimeoutException($"timed out waiting for {what}");
        await Task.Delay(20); // polling the observed command stream
    }
}

// Seed: N instances on node-a.
var seedWatch = Stopwatch.StartNew();
for (var i = 0; i < instances; i++) await Publish("OrderPlaced", $$"""{"orderId":"s{{i}}","amount":{{i + 1}}}""", $"seed-{i}");
await WaitFor(() => commands.Count >= instances, TimeSpan.FromMinutes(3), $"{instances} seeded orders");
Console.WriteLine(string.Create(inv, $"seeded {instances:N0} instances on node-a in {seedWatch.Elapsed.TotalSeconds:0.0}s"));

// Load: new orders and StockReserved for seeded instances (which only their moved state turns into ChargePayment).
var expected = new ConcurrentBag<(string Order, string Type)>();
for (var i = 0; i < instances; i++) expected.Add(($"s{i}", "ReserveStock"));
using var loadCts = new CancellationTokenSource();
var load = Task.Run(async () =>
{
    var n = 0;
    var interval = TimeSpan.FromSeconds(1.0 / rate);
    var next = clock.Elapsed;
    while (!loadCts.IsCancellationRequested)
    {
        if (n % 2 == 0)
        {
            await Publish("OrderPlaced", $$"""{"orderId":"l{{n}}","amount":1}""", $"load-{n}");
            expected.Add(($"l{n}", "ReserveStock"));
        }
        else
        {
            var seeded = (n / 2) % instances;
            if (n / 2 < instances)
            {
                await Publish("StockReserved", $$"""{"orderId":"s{{seeded}}"}""", $"reserved-{seeded}");
                expected.Add(($"s{seeded}", "ChargePayment"));
            }
        }

        n++;
        next += interval;
        var wait = next - clock.Elapsed;
        if (wait > TimeSpan.Zero) await Task.Delay(wait); // pacing the producer
    }
});

var times = new List<double>();
for (var m = 1; m <= moves; m++)
{
    var target = m % 2 == 1 ? "node-b" : "node-a";
    await Task.Delay(500); // let the tenant run a moment on its node before the next move
    var mark = clock.ElapsedMilliseconds;
    await kv.PutAsync(Tenant, target);
    await WaitFor(() => commands.Any(c => c.Node == target && c.At >= mark && c.Type == "ReserveStock" && c.Order.StartsWith('l')),
        TimeSpan.FromSeconds(60), $"move {m} to {target}");
    var first = commands.Where(c => c.Node == target && c.At >= mark && c.Order.StartsWith('l')).Min(c => c.At);
    times.Add(first - mark);
    Console.WriteLine(string.Create(inv, $"move {m,2} → {target}: first event processed there after {first - mark} ms"));
}

await loadCts.CancelAsync();
await load;
var want = expected.ToArray();
await WaitFor(() => want.All(w => commands.Any(c => c.Order == w.Order && c.Type == w.Type)), TimeSpan.FromSeconds(120), "every expected command");
await Task.Delay(1000); // a late duplicate would land now
await watchCts.CancelAsync();
try
{
    await watching;
}
catch (OperationCanceledException)
{
}

var seen = commands.ToArray();
var lost = want.Distinct().Count(w => !seen.Any(c => c.Order == w.Order && c.Type == w.Type));
var duplicated = seen.GroupBy(c => (c.Order, c.Type)).Sum(g => g.Count() - 1);
var unexpected = seen.Select(c => (c.Order, c.Type)).Distinct().Count(c => !want.Contains(c));
times.Sort();
double P(double q) => times[(int)Math.Min(times.Count - 1, Math.Ceiling(q * times.Count) - 1)];
Console.WriteLine(string.Create(inv,
    $"{want.Length:N0} expected commands, {seen.Length:N0} in the stream, {unexpected} unexpected; move ms min {times[0]} p50 {P(0.5)} p99 {P(0.99)} max {times[^1]}"));
foreach (var host in nodes)
{
    await host.StopAsync();
    host.Dispose();
}

Console.WriteLine(string.Create(inv, $"move-bench: p50-ms={P(0.5):0} p99-ms={P(0.99):0} lost={lost} duplicated={duplicated}"));
return lost == 0 && duplicated == 0 && unexpected == 0 ? 0 : 1;
