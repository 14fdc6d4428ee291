using Akka.Actor;
using Akka.Configuration;
using Xunit;

namespace Runner.Persistence.Lmdb.Tests;

/// <summary>Specs that measure or occupy the whole process (its memory, its thread pool); they run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideSpecs
{
    public const string Name = "process-wide";
}

/// <summary>Actor systems for specs, started the way a node starts them.</summary>
public static class TestSystems
{
    /// <summary>Creates an actor system and starts its scheduler at once (see <see cref="WarmUp"/>).</summary>
    public static ActorSystem Create(string name, Config config) => WarmUp(ActorSystem.Create(name, config));

    /// <summary>
    /// Starts the scheduler of <paramref name="system"/> now, from the calling thread. Akka's scheduler starts on
    /// first use, and that first call blocks its thread until a thread-pool work item has run; when the first use is a
    /// burst of recovering persistent actors (each schedules its recovery timeout), every pool thread that runs one
    /// blocks there while the work item waits behind the burst. Runner nodes do the same at start.
    /// </summary>
    public static ActorSystem WarmUp(ActorSystem system)
    {
        system.Scheduler.Advanced.ScheduleOnce(TimeSpan.Zero, static () => { });
        return system;
    }
}
