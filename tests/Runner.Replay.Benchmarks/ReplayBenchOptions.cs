using System.Globalization;

namespace Runner.Replay.Benchmarks;

/// <summary>Command-line options. The run is bounded by its order count, by a cap per phase and by a cap on the whole run.</summary>
internal sealed record ReplayBenchOptions
{
    /// <summary>Order saga instances seeded (each gets two events, so every replay reads 2 × this many events).</summary>
    public int Orders { get; init; } = 2_000;

    /// <summary>Longest any one phase may take before the run stops and reports what it has.</summary>
    public TimeSpan PhaseCap { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Longest the whole run may take (node start to the final checks).</summary>
    public TimeSpan TotalCap { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Events awaiting their PubAck at a time while seeding.</summary>
    public int PublishWindow { get; init; } = 256;

    /// <summary>The node's log level (Microsoft.Extensions.Logging and Akka): Warning by default, Information shows each replay's start and end.</summary>
    public string NodeLogLevel { get; init; } = "Warning";

    public bool Quick { get; init; }

    public bool Help { get; init; }

    public const string Usage = """
        Runner.Replay.Benchmarks - replay of the order saga on one Runner node: live rate, dry runs and every replay mode side by side.

        usage: dotnet run -c Release --project tests/Runner.Replay.Benchmarks -- [options]

          --quick                 200 orders (smoke run)
          --orders N              order saga instances to seed (default 2000; 2 events each)
          --phase-seconds S       cap per phase (default 120)
          --cap-seconds S         cap of the whole run (default 300): past it the run stops, reports what it has, exits 1
          --publish-window N      seed publishes awaiting their PubAck at a time (default 256)
          --node-log LEVEL        node log level: Warning (default), Information, Debug
          --help
        """;

    /// <exception cref="ArgumentException">An option is unknown or its value is missing or invalid.</exception>
    public static ReplayBenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ReplayBenchOptions();
        if (args.Contains("--quick")) o = o with { Quick = true, Orders = 200 };
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Positive() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v
                : throw new ArgumentException($"{args[i - 1]} needs a positive integer, not '{args[i]}'");
            o = args[i] switch
            {
                "--quick" => o,
                "--help" or "-h" => o with { Help = true },
                "--orders" => o with { Orders = Positive() },
                "--phase-seconds" => o with { PhaseCap = TimeSpan.FromSeconds(Positive()) },
                "--cap-seconds" => o with { TotalCap = TimeSpan.FromSeconds(Positive()) },
                "--publish-window" => o with { PublishWindow = Positive() },
                "--node-log" => o with { NodeLogLevel = Value() },
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
        }

        return o;
    }

    /// <summary>The node's level as Akka names it.</summary>
    public string AkkaLogLevel => NodeLogLevel.ToUpperInvariant() switch
    {
        "DEBUG" or "TRACE" => "DEBUG",
        "INFORMATION" or "INFO" => "INFO",
        "ERROR" or "CRITICAL" => "ERROR",
        _ => "WARNING",
    };
}
