using System.Globalization;
using System.Runtime.InteropServices;
using Runner.Persistence.Lmdb.Benchmarks;

var (options, message) = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(message);
    return message == BenchOptions.Usage ? 0 : 2;
}

var phases = options.Journals.Length * options.ActorCounts.Length * Enum.GetValues<PersistMode>().Length * 2;
var clock = new BenchClock(options, phases);
var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv,
    $"journal-bench{(options.Quick ? " (quick)" : "")}: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, " +
    $"payload {options.PayloadBytes} B, phase cap {options.PhaseCap.TotalSeconds:0}s, budget {options.TotalBudget.TotalSeconds:0}s"));
Console.WriteLine(string.Create(inv,
    $"events per actor: {string.Join(", ", options.ActorCounts.Select(a => $"{a} actors x {options.EventsPerActor[a]}"))}"));

var results = new List<ScenarioResult>();
var bench = new JournalBench(options, clock, Console.Out);
foreach (var journal in options.Journals)
{
    Console.WriteLine(string.Create(inv, $"[{clock.Elapsed.TotalSeconds,6:0.0}s] {journal.Name()}"));
    results.AddRange(await bench.RunAsync(journal));
}

Console.WriteLine();
Console.WriteLine(string.Create(inv, $"Results after {clock.Elapsed.TotalSeconds:0.0}s (events/s; replay = recovering the events that scenario wrote):"));
Console.WriteLine(Report.Table(results));
Console.WriteLine("LMDB (durability = sync) relative to the others:");
Console.WriteLine(Report.Ratios(results));

// The smoke check for --quick: every scenario ran, and replayed exactly what it stored, without failures.
var expected = options.Journals.Length * options.ActorCounts.Length * Enum.GetValues<PersistMode>().Length;
var incomplete = results.Where(r => !r.Consistent).ToList();
if (results.Count < expected) incomplete.Add(results[^1]);
if (options.Quick && incomplete.Count > 0)
    Console.WriteLine($"quick check FAILED: {incomplete.Count} scenario(s) incomplete");
Console.WriteLine(Report.LastLine(results));
return options.Quick && incomplete.Count > 0 ? 1 : 0;
