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

    /// <summary>Subjects with an invalid tenant token seen at intake.</summary>
    public static readonly Counter<long> InvalidTenants = Meter.CreateCounter<long>("runner.intake.invalid_tenant");
}
