using System.Collections.Immutable;
using Runner.Actors.Serialization;

namespace Runner.Actors.Protocol;

/// <summary>
/// The answer to an <see cref="ITenantAdminRequest"/>: data, or an <see cref="AdminRefusal"/>. Typed and free of HTTP and
/// JSON rendering: the admin endpoint maps each to a status code and renders it. These cross nodes
/// (<see cref="RunnerWireSerializer"/>).
/// </summary>
public interface ITenantAdminReply : IRunnerWire;

/// <summary>Why a tenant refused or could not answer a request.</summary>
public enum RefusalKind
{
    /// <summary>The request is not valid (e.g. a mode that does not exist, a <c>from_seq</c> beyond the stream).</summary>
    Invalid,

    /// <summary>What it names does not exist (a saga, an instance, a replay).</summary>
    NotFound,

    /// <summary>It conflicts with what the tenant is doing (a replay of the saga is active, the tenant does not run here).</summary>
    Conflict,

    /// <summary>Something it needs does not answer now (NATS, storage, saga instances); asking again may succeed.</summary>
    Unavailable,

    /// <summary>It failed unexpectedly.</summary>
    Failed,
}

/// <summary>A request refused or failed, and why (the message is for the operator).</summary>
/// <param name="Kind">What kind of refusal.</param>
/// <param name="Message">Why, naming what was wrong.</param>
public sealed record AdminRefusal(RefusalKind Kind, string Message) : ITenantAdminReply
{
    /// <summary>An invalid request.</summary>
    public static AdminRefusal Invalid(string message) => new(RefusalKind.Invalid, message);

    /// <summary>Something named does not exist.</summary>
    public static AdminRefusal NotFound(string message) => new(RefusalKind.NotFound, message);

    /// <summary>A conflict with what the tenant does.</summary>
    public static AdminRefusal Conflict(string message) => new(RefusalKind.Conflict, message);

    /// <summary>Something needed does not answer now.</summary>
    public static AdminRefusal Unavailable(string message) => new(RefusalKind.Unavailable, message);

    /// <summary>An unexpected failure.</summary>
    public static AdminRefusal Failed(string message) => new(RefusalKind.Failed, message);
}

/// <summary>A replay (or dry run) was accepted and runs: its status at the start (answers <see cref="StartReplay"/>).</summary>
/// <param name="Status">Its status.</param>
public sealed record ReplayAccepted(ReplayStatus Status) : ITenantAdminReply;

/// <summary>A replay's (or dry run's) progress, or its result once done (answers <see cref="GetReplay"/>).</summary>
/// <param name="Id">The replay.</param>
/// <param name="Tenant">Its tenant.</param>
/// <param name="Saga">Its saga.</param>
/// <param name="Mode">One of <see cref="ReplayModes"/>.</param>
/// <param name="DryRun">Whether it is a dry run.</param>
/// <param name="FromSeq">First stream sequence replayed.</param>
/// <param name="TargetSeq">Last stream sequence replayed (the events stream's last when it started).</param>
/// <param name="Stage">Where it stands.</param>
/// <param name="Position">The consumer's ack floor (a dry run: the last event read), when known.</param>
/// <param name="Node">Shard id of the node that runs it.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="Instances">Instances reset (a dry run: reached by its events).</param>
/// <param name="Counts">What its events did so far.</param>
/// <param name="Detail">What it is doing or waiting for, or why it failed.</param>
/// <param name="Report">A finished dry run's report.</param>
public sealed record ReplayStatus(
    string Id,
    string Tenant,
    string Saga,
    string Mode,
    bool DryRun,
    ulong FromSeq,
    ulong TargetSeq,
    ReplayStage Stage,
    ulong? Position,
    string Node,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    int Instances,
    ReplayCounts Counts,
    string? Detail,
    DryRunReport? Report = null) : ITenantAdminReply
{
    /// <summary>The status of a replay as its record says, without live progress (a replay not running on this node now, or finished).</summary>
    public static ReplayStatus Of(string tenant, string node, ReplayRecord record, bool dryRun = false, ReplayCounts? counts = null, ulong? position = null,
        string? detail = null, DryRunReport? report = null) =>
        new(record.Id, tenant, record.Saga, record.Mode, dryRun, record.FromSeq, record.TargetSeq, record.Stage, position, node, record.StartedAt,
            record.FinishedAt, record.Instances, counts ?? record.Counts ?? ReplayCounts.Zero, detail, report);
}

/// <summary>The tenant's checkpoints and its recorded replays, newest first (answers <see cref="ListReplays"/>).</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Node">Shard id of the node that runs it.</param>
/// <param name="Checkpoints">Per saga, ordered by saga name.</param>
/// <param name="Replays">Active replays and the most recent finished ones, newest first.</param>
public sealed record ReplayList(string Tenant, string Node, ImmutableArray<SagaCheckpoint> Checkpoints, ImmutableArray<ReplayStatus> Replays)
    : ITenantAdminReply;

