using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Akka.Configuration;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Host;
using Runner.Nats;
using Runner.Replay.Benchmarks;
using Runner.TestKit;

// Replay benchmark: one node, the order saga, tenant "bench" seeded with N orders (OrderPlaced + StockReserved each: 2N
// events, 2N commands); the live rate is the baseline. Then, through the admin endpoint, two dry runs and the three
// replay modes, each timed from its POST to done, with its counts checked against what the mode must do to these
// instances. At the end the command stream must hold exactly 4N commands with distinct Nats-Msg-Ids.
var inv = CultureInfo.InvariantCulture;
ReplayBenchOptions options;
try
{
    options = ReplayBenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"replay-bench: {e.Message}\n\n{ReplayBenchOptions.Usage}");
    return 2;
}

if (options.Help)
{
    Console.WriteLine(ReplayBenchOptions.Usage);
    return 0;
}

const string Tenant = "bench";
const string Saga = "order";
var n = options.Orders;
var wall = Stopwatch.StartNew();
var runDeadline = DateTime.UtcNow + options.TotalCap;
(DateTime At, string Cap) PhaseDeadline()
{
    var phase = DateTime.UtcNow + options.PhaseCap;
    return phase < runDeadline ? (phase, $"phase cap {options.PhaseCap.TotalSeconds:0} s") : (runDeadline, $"run cap {options.TotalCap.TotalSeconds:0} s");
}

static string LoadAverage()
{
    try
    {
        return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "n/a";
    }
}

var loadAtStart = LoadAverage();
await using var nats = new NatsServerFixture();
var prefix = NatsServerFixture.UniqueName("rb");
var streams = prefix.ToUpperInvariant();
var commandsStream = streams + "_COMMANDS";
using var data = new TempDirectory("runner-replay-bench");
var adminPort = NatsServerFixture.FreePort();
Console.WriteLine(string.Create(inv,
    $"replay-bench{(options.Quick ? " (quick)" : "")}: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, load {loadAtStart}; " +
    $"{n:N0} orders of tenant '{Tenant}' ({2 * n:N0} events); one node (admin 127.0.0.1:{adminPort}), nats-server {nats.Url}; " +
    $"caps {options.PhaseCap.TotalSeconds:0} s per phase, {options.TotalCap.TotalSeconds:0} s in all"));

var config = ConfigurationFactory.ParseString($$"""
    runner.nats.url = "{{nats.Url}}"
    runner.nats.subject-prefix = "{{prefix}}"
    runner.nats.streams { events = "{{streams}}_EVENTS", commands = "{{commandsStream}}", dead-letters = "{{streams}}_DLQ" }
    runner.node { hostname = "127.0.0.1", port = {{NatsServerFixture.FreePort()}}, shard-id = "replay-bench" }
    runner.tenants.allowlist = ["{{Tenant}}"]
    runner.admin { hostname = "127.0.0.1", port = {{adminPort}} }
    runner.custody { homes-bucket = "{{prefix}}-homes", state-bucket = "{{prefix}}-state" }
    runner.samples.order.payment-timeout = 1h
    akka.persistence.journal.lmdb.data-dir = "{{data.Path}}"
    akka.persistence.snapshot-store.lmdb.data-dir = "{{data.Path}}"
    akka.loglevel = {{options.AkkaLogLevel}}
    """).WithFallback(RunnerConfiguration.Defaults());
// ASP.NET's request log stays at Warning: at Information it would log every status poll.
var host = RunnerNode.CreateBuilder([$"--Logging:LogLevel:Default={options.NodeLogLevel}", "--Logging:LogLevel:Microsoft.AspNetCore=Warning"], config).Build();
await host.StartAsync();

await using var client = new NatsConnection(NatsOpts.Default with { Url = nats.Url, Name = "replay-bench" });
var js = new NatsJSContext(client);
using var admin = new AdminHttp(adminPort);
var rows = new List<PhaseRow>();
var failures = new List<string>();
var stopped = false;
var commands = new CommandLog();

async Task<long> StreamCount() => (long)(await js.GetStreamAsync(commandsStream)).Info.State.Messages;

