using System.Collections.Immutable;

namespace Runner.Actors.Serialization;

/// <summary>Marker of everything the runner writes to its journal or snapshot store (bound to <see cref="RunnerSerializer"/>).</summary>
public interface IRunnerStored;

/// <summary>A command decided by a saga, waiting for its PubAck.</summary>
/// <param name="MsgId">Deterministic id <c>&lt;tenant&gt;:&lt;saga&gt;:&lt;correlation&gt;:&lt;seqNr&gt;:&lt;index&gt;</c>.</param>
/// <param name="CommandType">Last subject token.</param>
/// <param name="Payload">JSON payload.</param>
/// <param name="TraceParent">W3C trace context of the decision that made it (its <c>traceparent</c> header); null when the
/// event had none, for timers, and in entries written before it was kept.</param>
public sealed record OutboxEntry(string MsgId, string CommandType, byte[] Payload, string? TraceParent = null);

/// <summary>A durable timer of a saga instance.</summary>
public sealed record TimerEntry(string Name, DateTimeOffset DueAt, bool SkipIfMissed);

/// <summary>
/// One applied decision, persisted as a single event (one AtomicWrite): the new state, the dedupe marker,
/// outbox entries and timer changes.
/// </summary>
public sealed record SagaApplied(
    string DedupeKey,
    ulong StreamSequence,
    string Trigger,
    byte[]? State,
    ImmutableArray<OutboxEntry> Outbox,
    ImmutableArray<TimerEntry> Scheduled,
    ImmutableArray<string> Cancelled,
    bool Completed,
    DateTimeOffset At) : IRunnerStored;

/// <summary>Outbox entries acknowledged by JetStream.</summary>
public sealed record OutboxDelivered(ImmutableArray<string> MsgIds) : IRunnerStored;

/// <summary>
/// The instance answered for applied events while some of their commands were not yet acknowledged (<paramref name="Pending"/>
/// true), or its outbox is empty again after that (false). Tagged <c>timers|&lt;tenant&gt;</c>: the tenant's schedule index
/// keeps the instances with commands to publish and wakes them (after a crash, on the node a tenant moved to).
/// </summary>
public sealed record OutboxOverdue(bool Pending, DateTimeOffset At) : IRunnerStored;

/// <summary>Snapshot of a saga instance.</summary>
public sealed record SagaSnapshot(
    byte[] State,
    ImmutableArray<OutboxEntry> Outbox,
    ImmutableArray<TimerEntry> Timers,
    ImmutableArray<string> Dedupe,
    bool Completed,
    DateTimeOffset? CompletedAt,
    long Applied) : IRunnerStored;

/// <summary>The timers of one saga instance as known to the tenant's schedule index (empty = none).</summary>
public sealed record TimersIndexed(string Saga, string CorrelationId, ImmutableArray<TimerEntry> Timers) : IRunnerStored;

/// <summary>Snapshot of a tenant's schedule index and the read-journal offset it has followed up to.</summary>
/// <param name="Instances">Timers per instance.</param>
/// <param name="Offset">Read-journal offset followed up to.</param>
/// <param name="OutboxPending">Instances (<c>saga|correlation</c>) with commands still to publish (absent in older snapshots).</param>
public sealed record ScheduleSnapshot(ImmutableArray<TimersIndexed> Instances, long Offset = 0, ImmutableArray<string>? OutboxPending = null) : IRunnerStored;

/// <summary>The stream position up to which a (tenant, saga) consumer has applied and acked every event.</summary>
public sealed record CheckpointAdvanced(string Saga, ulong StreamSequence) : IRunnerStored;

/// <summary>
/// Snapshot of a tenant's checkpoints and of its replays (the active ones and the most recent finished ones).
/// </summary>
public sealed record CheckpointSnapshot(ImmutableDictionary<string, ulong> Checkpoints, ImmutableArray<ReplayRecord>? Replays = null) : IRunnerStored;

/// <summary>
/// Replay (<c>full_reset</c>): the instance goes back to its saga's initial state; its outbox, timers and dedupe markers
/// are dropped. Tagged <c>timers|&lt;tenant&gt;</c> so that the schedule index drops the instance's timers too.
/// </summary>
/// <param name="ReplayId">The replay that reset it.</param>
/// <param name="At">When.</param>
public sealed record SagaReset(string ReplayId, DateTimeOffset At) : IRunnerStored;

/// <summary>Replay (<c>checkpoint_and_dedupe</c>): the instance forgets its dedupe markers; its state, outbox and timers stay.</summary>
/// <param name="ReplayId">The replay.</param>
/// <param name="At">When.</param>
public sealed record DedupeForgotten(string ReplayId, DateTimeOffset At) : IRunnerStored;

