using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Runner.Persistence.Lmdb.Internal;

namespace Runner.Persistence.Lmdb.Benchmarks;

/// <summary>
/// Runs every scenario of one journal in one actor system (terminated at the end; replaced after a scenario with
/// failures) on files in a temporary directory (deleted at the end). Each scenario uses fresh persistence ids,
/// writes, stops its actors, then recovers the same ids in new actors to measure replay.
/// </summary>
internal sealed class JournalBench(BenchOptions options, BenchClock clock, TextWriter log)
{
    private static readonly TimeSpan StopCap = TimeSpan.FromSeconds(60);
    private readonly string _payload = new('x', options.PayloadBytes);

    public async Task<IReadOnlyList<ScenarioResult>> RunAsync(JournalKind kind)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"runner-journal-bench-{kind.Name()}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var results = new List<ScenarioResult>();
        ActorSystem? system = null;
        LmdbStore? store = null;
        try
        {
            foreach (var actors in options.ActorCounts)
            {
                foreach (var mode in Enum.GetValues<PersistMode>())
                {
                    if (system is null) (system, store) = await StartAsync(kind, dir);
                    var r = await RunScenarioAsync(system, kind, mode, actors, options.EventsPerActor[actors], "run", store, null);
                    results.Add(r);
                    log.WriteLine(Report.Progress(r));

                    // Failed writes may have opened the journal's circuit breaker, and writes still draining would
                    // slow the next scenario: either would make it pay for this one, so it gets a fresh system.
                    if (r.Failures > 0 || r.Aborted)
                    {
                        log.WriteLine($"  ({kind.Name()}: failures or backlog, restarting the actor system for the next scenario)");
                        await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
                        system = null;
                    }
                }
            }

            return results;
        }
        finally
        {
            if (system is not null) await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
            DeleteQuietly(dir);
        }
    }

    /// <summary>An actor system on <paramref name="dir"/>, after an untimed warm-up (JIT, journal start-up, file growth).</summary>
    private async Task<(ActorSystem System, LmdbStore? Store)> StartAsync(JournalKind kind, string dir)
    {
        var system = ActorSystem.Create("journal-bench", kind.Config(dir));
        var store = kind is JournalKind.Lmdb or JournalKind.LmdbNoSync
            ? LmdbPersistence.Get(system).StoreFor(LmdbPersistence.JournalPath)
            : null;
        foreach (var mode in Enum.GetValues<PersistMode>())
            await RunScenarioAsync(system, kind, mode, options.WarmUp.Actors, options.WarmUp.Events, $"warmup-{Guid.NewGuid():N}", store, TimeSpan.FromSeconds(30));
        return (system, store);
    }

    private async Task<ScenarioResult> RunScenarioAsync(ActorSystem system, JournalKind kind, PersistMode mode, int actors, int eventsPerActor,
        string label, LmdbStore? store, TimeSpan? fixedCap)
    {
        var prefix = $"{label}-{mode}-{actors}";
        var target = (long)actors * eventsPerActor;

        // Spawn and let the (empty) recoveries finish before the clock starts.
        var writeProbe = new ScenarioProbe(target, actors);
        var writers = Spawn(system, prefix, actors, mode, writeProbe);
        await writeProbe.Recovered.WaitAsync(StopCap);

        var commitsBefore = store?.Commits;
        var cap = fixedCap ?? clock.NextPhaseCap();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        for (var e = 0; e < eventsPerActor; e++)
        {
            foreach (var w in writers) w.Tell(BenchActor.Write.Instance);
        }

        var writeCapped = !await Completes(writeProbe.Written, cap);
        var writeTime = sw.Elapsed;
        var written = writeProbe.Confirmed;
        var writeCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var commits = store?.Commits - commitsBefore;
        writeProbe.Cancel();
        if (!await StopAll(writers, BenchActor.Finish.Instance))
        {
            return new ScenarioResult(kind, mode, actors, target, written, writeProbe.Confirmed, writeTime, writeCapped, 0, TimeSpan.Zero, false,
                writeProbe.Failures, commits, writeCpu, Aborted: true);
        }

        // Replay: new incarnations of the same ids recover everything that was written.
        var replayProbe = new ScenarioProbe(0, actors);
        cap = fixedCap ?? clock.NextPhaseCap();
        sw.Restart();
        var readers = Spawn(system, prefix, actors, mode, replayProbe);
        var replayCapped = !await Completes(replayProbe.Recovered, cap);
        var replayTime = sw.Elapsed;
        var replayed = replayProbe.RecoveredEvents;
        var stopped = await StopAll(readers, PoisonPill.Instance);

        return new ScenarioResult(kind, mode, actors, target, written, writeProbe.Confirmed, writeTime, writeCapped, replayed, replayTime,
            replayCapped, writeProbe.Failures + replayProbe.Failures, commits, writeCpu, Aborted: !stopped);
    }

    private IActorRef[] Spawn(ActorSystem system, string prefix, int actors, PersistMode mode, ScenarioProbe probe)
    {
        var refs = new IActorRef[actors];
        for (var i = 0; i < actors; i++)
            refs[i] = system.ActorOf(BenchActor.Props($"{prefix}-{i}", mode, _payload, probe));
        return refs;
    }

    private static async Task<bool> Completes(Task task, TimeSpan cap)
    {
        var winner = await Task.WhenAny(task, Task.Delay(cap));
        return winner == task;
    }

    /// <summary>Stops the actors; false when a backlog kept them from stopping within <see cref="StopCap"/>.</summary>
    private static async Task<bool> StopAll(IActorRef[] actors, object stop)
    {
        var stopped = actors.Select(a => a.WatchAsync()).ToArray();
        foreach (var a in actors) a.Tell(stop);
        return await Completes(Task.WhenAll(stopped), StopCap);
    }

    private static void DeleteQuietly(string dir)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(200); // a store or connection pool still closing its files
            }
        }
    }
}

/// <summary>Wall-clock budget of the whole run, shared out as per-phase caps so the run stops by itself.</summary>
internal sealed class BenchClock(BenchOptions options, int phases)
{
    private readonly Stopwatch _run = Stopwatch.StartNew();
    private int _phasesLeft = phases;

    public TimeSpan Elapsed => _run.Elapsed;

    public TimeSpan NextPhaseCap()
    {
        var left = Math.Max(1, Interlocked.Decrement(ref _phasesLeft) + 1);
        var remaining = options.TotalBudget - _run.Elapsed;

        // Most phases take a fraction of their share, so a slow phase may borrow a few shares of the rest.
        var share = TimeSpan.FromTicks(Math.Max(0, remaining.Ticks) / left * 4);
        var cap = share < options.PhaseCap ? share : options.PhaseCap;
        return cap < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : cap;
    }
}
