using System.Collections.Immutable;
using System.Globalization;

namespace Runner.Chaos;

/// <summary>Command-line options of the chaos suite.</summary>
internal sealed record ChaosOptions
{
    /// <summary>Every scenario, in the order <c>all</c> runs them.</summary>
    public static readonly ImmutableArray<string> AllScenarios = ["kill9", "nats-restart", "nak-storm", "drain", "move", "poison", "nats-cluster", "node-loss"];

    /// <summary>Measurements run only when named (not by <c>all</c>): 1,000 tenants on a NATS cluster.</summary>
    public static readonly ImmutableArray<string> Measurements = ["cluster-tenants"];

    public ImmutableArray<string> Scenarios { get; init; } = AllScenarios;

    /// <summary>A small version of each scenario (CI).</summary>
    public bool Quick { get; init; }

    /// <summary>Seed of the random choices (kill moments, fault draws are the node's own).</summary>
    public int Seed { get; init; } = Environment.TickCount;

    /// <summary>Keep the temporary directories (node logs, LMDB, nats-server stores) for inspection.</summary>
    public bool Keep { get; init; }

    /// <summary>Where the temporary directories go (default: the system temp directory).</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>
    /// Whether the nodes replicate their journals to JetStream (<c>RUNNER_REPLICATION</c>): <c>--replication on|off</c> sets it
    /// for every scenario's nodes; without it, <c>node-loss</c> runs with replication and the others without.
    /// </summary>
    public bool? Replication { get; init; }

    /// <summary><c>node-loss</c>: the split-brain resolver's <c>stable-after</c>, how long a lost member stays unreachable before it is downed.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(3);

    public const string Usage = """
        Runner.Chaos - real nats-server and Runner node processes on 127.0.0.1 under load and faults;
        an independent reader of the command stream counts what was lost, duplicated or applied out of order.

        usage: dotnet run -c Release --project tests/Runner.Chaos -- --scenario NAME [options]

          --scenario NAME   kill9 | nats-restart | nak-storm | drain | move | poison | nats-cluster | node-loss | all (comma-separated list allowed)
          --quick           a small version of each scenario (what CI runs)
          --seed N          seed of the random kill moments (printed on every line)
          --keep            keep the temporary directories (node logs, data) and print where they are
          --work DIR        put the temporary directories under DIR
          --replication on|off   every node replicates its journal to JetStream, or none does (default: node-loss on, the others off;
                                 node-loss with off shows the lost node's tenants stay stopped)
          --stable-after S  node-loss: seconds the split-brain resolver waits before it downs the lost node (default 3)

        Each scenario ends with one line
          chaos: scenario=NAME ... lost=N dup=N out-of-order=N ... result=pass|fail
        and the run with "chaos: N passed, N failed"; the exit code is 1 when a scenario failed.
        """;

    public static ChaosOptions Parse(string[] args)
    {
        var o = new ChaosOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--scenario":
                    var names = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (names.Contains("all")) names = [.. AllScenarios];
                    var unknown = names.Where(n => !AllScenarios.Contains(n) && !Measurements.Contains(n)).ToList();
                    if (unknown.Count > 0)
                        throw new ArgumentException(
                            $"unknown scenario(s) {string.Join(", ", unknown)}; choose from {string.Join(", ", AllScenarios.Concat(Measurements))} or all");
                    o = o with { Scenarios = [.. names] };
                    break;
                case "--quick":
                    o = o with { Quick = true };
                    break;
                case "--seed":
                    o = o with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) };
                    break;
                case "--keep":
                    o = o with { Keep = true };
                    break;
                case "--work":
                    o = o with { WorkDirectory = Next() };
                    break;
                case "--replication":
                    o = o with
                    {
                        Replication = Next() switch
                        {
                            "on" => true,
                            "off" => false,
                            var other => throw new ArgumentException($"--replication takes on or off, not '{other}'"),
                        },
                    };
                    break;
                case "--stable-after":
                    var seconds = Next();
                    o = o with
                    {
                        StableAfter = int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0
                            ? TimeSpan.FromSeconds(s)
                            : throw new ArgumentException($"--stable-after takes a whole number of seconds above 0, not '{seconds}'"),
                    };
                    break;
                default:
                    throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        return o;
    }
}
