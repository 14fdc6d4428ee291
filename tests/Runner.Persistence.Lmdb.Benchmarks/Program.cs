using System.Globalization;
using System.Runtime.InteropServices;
using Runner.Persistence.Lmdb.Benchmarks;

var (options, message) = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(message);
    return message == BenchOptions.Usage ? 0 : 2;
}

if (options.Profile)
{
    await StoreProfile.RunAsync(options, Console.Out);
    return 0;
}

var scenarios = options.Journals.Length * options.ActorCounts.Length * Enum.GetValues<PersistMode>().Length;
var phases = scenarios * 2 * options.Rounds;
var clock = new BenchClock(options, phases);
var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv,
    $"journal-bench{(options.Quick ? " (quick)" : "")}: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, " +
    $"payload {options.PayloadBytes} B, {options.Rounds} round(s), phase cap {options.PhaseCap.TotalSeconds:0}s, budget {options.TotalBudget.TotalSeconds:0}s"));
Console.WriteLine(string.Create(inv,
    $"events per actor: {string.Join(", ", options.ActorCounts.Select(a => $"{a} actors x {options.EventsPerActor[a]}"))}"));

var results = new List<ScenarioResult>();
var bench = new JournalBench(options, clock, Console.Out);
for (var round = 1; round <= options.Rounds; round++)
{
    foreach (var journal in options.Journals)
    {
        Console.WriteLine(string.Create(inv, $"[{clock.Elapsed.TotalSeconds,6:0.0}s] round {round}: {journal.Name()}"));
        results.AddRange(await bench.RunAsync(journal));
    }
}

var summaries = ScenarioSummary.Of(results);

Console.WriteLine();
Console.WriteLine(string.Create(inv,
    $"Results after {clock.Elapsed.TotalSeconds:0.0}s: events/s, median of {options.Rounds} round(s); events = per round; replay = recovering what that scenario wrote"));
Console.WriteLine(Report.Table(summaries));
Console.WriteLine("LMDB (durability = sync) relative to the others (medians):");
Console.WriteLine(Report.Ratios(summaries));

// The smoke check for --quick: every scenario ran, nothing failed, and a finished replay brought back exactly what
// was stored. SQLite is exempt: under 1,000 concurrent writers its journal may trip Akka's circuit breaker (writes
// queued longer than the 10 s call timeout), which is a finding about that plugin, not a broken harness.
var inconsistent = results.Where(r => !r.Consistent).ToList();
foreach (var r in inconsistent) Console.WriteLine("inconsistent:" + Report.Progress(r));
var broken = inconsistent.Count(r => r.Journal != JournalKind.Sqlite) + Math.Max(0, scenarios * options.Rounds - results.Count);
if (options.Quick) Console.WriteLine(broken == 0 ? "quick check passed" : $"quick check FAILED: {broken} scenario(s) broken or missing");
Console.WriteLine(Report.LastLine(summaries));
return options.Quick && broken > 0 ? 1 : 0;
