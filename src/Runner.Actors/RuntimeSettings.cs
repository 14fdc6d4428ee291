using Akka.Configuration;

namespace Runner.Actors;

/// <summary>Settings of the saga runtime, read once from <c>runner.runtime</c>.</summary>
public sealed record RuntimeSettings
{
    /// <summary>Journal events between snapshots of a saga instance.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>Idle time before a saga instance stops.</summary>
    public TimeSpan PassivateAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a completed instance is kept.</summary>
    public TimeSpan CompletedRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Dedupe markers kept per instance.</summary>
    public int DedupeWindow { get; init; } = 1000;

    /// <summary>Schedule index tick.</summary>
    public TimeSpan TimerTick { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Tolerance for the <c>skip</c> missed-fire policy.</summary>
    public TimeSpan MissedFireTolerance { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Redispatch interval of an unconfirmed due timer.</summary>
    public TimeSpan TimerRedispatch { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long an applied event's answer waits for the PubAck of its commands before the instance records that it has
    /// commands still to publish (so the tenant's schedule index wakes it after a crash or move) and answers anyway.
    /// </summary>
    public TimeSpan OutboxAckAfter { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Read journal plugin id the schedule index follows.</summary>
    public string QueryPlugin { get; init; } = "akka.persistence.query.journal.lmdb";

    /// <summary>Followed events between schedule index snapshots.</summary>
    public int ScheduleSnapshotEvery { get; init; } = 500;

    /// <summary>Instances a replay resets at a time.</summary>
    public int ReplayResetParallelism { get; init; } = 32;

    /// <summary>A replay step without progress for this long is tried again (and said so in its status).</summary>
    public TimeSpan ReplayStallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a finished dry run stays answerable by its id.</summary>
    public TimeSpan DryRunRetention { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Finished replays a tenant's checkpoint journal keeps listed.</summary>
    public int ReplaysKept { get; init; } = 20;

    /// <summary>How long a replay step that failed (listing instances, deleting the consumer) waits before it is tried again.</summary>
    public TimeSpan ReplayRetryAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a rewound replay reads its consumer's position to follow its progress.</summary>
    public TimeSpan ReplayPollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long an operator query waits for the saga instances it asked before it answers that they did not answer.</summary>
    public TimeSpan AdminQueryStallTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>First delay before the schedule index's query of timer changes is started again after it failed (doubles).</summary>
    public TimeSpan ScheduleFollowMinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay before the schedule index's query of timer changes is started again.</summary>
    public TimeSpan ScheduleFollowMaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Shortest time between two log lines of a (tenant, saga) about events parked on the dead-letter subject.</summary>
    public TimeSpan ParkLogInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Most events the intake inspects before it acks them with one ack.</summary>
    public int IntakeAckBatch { get; init; } = 256;

    /// <summary>Longest the intake holds inspected events before it acks them.</summary>
    public TimeSpan IntakeAckWithin { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Faults injected into the application of events (chaos testing; off by default).</summary>
    public FaultInjection Faults { get; init; } = FaultInjection.None;

    /// <summary>Defaults of the embedded reference.conf.</summary>
    public static RuntimeSettings Default { get; } = new();

    /// <summary>The embedded reference configuration (also binds the stored-event serializer).</summary>
    public static Config DefaultConfiguration() =>
        ConfigurationFactory.FromResource<RuntimeSettings>("Runner.Actors.reference.conf");

    /// <summary>Reads and validates <c>runner.runtime</c>.</summary>
    public static RuntimeSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.GetConfig("runner.runtime").WithFallback(DefaultConfiguration().GetConfig("runner.runtime"));
        var s = new RuntimeSettings
        {
            SnapshotEvery = c.GetInt("snapshot-every", 100),
            PassivateAfter = c.GetTimeSpan("passivate-after", TimeSpan.FromMinutes(2)),
            CompletedRetention = c.GetTimeSpan("completed-retention", TimeSpan.FromDays(7)),
            DedupeWindow = c.GetInt("dedupe-window", 1000),
            TimerTick = c.GetTimeSpan("timer-tick", TimeSpan.FromMilliseconds(500)),
            MissedFireTolerance = c.GetTimeSpan("missed-fire-tolerance", TimeSpan.FromSeconds(5)),
            TimerRedispatch = c.GetTimeSpan("timer-redispatch", TimeSpan.FromSeconds(5)),
            OutboxAckAfter = c.GetTimeSpan("outbox-ack-after", TimeSpan.FromMilliseconds(250)),
            QueryPlugin = c.GetString("query-plugin", "akka.persistence.query.journal.lmdb"),
            ScheduleSnapshotEvery = c.GetInt("schedule-snapshot-every", 500),
            ReplayResetParallelism = c.GetInt("replay.reset-parallelism", 32),
            ReplayStallTimeout = c.GetTimeSpan("replay.stall-timeout", TimeSpan.FromSeconds(30)),
            DryRunRetention = c.GetTimeSpan("replay.dry-run-retention", TimeSpan.FromMinutes(10)),
            ReplaysKept = c.GetInt("replay.finished-kept", 20),
            ReplayRetryAfter = Positive(c, "replay.retry-after", TimeSpan.FromSeconds(2)),
            ReplayPollInterval = Positive(c, "replay.poll-interval", TimeSpan.FromMilliseconds(250)),
            AdminQueryStallTimeout = Positive(c, "admin.query-stall-timeout", TimeSpan.FromSeconds(20)),
            ScheduleFollowMinBackoff = Positive(c, "schedule-follow.min-backoff", TimeSpan.FromMilliseconds(200)),
            ScheduleFollowMaxBackoff = Positive(c, "schedule-follow.max-backoff", TimeSpan.FromSeconds(5)),
            ParkLogInterval = Positive(c, "park-log-interval", TimeSpan.FromSeconds(5)),
            IntakeAckBatch = c.GetInt("intake.ack-batch", 256),
            IntakeAckWithin = Positive(c, "intake.ack-within", TimeSpan.FromMilliseconds(200)),
            Faults = new FaultInjection(
                Rate(c, "fault-injection.apply-failure-rate"),
                Rate(c, "fault-injection.slow-apply-rate"),
                c.GetTimeSpan("fault-injection.slow-apply-delay", TimeSpan.Zero)),
        };
        if (s.Faults.SlowApplyRate > 0 && s.Faults.SlowApplyDelay <= TimeSpan.Zero)
            throw new ConfigurationException("runner.runtime.fault-injection.slow-apply-delay must be positive when slow-apply-rate is set.");
        if (s.SnapshotEvery < 1) throw new ConfigurationException($"runner.runtime.snapshot-every must be at least 1, not {s.SnapshotEvery}.");
        if (s.DedupeWindow < 1) throw new ConfigurationException($"runner.runtime.dedupe-window must be at least 1, not {s.DedupeWindow}.");
        if (s.OutboxAckAfter <= TimeSpan.Zero) throw new ConfigurationException("runner.runtime.outbox-ack-after must be positive.");
        if (s.PassivateAfter <= TimeSpan.Zero) throw new ConfigurationException("runner.runtime.passivate-after must be positive.");
        if (s.TimerTick <= TimeSpan.Zero) throw new ConfigurationException("runner.runtime.timer-tick must be positive.");
        if (s.ReplayResetParallelism < 1) throw new ConfigurationException("runner.runtime.replay.reset-parallelism must be at least 1.");
        if (s.ReplayStallTimeout <= TimeSpan.Zero) throw new ConfigurationException("runner.runtime.replay.stall-timeout must be positive.");
        if (s.ReplaysKept < 1) throw new ConfigurationException("runner.runtime.replay.finished-kept must be at least 1.");
        if (s.DryRunRetention <= TimeSpan.Zero) throw new ConfigurationException("runner.runtime.replay.dry-run-retention must be positive.");
        if (s.ScheduleFollowMaxBackoff < s.ScheduleFollowMinBackoff)
            throw new ConfigurationException(
                $"runner.runtime.schedule-follow.max-backoff ({s.ScheduleFollowMaxBackoff}) must be at least runner.runtime.schedule-follow.min-backoff ({s.ScheduleFollowMinBackoff}).");
        if (s.IntakeAckBatch < 1) throw new ConfigurationException($"runner.runtime.intake.ack-batch must be at least 1, not {s.IntakeAckBatch}.");
        return s;
    }

    /// <summary>A duration that must be positive; the error (a value that is no duration included) names the key.</summary>
    private static TimeSpan Positive(Config c, string key, TimeSpan fallback)
    {
        TimeSpan value;
        try
        {
            value = c.GetTimeSpan(key, fallback);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"runner.runtime.{key} must be a positive duration, not '{c.GetString(key, "")}': {e.Message}", e);
        }

        return value > TimeSpan.Zero ? value : throw new ConfigurationException($"runner.runtime.{key} must be positive, not {value}.");
    }

    private static double Rate(Config c, string key)
    {
        var value = c.GetDouble(key, 0);
        return value is >= 0 and <= 1 ? value : throw new ConfigurationException($"runner.runtime.{key} must be between 0 and 1, not {value}.");
    }
}

/// <summary>
/// Faults a node injects into the application of events, for the chaos suite: off (all zero) by default and in
/// production. A failed application behaves as a storage write error does (the instance answers "not applied" and
/// stops; its next incarnation recovers from the journal); a slow one persists at once but answers only after
/// <see cref="SlowApplyDelay"/> (past the processing timeout, the consumer tries the event again).
/// </summary>
/// <param name="ApplyFailureRate">Fraction of event applications that fail.</param>
/// <param name="SlowApplyRate">Fraction of event applications answered late.</param>
/// <param name="SlowApplyDelay">How late.</param>
public sealed record FaultInjection(double ApplyFailureRate, double SlowApplyRate, TimeSpan SlowApplyDelay)
{
    /// <summary>No faults.</summary>
    public static FaultInjection None { get; } = new(0, 0, TimeSpan.Zero);

    /// <summary>Whether any fault is injected.</summary>
    public bool Enabled => ApplyFailureRate > 0 || SlowApplyRate > 0;

    /// <summary>Draws whether this application fails.</summary>
    public bool DrawFailure() => ApplyFailureRate > 0 && Random.Shared.NextDouble() < ApplyFailureRate;

    /// <summary>Draws whether this application is answered late.</summary>
    public bool DrawSlow() => SlowApplyRate > 0 && Random.Shared.NextDouble() < SlowApplyRate;
}

/// <summary>The runtime's notion of now; tests advance a manual clock.</summary>
public interface IClock
{
    /// <summary>Current time.</summary>
    DateTimeOffset Now { get; }
}

/// <summary>Wall-clock time.</summary>
public sealed class SystemClock : IClock
{
    /// <summary>The shared instance.</summary>
    public static SystemClock Instance { get; } = new();

    /// <inheritdoc />
    public DateTimeOffset Now => DateTimeOffset.UtcNow;
}

/// <summary>A clock that moves only when told to (tests).</summary>
public sealed class ManualClock(DateTimeOffset start) : IClock
{
    private long _ticks = start.UtcTicks;

    /// <inheritdoc />
    public DateTimeOffset Now => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    /// <summary>Moves the clock forward.</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
