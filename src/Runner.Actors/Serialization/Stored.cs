using System.Collections.Immutable;

namespace Runner.Actors.Serialization;

/// <summary>Marker of everything the runner writes to its journal or snapshot store (bound to <see cref="RunnerSerializer"/>).</summary>
public interface IRunnerStored;

/// <summary>A command decided by a saga, waiting for its PubAck.</summary>
/// <param name="MsgId">Deterministic id <c>&lt;tenant&gt;:&lt;saga&gt;:&lt;correlation&gt;:&lt;seqNr&gt;:&lt;index&gt;</c>.</param>
/// <param name="CommandType">Last subject token.</param>
/// <param name="Payload">JSON payload.</param>
public sealed record OutboxEntry(string MsgId, string CommandType, byte[] Payload);

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
public sealed record ScheduleSnapshot(ImmutableArray<TimersIndexed> Instances, long Offset = 0) : IRunnerStored;

/// <summary>The stream position up to which a (tenant, saga) consumer has applied and acked every event.</summary>
public sealed record CheckpointAdvanced(string Saga, ulong StreamSequence) : IRunnerStored;

/// <summary>Snapshot of a tenant's checkpoints.</summary>
public sealed record CheckpointSnapshot(ImmutableDictionary<string, ulong> Checkpoints) : IRunnerStored;