async Task PublishAll(string type, Func<int, string> json, Func<int, string> msgId)
{
    using var window = new SemaphoreSlim(options.PublishWindow);
    var pending = new List<Task>(n);
    for (var i = 0; i < n; i++)
    {
        await window.WaitAsync();
        pending.Add(PublishOne(i));
    }

    await Task.WhenAll(pending);

    async Task PublishOne(int i)
    {
        try
        {
            var headers = new NatsHeaders { [RunnerHeaders.MsgId] = msgId(i) };
            var ack = await js.PublishAsync($"{prefix}.evt.{Tenant}.{type}", Encoding.UTF8.GetBytes(json(i)), headers: headers);
            ack.EnsureSuccess();
            if (ack.Duplicate) throw new InvalidOperationException($"event {msgId(i)} was taken as a duplicate");
        }
        finally
        {
            window.Release();
        }
    }
}

// Seed: all OrderPlaced acknowledged before the first StockReserved, so every order's two events are in that order in the
// stream (a replay re-reads them in stream order). Events/s from the first publish to the last ChargePayment stored.
async Task<PhaseRow> Live()
{
    var (deadline, cap) = PhaseDeadline();
    var started = DateTimeOffset.UtcNow;
    var clock = Stopwatch.StartNew();
    await PublishAll("OrderPlaced", i => $$"""{"orderId":"o-{{i}}","amount":1}""", i => $"placed-{i}");
    await PublishAll("StockReserved", i => $$"""{"orderId":"o-{{i}}"}""", i => $"reserved-{i}");
    var published = clock.Elapsed.TotalSeconds;
    if (!await commands.WaitForAsync(2 * n, deadline))
    {
        var partial = new PhaseRow("live", "1 live (seed)", "–", false, 2 * n, n, clock.Elapsed.TotalSeconds, commands.Count,
            $"CUT SHORT ({cap}): {commands.Count:N0} of {2 * n:N0} commands stored");
        throw new BenchStopped(partial.Notes, partial);
    }

    var seen = commands.Since(0);
    var charges = seen.Where(c => c.Type == "ChargePayment").ToList();
    var notes = new List<string> { string.Create(inv, $"published in {published:0.00} s") };
    if (charges.Count != n || seen.Count(c => c.Type == "ReserveStock") != n)
        notes.Add(Fail($"live: expected {n} ReserveStock and {n} ChargePayment, saw {seen.Count(c => c.Type == "ReserveStock")} and {charges.Count}"));
    var seconds = charges.Count > 0 ? (charges.Max(c => c.StoredAt) - started).TotalSeconds : clock.Elapsed.TotalSeconds;
    return new PhaseRow("live", "1 live (seed)", "–", false, 2 * n, n, seconds, seen.Count, string.Join("; ", notes));
}

string Fail(string message)
{
    failures.Add(message);
    return "**CHECK FAILED** " + message;
}