/// <summary>A replay of one (tenant, saga) began: nothing of the saga is consumed until it is rewound.</summary>
/// <param name="Id">Replay id <c>&lt;tenant&gt;.&lt;saga&gt;.&lt;suffix&gt;</c>.</param>
/// <param name="Saga">The saga.</param>
/// <param name="Mode"><c>checkpoint_only</c>, <c>checkpoint_and_dedupe</c> or <c>full_reset</c>.</param>
/// <param name="FromSeq">First stream sequence replayed.</param>
/// <param name="TargetSeq">Last sequence of the events stream when the replay began: the replay is done when the saga's consumer has acked up to it.</param>
/// <param name="At">When.</param>
public sealed record ReplayStarted(string Id, string Saga, string Mode, ulong FromSeq, ulong TargetSeq, DateTimeOffset At) : IRunnerStored;

/// <summary>
/// A replay's instances were reset (per its mode) and its consumer deleted: the saga's checkpoint is now
/// <paramref name="StreamSequence"/> (one before the first replayed event), so its consumer is recreated from there.
/// </summary>
/// <param name="Id">The replay.</param>
/// <param name="Saga">The saga.</param>
/// <param name="StreamSequence">The rewound checkpoint.</param>
/// <param name="Instances">Instances reset or told to forget their dedupe markers.</param>
/// <param name="At">When.</param>
public sealed record ReplayRewound(string Id, string Saga, ulong StreamSequence, int Instances, DateTimeOffset At) : IRunnerStored;

/// <summary>A replay reached its target.</summary>
/// <param name="Id">The replay.</param>
/// <param name="Counts">What the replayed events did (counted on the node that finished it, since it last started there).</param>
/// <param name="At">When.</param>
public sealed record ReplayFinished(string Id, ReplayCounts Counts, DateTimeOffset At) : IRunnerStored;

/// <summary>What the events of a replay did.</summary>
/// <param name="Events">Events of the saga's types delivered up to the target.</param>
/// <param name="Applied">Applied to an instance (a decision persisted).</param>
/// <param name="Duplicates">Skipped by a dedupe marker.</param>
/// <param name="IgnoredCompleted">Ignored by a completed instance.</param>
/// <param name="DeadLettered">Parked on the dead-letter subject (malformed, uncorrelated, handler failed).</param>
/// <param name="Commands">Commands the applied events decided (each published once more, with a new Nats-Msg-Id).</param>
public sealed record ReplayCounts(long Events, long Applied, long Duplicates, long IgnoredCompleted, long DeadLettered, long Commands)
{
    /// <summary>Nothing yet.</summary>
    public static ReplayCounts Zero { get; } = new(0, 0, 0, 0, 0, 0);
}

/// <summary>A replay as the tenant's checkpoint journal knows it.</summary>
/// <param name="Id">The replay.</param>
/// <param name="Saga">The saga.</param>
/// <param name="Mode">The mode.</param>
/// <param name="FromSeq">First stream sequence replayed.</param>
/// <param name="TargetSeq">Where it is done.</param>
/// <param name="StartedAt">When it began.</param>
/// <param name="Stage"><see cref="ReplayStage.Started"/> (instances being reset, the saga paused), <see cref="ReplayStage.Rewound"/> (consuming
/// again), <see cref="ReplayStage.Finished"/>; stored by name (<see cref="ReplayStageConverter"/>).</param>
/// <param name="Instances">Instances it reset (after the rewind).</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="Counts">What its events did.</param>
public sealed record ReplayRecord(
    string Id,
    string Saga,
    string Mode,
    ulong FromSeq,
    ulong TargetSeq,
    DateTimeOffset StartedAt,
    ReplayStage Stage,
    int Instances = 0,
    DateTimeOffset? FinishedAt = null,
    ReplayCounts? Counts = null);

/// <summary>
/// Where a replay or dry run stands. A recorded replay is stored as <see cref="Started"/>, <see cref="Rewound"/> or
/// <see cref="Finished"/>; the other stages exist only in memory on the node that runs it.
/// </summary>
public enum ReplayStage
{
    /// <summary>Asked for; not yet accepted (the events stream's range is being read, the start recorded).</summary>
    Starting,

    /// <summary>Recorded: the saga is paused and its instances are being reset.</summary>
    Started,

    /// <summary>Rewound: the saga consumes again, towards the target.</summary>
    Rewound,

    /// <summary>A dry run reading and applying the events on paper.</summary>
    Running,

    /// <summary>The target is reached; the end is being recorded.</summary>
    Finishing,

    /// <summary>Done.</summary>
    Finished,

    /// <summary>A dry run that could not finish (a real replay never gives up: it tries its stage again).</summary>
    Failed,
}
