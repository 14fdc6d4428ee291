using System.Collections.Immutable;
using System.Globalization;

namespace Runner.Chaos;

/// <summary>Command-line options of the chaos suite.</summary>
internal sealed record ChaosOptions
{
    /// <summary>Every scenario, in the order <c>all</c> runs them.</summary>
    public static readonly ImmutableArray<string> AllScenarios = ["kill9", "nats-restart", "nak-storm", "drain", "move", "poison", "nats-cluster"];

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

    public const string Usage = """
        Runner.Chaos - real nats-server and Runner node processes on 127.0.0.1 under load and faults;
        an independent reader of the command stream counts what was lost, duplicated or applied out of order.

        usage: dotnet run -c Release --project tests/Runner.Chaos -- --scenario NAME [options]

          --scenario NAME   kill9 | nats-restart | nak-storm | drain | move | poison | nats-cluster | all (comma-separated list allowed)
          --quick           a small version of each scenario (what CI runs)
          --seed N          seed of the random kill moments (printed on every line)
          --keep            keep the temporary directories (node logs, data) and print where they are
          --work DIR        put the temporary directories under DIR

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
                default:
                    throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        return o;
    }
}