async Task<PhaseRow> Replay(Phase phase)
{
    var (deadline, cap) = PhaseDeadline();
    var before = await StreamCount();
    var post = DateTimeOffset.UtcNow;
    var run = await admin.RunReplayAsync(Tenant, Saga, phase.Mode, phase.DryRun, deadline);
    var instances = phase.DryRun && run.Final.TryGetProperty("report", out var report) ? report.GetProperty("instances").GetInt32() : run.Instances;
    var notes = new List<string>();
    if (!run.Done)
    {
        var partial = new PhaseRow(phase.Key, phase.Label, phase.Mode, phase.DryRun, run.Count("events"), instances, run.Seconds, run.Count("commands"),
            $"CUT SHORT ({cap}): replay {run.Id} not done, last status {run.Final.GetRawText()}");
        throw new BenchStopped($"{phase.Name}: replay {run.Id} not done within the {cap}; last status {run.Final.GetRawText()}", partial);
    }

    if (run.Stage != "finished")
        notes.Add(Fail($"{phase.Name}: done at stage '{run.Stage}': {(run.Final.TryGetProperty("detail", out var d) ? d.ToString() : "")}"));
    var seconds = run.Seconds;
    var expectedStream = before + phase.NewCommands;
    if (phase.NewCommands > 0)
    {
        if (!await commands.WaitForAsync((int)expectedStream, deadline))
        {
            var partial = new PhaseRow(phase.Key, phase.Label, phase.Mode, phase.DryRun, run.Count("events"), instances, (DateTimeOffset.UtcNow - post).TotalSeconds,
                run.Count("commands"), $"CUT SHORT ({cap}): {commands.Count - before:N0} of {phase.NewCommands:N0} re-emitted commands stored");
            throw new BenchStopped(partial.Notes, partial);
        }

        var last = commands.Since((int)before).Max(c => c.StoredAt);
        var stored = (last - post).TotalSeconds;
        seconds = Math.Max(seconds, stored);
        notes.Add(string.Create(inv, $"done after {run.Seconds:0.00} s, its {phase.NewCommands:N0} commands stored after {stored:0.00} s"));
    }

    if (run.ConsumingSeconds is { } consuming)
        notes.Add(string.Create(inv, $"consuming again after {(run.RewoundSeen ? "" : "≤ ")}{consuming:0.00} s"));
    if (run.NodeSeconds is { } node) notes.Add(string.Create(inv, $"node: {node:0.00} s"));

    var expected = new (string Name, long Value)[]
    {
        ("events", 2L * n), ("applied", phase.Applied), ("duplicates", phase.Duplicates), ("ignoredCompleted", 0), ("deadLettered", 0),
        ("commands", phase.Commands),
    };
    foreach (var (name, value) in expected)
    {
        if (run.Count(name) != value) notes.Add(Fail($"{phase.Name}: counts.{name} = {run.Count(name)}, expected {value}"));
    }

    if (phase.Instances is { } want && run.Instances != want) notes.Add(Fail($"{phase.Name}: instances = {run.Instances}, expected {want}"));
    var after = await StreamCount();
    if (after != expectedStream)
        notes.Add(Fail($"{phase.Name}: the command stream went from {before} to {after}, expected {expectedStream}"));
    return new PhaseRow(phase.Key, phase.Label, phase.Mode, phase.DryRun, run.Count("events"), instances, seconds, run.Count("commands"),
        string.Join("; ", notes));
}

Phase[] phases =
[
    new("dry-only", "2 dry run", "checkpoint_only", true, Applied: 0, Duplicates: 2 * n, Commands: 0, Instances: null, NewCommands: 0),
    new("dry-reset", "3 dry run", "full_reset", true, Applied: 2 * n, Duplicates: 0, Commands: 2 * n, Instances: null, NewCommands: 0),
    new("only", "4 replay", "checkpoint_only", false, Applied: 0, Duplicates: 2 * n, Commands: 0, Instances: 0, NewCommands: 0),
    new("dedupe", "5 replay", "checkpoint_and_dedupe", false, Applied: 2 * n, Duplicates: 0, Commands: 0, Instances: n, NewCommands: 0),
    new("reset", "6 replay", "full_reset", false, Applied: 2 * n, Duplicates: 0, Commands: 2 * n, Instances: n, NewCommands: 2 * n),
];