/// <summary>A saga's checkpoint: every event up to <paramref name="StreamSequence"/> is applied and acked.</summary>
/// <param name="Saga">The saga.</param>
/// <param name="StreamSequence">The checkpoint.</param>
public sealed record SagaCheckpoint(string Saga, ulong StreamSequence);

/// <summary>A page of the tenant's saga instances, ordered by saga and correlation id (answers <see cref="ListSagas"/>).</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Saga">The saga filter, if any.</param>
/// <param name="State">The state filter, if any.</param>
/// <param name="Offset">Matches skipped.</param>
/// <param name="Limit">Most matches asked for.</param>
/// <param name="Total">Matches in all; null while unknown (with a state filter, until every instance was looked at).</param>
/// <param name="More">Whether further matches follow the page.</param>
/// <param name="Instances">The page.</param>
public sealed record SagaPage(string Tenant, string? Saga, string? State, int Offset, int Limit, int? Total, bool More,
    ImmutableArray<SagaInstanceSummary> Instances) : ITenantAdminReply;

/// <summary>One saga instance as it is now.</summary>
/// <param name="Saga">The saga.</param>
/// <param name="CorrelationId">The instance.</param>
/// <param name="Status">The value of its state's <c>Status</c> member, when it has one.</param>
/// <param name="Completed">Whether it completed.</param>
/// <param name="CompletedAt">When.</param>
/// <param name="SequenceNr">Its journal's sequence number.</param>
/// <param name="StateJson">Its state, as the saga serializes it (JSON); null when this node does not know the saga.</param>
/// <param name="OutboxPending">Commands not yet acknowledged by JetStream.</param>
/// <param name="Timers">Its timers, next due first.</param>
/// <param name="DedupeMarkers">Dedupe markers it holds.</param>
public sealed record SagaInstanceSummary(
    string Saga,
    string CorrelationId,
    string? Status,
    bool Completed,
    DateTimeOffset? CompletedAt,
    long SequenceNr,
    string? StateJson,
    ImmutableArray<PendingCommand> OutboxPending,
    ImmutableArray<TimerView> Timers,
    int DedupeMarkers);

/// <summary>A command of an instance's outbox or of an applied decision.</summary>
/// <param name="MsgId">Its deterministic <c>Nats-Msg-Id</c>.</param>
/// <param name="CommandType">Its type.</param>
public sealed record PendingCommand(string MsgId, string CommandType);

/// <summary>A timer of an instance.</summary>
/// <param name="Name">Its name.</param>
/// <param name="DueAt">When it is due.</param>
/// <param name="SkipIfMissed">Missed-fire policy: dropped when found overdue beyond the tolerance.</param>
public sealed record TimerView(string Name, DateTimeOffset DueAt, bool SkipIfMissed);

/// <summary>One instance and the end of its journal (answers <see cref="ShowSaga"/>).</summary>
/// <param name="Instance">The instance now.</param>
/// <param name="HistoryTotal">Events in its journal.</param>
/// <param name="History">The last of them, oldest first.</param>
public sealed record SagaDetail(SagaInstanceSummary Instance, long HistoryTotal, ImmutableArray<SagaHistoryEntry> History) : ITenantAdminReply;

/// <summary>One event of an instance's journal.</summary>
/// <param name="SequenceNr">Its journal sequence number.</param>
public abstract record SagaHistoryEntry(long SequenceNr);

/// <summary>An applied decision.</summary>
/// <param name="SequenceNr">Its journal sequence number.</param>
/// <param name="At">When.</param>
/// <param name="Trigger">The event type or <c>timer:&lt;name&gt;</c> that decided it.</param>
/// <param name="DedupeKey">Its dedupe marker.</param>
/// <param name="StreamSeq">The event's stream sequence; null for a timer.</param>
/// <param name="StateChanged">Whether the state changed.</param>
/// <param name="Commands">The commands it decided.</param>
/// <param name="Scheduled">Timers it scheduled, next due first.</param>
/// <param name="Cancelled">Timers it cancelled.</param>
/// <param name="Completed">Whether it completed the instance.</param>
public sealed record HistoryApplied(
    long SequenceNr,
    DateTimeOffset At,
    string Trigger,
    string DedupeKey,
    ulong? StreamSeq,
    bool StateChanged,
    ImmutableArray<PendingCommand> Commands,
    ImmutableArray<TimerView> Scheduled,
    ImmutableArray<string> Cancelled,
    bool Completed) : SagaHistoryEntry(SequenceNr);

