using System.Collections.Immutable;
using System.Globalization;

namespace Runner.Benchmarks;

/// <summary>Command-line options. Every phase is bounded by an event count and by wall-clock time.</summary>
internal sealed record BenchOptions
{
    /// <summary>Tenant counts; each runs the raw loop and the runner with the same events.</summary>
    public ImmutableArray<int> TenantCounts { get; init; } = [1, 10, 100];

    /// <summary>Events published as fast as possible per saturation phase (spread round-robin over the tenants).</summary>
    public int SaturationEvents { get; init; } = 20_000;

    /// <summary>Untimed warm-up events per tenant (at least <see cref="MinWarmUpEvents"/> in all).</summary>
    public int WarmUpPerTenant { get; init; } = 5;

    /// <summary>Lower bound of the warm-up events of a scenario.</summary>
    public int MinWarmUpEvents { get; init; } = 1000;

    /// <summary>Tenant count whose latency is measured at half its maximum rate (the headline).</summary>
    public int LatencyTenants { get; init; } = 10;

    /// <summary>Length of the paced latency phase.</summary>
    public TimeSpan LatencyDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Fraction of the measured maximum rate the latency phase paces at.</summary>
    public double LatencyLoad { get; init; } = 0.5;

    /// <summary>Orders of the extra runner row with the whole 3-event flow (0 = skip), at <see cref="LatencyTenants"/>.</summary>
    public int FlowOrders { get; init; } = 5_000;