try
{
    var (startDeadline, _) = PhaseDeadline();
    if (!await admin.UntilAsync("/ready", _ => true, startDeadline)) throw new BenchStopped("the node did not become ready");
    if (!await admin.UntilAsync($"/admin/tenants/{Tenant}", t => t.GetProperty("runningHere").GetBoolean(), startDeadline))
        throw new BenchStopped($"tenant {Tenant} did not start on the node");
    await commands.StartAsync(js, commandsStream, $"{prefix}.cmd.{Tenant}.>");
    Console.WriteLine(string.Create(inv, $"node ready after {wall.Elapsed.TotalSeconds:0.0} s"));

    rows.Add(await Live());
    Console.WriteLine(string.Create(inv, $"seeded: {rows[^1].Events:N0} events in {rows[^1].Seconds:0.00} s"));
    foreach (var phase in phases)
    {
        rows.Add(await Replay(phase));
        Console.WriteLine(string.Create(inv, $"{phase.Name}: {rows[^1].Seconds:0.00} s; {rows[^1].Notes}"));
    }

    // Nothing more may arrive: give a late or duplicate command a moment, then count the stream and what the reader saw.
    await Task.Delay(1000);
    var total = await StreamCount();
    var (endDeadline, _) = PhaseDeadline();
    await commands.WaitForAsync((int)total, endDeadline);
    var all = commands.Since(0);
    var expectedTotal = 4L * n;
    if (total != expectedTotal) Fail($"the command stream holds {total} commands, expected {expectedTotal} (2N live + 2N from the full reset)");
    if (all.Count != total) Fail($"the reader saw {all.Count} commands, the stream holds {total}");
    var distinct = all.Select(c => c.MsgId).Distinct(StringComparer.Ordinal).Count();
    if (distinct != all.Count || all.Any(c => c.MsgId.Length == 0)) Fail($"{all.Count} commands carry {distinct} distinct Nats-Msg-Ids");
    var uneven = all.GroupBy(c => (c.Correlation, c.Type)).Where(g => g.Count() != 2).Take(3).ToList();
    var orders = all.Select(c => c.Correlation).Distinct(StringComparer.Ordinal).Count();
    if (uneven.Count > 0 || orders != n)
        Fail($"expected each of {n} orders to have 2 ReserveStock and 2 ChargePayment, saw {orders} orders" +
             string.Concat(uneven.Select(g => $"; {g.Key.Correlation} {g.Key.Type} ×{g.Count()}")));
    Console.WriteLine(string.Create(inv, $"final: {total:N0} commands in the stream, {distinct:N0} distinct Nats-Msg-Ids, {orders:N0} orders"));
}
catch (BenchStopped e)
{
    stopped = true;
    if (e.Partial is not null) rows.Add(e.Partial);
    failures.Add("STOPPED: " + e.Message);
}
catch (Exception e) when (e is InvalidOperationException or HttpRequestException or NatsJSException or TaskCanceledException or JsonException)
{
    stopped = true;
    failures.Add($"STOPPED: {e.GetType().Name}: {e.Message}");
}
finally
{
    await commands.DisposeAsync();
    using var stopCts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
    try
    {
        await host.StopAsync(stopCts.Token);
    }
    catch (OperationCanceledException)
    {
        Console.WriteLine("the node did not stop within 30 s");
    }

    host.Dispose();
}

var ok = failures.Count == 0 && !stopped;
Console.WriteLine();
Console.Write(Report.Table(rows));
Console.WriteLine();
foreach (var f in failures) Console.WriteLine("FAILED: " + f);
Console.WriteLine(string.Create(inv, $"wall time {wall.Elapsed.TotalSeconds:0.0} s; load average at start {loadAtStart}, at end {LoadAverage()}"));
Console.WriteLine(Report.FinalLine(rows, ok));
return ok ? 0 : 1;

namespace Runner.Replay.Benchmarks
{
    /// <summary>A replay phase and what it must do to N orders that each saw OrderPlaced and StockReserved.</summary>
    /// <param name="Key">Name in the final line.</param>
    /// <param name="Label">Phase column.</param>
    /// <param name="Mode">Replay mode.</param>
    /// <param name="DryRun">Whether it is a dry run.</param>
    /// <param name="Applied">Expected <c>counts.applied</c>.</param>
    /// <param name="Duplicates">Expected <c>counts.duplicates</c>.</param>
    /// <param name="Commands">Expected <c>counts.commands</c>.</param>
    /// <param name="Instances">Expected <c>instances</c> reset (not checked for dry runs).</param>
    /// <param name="NewCommands">Commands that must land in the command stream (waited for and timed).</param>
    internal sealed record Phase(string Key, string Label, string Mode, bool DryRun, long Applied, long Duplicates, long Commands, int? Instances, long NewCommands)
    {
        public string Name => DryRun ? $"dry run {Mode}" : $"replay {Mode}";
    }

    /// <summary>The run cannot go on (a cap reached, the node not answering): report what there is.</summary>
    internal sealed class BenchStopped(string message, PhaseRow? partial = null) : Exception(message)
    {
        public PhaseRow? Partial { get; } = partial;
    }
}