/// <summary>Outbox entries acknowledged by JetStream.</summary>
/// <param name="SequenceNr">Its journal sequence number.</param>
/// <param name="MsgIds">Their message ids.</param>
public sealed record HistoryDelivered(long SequenceNr, ImmutableArray<string> MsgIds) : SagaHistoryEntry(SequenceNr);

/// <summary>The instance recorded that it has commands still to publish (<paramref name="Pending"/>), or that it has none any more.</summary>
/// <param name="SequenceNr">Its journal sequence number.</param>
/// <param name="Pending">Overdue (true) or cleared (false).</param>
/// <param name="At">When.</param>
public sealed record HistoryOutboxOverdue(long SequenceNr, bool Pending, DateTimeOffset At) : SagaHistoryEntry(SequenceNr);

/// <summary>A replay reset the instance (<c>full_reset</c>).</summary>
/// <param name="SequenceNr">Its journal sequence number.</param>
/// <param name="At">When.</param>
/// <param name="ReplayId">The replay.</param>
public sealed record HistoryReset(long SequenceNr, DateTimeOffset At, string ReplayId) : SagaHistoryEntry(SequenceNr);

/// <summary>A replay made the instance forget its dedupe markers (<c>checkpoint_and_dedupe</c>).</summary>
/// <param name="SequenceNr">Its journal sequence number.</param>
/// <param name="At">When.</param>
/// <param name="ReplayId">The replay.</param>
public sealed record HistoryDedupeForgotten(long SequenceNr, DateTimeOffset At, string ReplayId) : SagaHistoryEntry(SequenceNr);

/// <summary>A journal event of a kind the view does not know.</summary>
/// <param name="SequenceNr">Its journal sequence number.</param>
/// <param name="Type">Its type's name.</param>
public sealed record HistoryOther(long SequenceNr, string? Type) : SagaHistoryEntry(SequenceNr);

/// <summary>The tenant's pending timers as its schedule index holds them, next due first (answers <see cref="ListTimers"/>).</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Pending">Timers pending in all.</param>
/// <param name="NextDue">When the next is due.</param>
/// <param name="Truncated">Whether <paramref name="Timers"/> holds only the first <see cref="TimerList.Listed"/>.</param>
/// <param name="Timers">The timers, next due first.</param>
public sealed record TimerList(string Tenant, int Pending, DateTimeOffset? NextDue, bool Truncated, ImmutableArray<TenantTimer> Timers) : ITenantAdminReply
{
    /// <summary>Most timers listed.</summary>
    public const int Listed = 1000;
}

/// <summary>A pending timer of one of the tenant's instances.</summary>
/// <param name="Saga">The saga.</param>
/// <param name="CorrelationId">The instance.</param>
/// <param name="Name">The timer.</param>
/// <param name="DueAt">When it is due.</param>
/// <param name="SkipIfMissed">Missed-fire policy.</param>
public sealed record TenantTimer(string Saga, string CorrelationId, string Name, DateTimeOffset DueAt, bool SkipIfMissed);

/// <summary>A command a replay would publish again (dry run).</summary>
/// <param name="StreamSeq">The event that decides it.</param>
/// <param name="EventType">Its type.</param>
/// <param name="CorrelationId">The instance.</param>
/// <param name="CommandType">The command.</param>
/// <param name="Payload">Its JSON.</param>
public sealed record DryRunCommand(ulong StreamSeq, string EventType, string CorrelationId, string CommandType, string Payload);

/// <summary>An event a replay would not apply (dry run): suppressed by dedupe, ignored (a completed instance, or not accepted in its state), or parked.</summary>
/// <param name="StreamSeq">Its stream sequence.</param>
/// <param name="EventType">Its type.</param>
/// <param name="CorrelationId">The instance, when it correlates.</param>
/// <param name="Detail">The dedupe marker, or why it would be parked.</param>
public sealed record DryRunEvent(ulong StreamSeq, string EventType, string? CorrelationId, string Detail);

/// <summary>What a replay would do.</summary>
/// <param name="Counts">Per outcome.</param>
/// <param name="Instances">Instances the replayed events reach.</param>
/// <param name="Commands">Commands that would be re-emitted (the first <see cref="Replay.ReplaySimulation.Kept"/>).</param>
/// <param name="Suppressed">Events dedupe would suppress (the first ones).</param>
/// <param name="Ignored">Events completed instances would ignore, or instances would not accept in their state (the first ones).</param>
/// <param name="DeadLettered">Events that would be parked (the first ones).</param>
/// <param name="Truncated">Whether a list was cut at <see cref="Replay.ReplaySimulation.Kept"/>.</param>
public sealed record DryRunReport(
    ReplayCounts Counts,
    int Instances,
    ImmutableArray<DryRunCommand> Commands,
    ImmutableArray<DryRunEvent> Suppressed,
    ImmutableArray<DryRunEvent> Ignored,
    ImmutableArray<DryRunEvent> DeadLettered,
    bool Truncated);
