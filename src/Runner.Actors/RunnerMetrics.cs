using System.Diagnostics.Metrics;

namespace Runner.Actors;

/// <summary>The runner's instruments (meter <c>Runner</c>); exported by the host.</summary>
public static class RunnerMetrics
{
    /// <summary>Meter name.</summary>
    public const string MeterName = "Runner";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Events applied to saga instances (tags: tenant, saga).</summary>
    public static readonly Counter<long> EventsApplied = Meter.CreateCounter<long>("runner.events.applied");

    /// <summary>Events skipped because their dedupe marker existed.</summary>
    public static readonly Counter<long> EventsDuplicate = Meter.CreateCounter<long>("runner.events.duplicate");

    /// <summary>Events parked on the dead-letter subject (tags: tenant, saga, kind).</summary>
    public static readonly Counter<long> EventsDeadLettered = Meter.CreateCounter<long>("runner.events.dead_lettered");

    /// <summary>Commands acknowledged by JetStream.</summary>
    public static readonly Counter<long> CommandsPublished = Meter.CreateCounter<long>("runner.commands.published");

    private static int _unplaced;

    /// <summary>Tenants this node knows that placement puts nowhere, or on a node that is not up (not run anywhere).</summary>
    public static readonly ObservableGauge<int> UnplacedTenants =
        Meter.CreateObservableGauge("runner.placement.unplaced_tenants", () => Volatile.Read(ref _unplaced));

    /// <summary>Sets the number of unplaced tenants (the node's intake keeps it current).</summary>
    public static void SetUnplaced(int count) => Volatile.Write(ref _unplaced, count);

    /// <summary>Subjects with an invalid tenant token seen at intake.</summary>
    public static readonly Counter<long> InvalidTenants = Meter.CreateCounter<long>("runner.intake.invalid_tenant");
}
