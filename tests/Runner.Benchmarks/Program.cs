using System.Globalization;
using System.Runtime.InteropServices;
using Runner.Benchmarks;
using Runner.TestKit;

var (options, message) = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(message);
    return message == BenchOptions.Usage ? 0 : 2;
}

// The nats-server store and LMDB data go under the temp directory (TMPDIR), or --work-dir.
if (options.WorkDirectory is { } work)
{
    Directory.CreateDirectory(work);
    Environment.SetEnvironmentVariable("TMPDIR", work);
}

var inv = CultureInfo.InvariantCulture;
await using var nats = new NatsServerFixture();
var bench = new E2EBench(options, nats, Console.Out);
Console.WriteLine(string.Create(inv,
    $"e2e-bench{(options.Quick ? " (quick)" : "")}: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, " +
    $"nats-server {NatsServerFixture.Binary()} on {nats.Url} (file storage), store under {Path.GetTempPath()}"));
Console.WriteLine(string.Create(inv,
    $"tenants {string.Join(",", options.TenantCounts)}; saturation {options.SaturationEvents:N0} events; latency at {options.LatencyLoad:P0} of max for " +
    $"{options.LatencyTenants} tenants, {options.LatencyDuration.TotalSeconds:0}s; flow {options.FlowOrders:N0} orders; phase cap " +
    $"{options.PhaseCap.TotalSeconds:0}s, budget {options.TotalBudget.TotalSeconds:0}s"));
if (options.Replication)
{
    Console.WriteLine(string.Create(inv,
        $"replication pair: the runner at {options.LatencyTenants} tenants with {RunnerSystem.ReplicationHocon(false)}, then {RunnerSystem.ReplicationHocon(true)}" +
        $"{(options.ReplicationOnly ? " (nothing else runs)" : ", after the other cases")}"));
}

Console.WriteLine("load average at start: " + LoadAverage() + " (other processes on this machine make every number noisy)");
if (options.RunnerHocon.Length > 0) Console.WriteLine("EXPERIMENT: runner node with extra HOCON: " + options.RunnerHocon.ReplaceLineEndings(" "));

var rows = options.ReplicationOnly ? new List<Row>() : await bench.RunAsync();
TenantsStart? many = null;
if (!options.ReplicationOnly && options.ManyTenants > 0 && options.Systems.Contains("runner"))
{
    // The many-tenants case: an allowlisted node's start and idle cost, then both systems' saturation with as many tenants.
    many = await new TenantsBench(options, nats, line => Console.WriteLine(line)).StartAsync(options.ManyTenants);
    foreach (var system in options.Systems)
        rows.AddRange(await bench.ScenarioAsync(system, options.ManyTenants, flow: false, options.ManyTenantsEvents));
}

if (options.Replication) rows.AddRange(await bench.ReplicationAsync());

Console.WriteLine();
Console.WriteLine("load average at end: " + LoadAverage());
Console.WriteLine(string.Create(inv, $"Results after {bench.Elapsed.TotalSeconds:0.0}s (latency = event publish -> its command stored in the command stream):"));
Console.WriteLine(Report.Table(rows));
if (!options.ReplicationOnly)
{
    Console.WriteLine(Report.Ratios(rows));
    Console.WriteLine(Report.Targets(rows, options));
}

var broken = rows.Where(r => !r.Complete).ToList();
if (options.Quick) Console.WriteLine(broken.Count == 0 ? "quick check passed" : $"quick check FAILED: {broken.Count} phase(s) incomplete");
if (!options.ReplicationOnly) Console.WriteLine(Report.LastLine(rows, options));
if (many is not null) Console.WriteLine(TenantsBench.LastLine(many, rows));
if (options.Replication) Console.WriteLine(Report.ReplicationLine(rows, options));
return options.Quick && broken.Count > 0 ? 1 : 0;

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
