using System.Collections.Immutable;
using System.Globalization;

namespace Runner.Persistence.Lmdb.Benchmarks;

/// <summary>How a persistent actor writes: one event per round trip, or without waiting for the journal.</summary>
internal enum PersistMode
{
    Persist,
    PersistAsync,
}

/// <summary>Command-line options. Every scenario is bounded by an event count and by wall-clock time.</summary>
internal sealed record BenchOptions
{
    /// <summary>Journals compared, in run order.</summary>
    public ImmutableArray<JournalKind> Journals { get; init; } =
        [JournalKind.Memory, JournalKind.Lmdb, JournalKind.Sqlite, JournalKind.LmdbNoSync];

    /// <summary>Concurrent persistent actors per scenario.</summary>
    public ImmutableArray<int> ActorCounts { get; init; } = [1, 100, 1000];

    /// <summary>Events each actor persists, by actor count (the same for every journal and mode).</summary>
    public ImmutableDictionary<int, int> EventsPerActor { get; init; } =
        ImmutableDictionary<int, int>.Empty.Add(1, 3000).Add(100, 200).Add(1000, 100);

    /// <summary>Longest a write phase or a replay phase may take; a capped phase reports the rate reached.</summary>
    public TimeSpan PhaseCap { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>Budget of the whole run; phases get a shorter cap when it runs low, so the run stops by itself.</summary>
    public TimeSpan TotalBudget { get; init; } = TimeSpan.FromSeconds(200);

    /// <summary>Actors and events per actor of the untimed warm-up run in each actor system.</summary>
    public (int Actors, int Events) WarmUp { get; init; } = (20, 50);

    /// <summary>
    /// Rounds: each runs every journal once (fresh actor system and files), so machine noise hits the journals
    /// alike; the report gives the median of the rounds.
    /// </summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Size in bytes (UTF-8) of the string event every journal persists.</summary>
    public int PayloadBytes { get; init; } = 100;

    public bool Quick { get; init; }

    /// <summary>Run the LMDB store profile (<see cref="StoreProfile"/>) instead of the comparison.</summary>
    public bool Profile { get; init; }

    public const string Usage = """
        Runner.Persistence.Lmdb.Benchmarks - Persist/PersistAsync throughput and replay rate per journal.

        usage: dotnet run -c Release --project tests/Runner.Persistence.Lmdb.Benchmarks -- [options]

          --quick                 smoke run in seconds (small counts, short caps); exits 1 on a failed check
          --journals LIST         comma list of memory,lmdb,sqlite,lmdb-nosync (default: all four;
                                  lmdb-nosync is an informational row, the headline uses lmdb = durability sync)
          --actors LIST           actor counts (default 1,100,1000)
          --events LIST           events per actor for each actor count, same order (default 3000,200,100)
          --phase-seconds N       cap of each write or replay phase (default 8)
          --profile               instead: split the LMDB journal's cost (fsync per commit, store group commit
                                  without Akka, serialization), sync and nosync
          --rounds N              rounds over all journals; the table shows medians (default 3)
          --budget-seconds N      cap of the whole run (default 200)
          --payload-bytes N       event size (default 100)
          -h, --help              this text

        The last line is: journal-bench: lmdb/sqlite=R lmdb/memory=R replay-lmdb/memory=R
        (1,000 actors, PersistAsync; n/a where a journal or that scenario was not run).
        """;

    /// <summary>Parses <paramref name="args"/>; null with a message when they are wrong or help was asked for.</summary>
    public static (BenchOptions? Options, string? Message) Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        if (args.Contains("--quick"))
        {
            o = o with
            {
                Quick = true,
                EventsPerActor = ImmutableDictionary<int, int>.Empty.Add(1, 100).Add(100, 5).Add(1000, 2),
                PhaseCap = TimeSpan.FromSeconds(2),
                Rounds = 1,
                TotalBudget = TimeSpan.FromSeconds(60),
                WarmUp = (5, 10),
            };
        }

        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--quick":
                        break;
                    case "--profile":
                        o = o with { Profile = true };
                        break;
                    case "-h" or "--help":
                        return (null, Usage);
                    case "--journals":
                        o = o with { Journals = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(JournalKinds.Parse)] };
                        break;
                    case "--actors":
                        o = o with { ActorCounts = [.. Ints(Next())] };
                        break;
                    case "--events":
                        var events = Ints(Next());
                        if (events.Length != o.ActorCounts.Length)
                            throw new FormatException("--events needs one count per actor count (give --actors first when changing it)");
                        o = o with { EventsPerActor = o.ActorCounts.Zip(events, KeyValuePair.Create).ToImmutableDictionary() };
                        break;
                    case "--phase-seconds":
                        o = o with { PhaseCap = TimeSpan.FromSeconds(Ints(Next()).Single()) };
                        break;
                    case "--rounds":
                        o = o with { Rounds = Ints(Next()).Single() };
                        break;
                    case "--budget-seconds":
                        o = o with { TotalBudget = TimeSpan.FromSeconds(Ints(Next()).Single()) };
                        break;
                    case "--payload-bytes":
                        o = o with { PayloadBytes = Ints(Next()).Single() };
                        break;
                    default:
                        throw new FormatException($"unknown option {args[i]}");
                }
            }
            catch (FormatException e)
            {
                return (null, e.Message + Environment.NewLine + Environment.NewLine + Usage);
            }
        }

        foreach (var a in o.ActorCounts)
        {
            if (!o.EventsPerActor.ContainsKey(a))
                return (null, $"no event count for {a} actors: pass --events with one count per actor count");
        }

        return (o, null);
    }

    private static int[] Ints(string list)
    {
        var values = list.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
        if (values.Length == 0 || values.Any(v => v <= 0)) throw new FormatException($"'{list}' must be positive integers");
        return values;
    }
}
