using System.Collections.Immutable;
using Runner.Actors.Serialization;
using Runner.Sagas;

namespace Runner.Actors.Protocol;

/// <summary>A message for one saga instance, routed by its tenant.</summary>
public interface ISagaMessage
{
    /// <summary>Saga definition name.</summary>
    string Saga { get; }

    /// <summary>Correlation id of the instance.</summary>
    string CorrelationId { get; }
}

/// <summary>An event parsed and correlated by the consumer, to apply to one instance. Replied with an <see cref="IEventOutcome"/>.</summary>
/// <param name="Saga">Saga definition name.</param>
/// <param name="CorrelationId">Correlation id of the instance.</param>
/// <param name="Event">The event as it came.</param>
/// <param name="Parsed">The saga's typed event.</param>
/// <param name="TraceParent">The trace context the decision's span and commands descend from (the consume span's, else the event's own).</param>
public sealed record DeliverEvent(string Saga, string CorrelationId, IncomingEvent Event, object Parsed, string? TraceParent = null) : ISagaMessage;

/// <summary>A timer of an instance is due (sent by the schedule index; starts a passivated instance).</summary>
public sealed record TimerDue(string Saga, string CorrelationId, string Timer, DateTimeOffset DueAt) : ISagaMessage;

/// <summary>An instance has commands to publish that it recorded as overdue (sent by the schedule index; starts a passivated instance).</summary>
public sealed record OutboxDue(string Saga, string CorrelationId) : ISagaMessage;

/// <summary>Asks an instance for its current view; replied with <see cref="SagaView"/>.</summary>
public sealed record GetSagaView(string Saga, string CorrelationId) : ISagaMessage;

/// <summary>What an instance looks like now.</summary>
public sealed record SagaView(
    string Saga,
    string CorrelationId,
    long SequenceNr,
    object State,
    bool Completed,
    ImmutableArray<OutboxEntry> OutboxPending,
    ImmutableArray<TimerEntry> Timers,
    int DedupeMarkers)
{
    /// <summary>When it completed.</summary>
    public DateTimeOffset? CompletedAt { get; init; }
}

/// <summary>
/// Outcome of a <see cref="DeliverEvent"/>. The consumer acks the event after every outcome but <see cref="NotApplied"/>
/// (tried again in place); <see cref="HandlerFailed"/>, <see cref="NotAccepted"/> and <see cref="IgnoredCompleted"/>
/// park it on the dead-letter subject first (outside a replay).
/// </summary>
public interface IEventOutcome;

/// <summary>The event was applied and persisted (and its commands acknowledged by JetStream).</summary>
/// <param name="SequenceNr">The instance's journal sequence number of the applied decision.</param>
/// <param name="Commands">Commands the decision emitted.</param>
public sealed record Applied(long SequenceNr, int Commands = 0) : IEventOutcome;

/// <summary>The dedupe marker says the event was applied before; nothing changed.</summary>
public sealed record Duplicate(string DedupeKey) : IEventOutcome
{
}

/// <summary>The instance is completed; the event is not applied (the consumer parks it, kind <c>AfterCompletion</c>).</summary>
public sealed record IgnoredCompleted : IEventOutcome
{
    /// <summary>The instance.</summary>
    public static IgnoredCompleted Instance { get; } = new();
}

/// <summary>The saga's decide function threw; the event goes to the dead-letter subject.</summary>
public sealed record HandlerFailed(string Reason) : IEventOutcome;

/// <summary>
/// The saga does not accept the event in the instance's state (<c>ctx.Unexpected</c>): nothing was applied or recorded
/// (no dedupe marker), and the consumer parks it (kind <c>UnexpectedEvent</c>) with the saga's reason.
/// </summary>
public sealed record NotAccepted(string Reason) : IEventOutcome;

/// <summary>
/// The event was not applied this time (a storage error, the instance stopped before it answered): the consumer tries
/// it again in place, and later events of the instance wait for it.
/// </summary>
public sealed record NotApplied(string Reason) : IEventOutcome;

/// <summary>Commands to publish for a saga instance (to the tenant's outbox publisher).</summary>
internal sealed record PublishCommands(string Saga, string CorrelationId, ImmutableArray<OutboxEntry> Entries);

/// <summary>Outbox entries acknowledged by JetStream (to the saga instance).</summary>
internal sealed record CommandsPublished(ImmutableArray<string> MsgIds);

/// <summary>An idle saga instance asks its tenant to stop it.</summary>
internal sealed record Passivate
{
    public static Passivate Instance { get; } = new();
}