    /// <summary>Longest a saturation, latency or warm-up phase may wait for its commands.</summary>
    public TimeSpan PhaseCap { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>Budget of the whole run: phases get shorter caps when it runs low and later scenarios are skipped.</summary>
    public TimeSpan TotalBudget { get; init; } = TimeSpan.FromSeconds(420);

    /// <summary>Events the load generator keeps in flight (awaiting their PubAck) while publishing.</summary>
    public int PublishWindow { get; init; } = 1024;

    /// <summary>Which systems run: raw, runner, or both.</summary>
    public ImmutableArray<string> Systems { get; init; } = ["raw", "runner"];

    /// <summary>HOCON put over the runner node's defaults (experiments only; empty in a normal run).</summary>
    public string RunnerHocon { get; init; } = "";

    /// <summary>Where the node's LMDB data and nats-server's store live (default: the system temp directory).</summary>
    public string? WorkDirectory { get; init; }

    public bool Quick { get; init; }

    /// <summary>Prints the types the allocations of each saturation phase are made of (the runtime's allocation samples).</summary>
    public bool AllocationProfile { get; init; }

    /// <summary>Tenants of the many-tenants case (allowlisted start, memory per idle tenant, saturation of both systems); 0 = skip.</summary>
    public int ManyTenants { get; init; } = 1000;

    /// <summary>Events of the many-tenants saturation phase (spread over its tenants).</summary>
    public int ManyTenantsEvents { get; init; } = 10_000;

    /// <summary>
    /// Runs the replication pair after the other cases: the runner at <see cref="LatencyTenants"/>, its saturation and latency
    /// phases with journal replication off, then on.
    /// </summary>
    public bool Replication { get; init; }

    /// <summary>Runs the replication pair alone (no raw loop, no other case).</summary>
    public bool ReplicationOnly { get; init; }

    public const string Usage = """
        Runner.Benchmarks - durable order saga on a Runner node vs a raw NATS consume-publish-ack loop.

        usage: dotnet run -c Release --project tests/Runner.Benchmarks -- [options]

          --quick                  smoke run in ~30 s (small counts); exits 1 when a command is missing
          --tenants LIST           tenant counts (default 1,10,100)
          --events N               events per saturation phase (default 20000)
          --warmup N               untimed warm-up events per scenario, at least (default 1000)
          --latency-tenants N      tenant count of the paced latency phase and the headline (default 10)
          --latency-seconds N      length of the paced latency phase (default 10)
          --latency-load F         pace as a fraction of the measured max rate (default 0.5)
          --flow-orders N          orders of the extra 3-event runner row (default 5000; 0 = skip)
          --systems LIST           raw,runner (default both)
          --phase-seconds N        cap of each phase (default 40)
          --budget-seconds N       cap of the whole run (default 420)
          --many-tenants N         tenants of the many-tenants case (default 1000, quick 100; 0 = skip)
          --many-tenants-events N  events of its saturation phase (default 10000)
          --alloc-profile          print the types allocated during each saturation phase (runtime allocation samples)
          --replication            then the runner at --latency-tenants twice: journal replication off, then on
          --replication-only       that pair alone (skips the raw loop, the other tenant counts, flow and many tenants)
          --runner-hocon TEXT      HOCON over the node's defaults, for experiments (marked in the output)
          --work-dir DIR           directory for LMDB data and the nats-server store (default: temp)
          -h, --help               this text

        The last lines (the latency-tenants case, the many-tenants case, then with --replication the pair, alone with
        --replication-only):
        e2e-bench: events/s=N raw/s=N ratio=R p99-ms=MS raw-p99-ms=MS p99-ratio=R cpu-us=US raw-cpu-us=US
        tenants-bench: tenants=N events/s=N raw/s=N ratio=R start-s=S mb-per-idle-tenant=MB
        replication-bench: tenants=N events=N off-events/s=N on-events/s=N ratio=R off-p99-ms=MS on-p99-ms=MS off-cpu-us=US on-cpu-us=US
        """;

    public static (BenchOptions? Options, string? Message) Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        if (args.Contains("--quick"))
        {
            o = o with
            {
                Quick = true,
                TenantCounts = [1, 10],
                SaturationEvents = 2_000,
                WarmUpPerTenant = 5,
                MinWarmUpEvents = 100,
                LatencyDuration = TimeSpan.FromSeconds(3),
                FlowOrders = 300,
                PhaseCap = TimeSpan.FromSeconds(15),
                TotalBudget = TimeSpan.FromSeconds(80),
                ManyTenants = 100,
                ManyTenantsEvents = 1_000,
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
                    case "-h" or "--help":
                        return (null, Usage);
                    case "--tenants":
                        o = o with { TenantCounts = [.. Ints(Next())] };
                        break;
                    case "--events":
                        o = o with { SaturationEvents = Int(Next()) };
                        break;
                    case "--warmup":
                        o = o with { MinWarmUpEvents = Int(Next()) };
                        break;
                    case "--latency-tenants":
                        o = o with { LatencyTenants = Int(Next()) };
                        break;
                    case "--latency-seconds":
                        o = o with { LatencyDuration = TimeSpan.FromSeconds(Int(Next())) };
                        break;
                    case "--latency-load":
                        var load = double.Parse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture);
                        if (load is <= 0 or > 1) throw new FormatException("--latency-load must be in (0, 1]");
                        o = o with { LatencyLoad = load };
                        break;
                    case "--flow-orders":
                        o = o with { FlowOrders = NonNegative(Next(), "--flow-orders") };
                        break;
                    case "--systems":
                        var systems = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        if (systems.Length == 0 || systems.Any(s => s is not ("raw" or "runner"))) throw new FormatException("--systems takes raw,runner");
                        o = o with { Systems = [.. systems] };
                        break;
                    case "--phase-seconds":
                        o = o with { PhaseCap = TimeSpan.FromSeconds(Int(Next())) };
                        break;
                    case "--budget-seconds":
                        o = o with { TotalBudget = TimeSpan.FromSeconds(Int(Next())) };
                        break;
                    case "--alloc-profile":
                        o = o with { AllocationProfile = true };
                        break;
                    case "--many-tenants":
                        o = o with { ManyTenants = NonNegative(Next(), "--many-tenants") };
                        break;
                    case "--many-tenants-events":
                        o = o with { ManyTenantsEvents = Int(Next()) };
                        break;
                    case "--replication":
                        o = o with { Replication = true };
                        break;
                    case "--replication-only":
                        o = o with { Replication = true, ReplicationOnly = true };
                        break;
                    case "--runner-hocon":
                        o = o with { RunnerHocon = Next() };
                        break;
                    case "--work-dir":
                        o = o with { WorkDirectory = Path.GetFullPath(Next()) };
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

        return (o, null);
    }

    private static int Int(string s) => Ints(s).Single();

    /// <summary>A count that may be 0 (0 = skip the case).</summary>
    private static int NonNegative(string s, string option)
    {
        var value = int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);
        return value >= 0 ? value : throw new FormatException($"{option} must not be negative");
    }

    private static int[] Ints(string list)
    {
        var values = list.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
        if (values.Length == 0 || values.Any(v => v <= 0)) throw new FormatException($"'{list}' must be positive integers");
        return values;
    }
}
