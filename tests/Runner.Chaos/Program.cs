using System.Diagnostics;
using Runner.Chaos;

ChaosOptions options;
try
{
    if (args.Contains("--help") || args.Contains("-h"))
    {
        Console.WriteLine(ChaosOptions.Usage);
        return 0;
    }

    options = ChaosOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(ChaosOptions.Usage);
    return 2;
}

Console.WriteLine($"chaos: {options.Scenarios.Length} scenario(s) [{string.Join(", ", options.Scenarios)}], quick={options.Quick}, seed={options.Seed}");
// Ctrl-C or SIGTERM: the running scenario is cancelled and its world ends every process it started, by pid.
using var interrupted = new CancellationTokenSource();
using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Interrupt);
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Interrupt);
var scenarios = new Scenarios(options);
var results = new List<ScenarioResult>();
foreach (var name in options.Scenarios)
{
    // Every scenario stops by itself: a hard cap on top of its own bounded waits.
    if (interrupted.IsCancellationRequested) break;
    using var cap = CancellationTokenSource.CreateLinkedTokenSource(interrupted.Token);
    cap.CancelAfter(options.Quick ? TimeSpan.FromMinutes(5) : TimeSpan.FromMinutes(25));
    var clock = Stopwatch.StartNew();
    ScenarioResult result;
    try
    {
        result = await scenarios.RunAsync(name, cap.Token);
    }
    catch (Exception e)
    {
        var why = interrupted.IsCancellationRequested ? "interrupted" : cap.IsCancellationRequested ? $"over its time cap ({clock.Elapsed.TotalSeconds:0} s)" : e.GetType().Name + ": " + e.Message;
        Console.Error.WriteLine(e);
        result = new ScenarioResult(name, false, $"chaos: scenario={name} error=\"{why.ReplaceLineEndings(" ")}\" seed={options.Seed} result=fail");
    }

    results.Add(result);
    Console.WriteLine(result.Line);
}

var passed = results.Count(r => r.Passed);
if (interrupted.IsCancellationRequested) Console.WriteLine("chaos: interrupted");
Console.WriteLine($"chaos: {passed} passed, {results.Count - passed} failed");
return passed == results.Count && !interrupted.IsCancellationRequested ? 0 : 1;

void Interrupt(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = true;
    interrupted.Cancel();
}
