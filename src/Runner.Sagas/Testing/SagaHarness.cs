using System.Text;
using System.Text.Json;
using Runner.Sagas.Internal;

namespace Runner.Sagas.Testing;

/// <summary>
/// Runs one saga definition in memory, for saga authors' tests: events go through <see cref="ISagaDefinition.Parse"/>
/// exactly as in the runtime (payloads are serialized to JSON first, so bad payloads are caught), decisions are
/// applied to per-correlation instances, and a virtual clock fires timers. No NATS, no Akka; single-threaded.
/// </summary>
/// <remarks>
/// Like the runtime, the harness stores each changed state as JSON and reads it back before the next decision, so a
/// state that does not round-trip fails the test; it also serializes every command.
/// </remarks>
public sealed class SagaHarness
{
    private const int MaxFiringsPerAdvance = 10_000;

    private readonly Dictionary<string, SagaInstanceView> _instances = new(StringComparer.Ordinal);
    private readonly List<EmittedCommand> _commands = [];
    private readonly List<PublishResult> _rejections = [];
    private readonly List<PublishResult> _unexpected = [];
    private readonly HashSet<string> _messageIds = new(StringComparer.Ordinal);
    private readonly string _tenant = "test";
    private ulong _streamSequence;
    private long _timerOrder;

    /// <summary>Creates a harness for <paramref name="saga"/> with its clock at <paramref name="start"/> (default 2025-01-01T00:00Z).</summary>
    public SagaHarness(ISagaDefinition saga, DateTimeOffset? start = null)
    {
        ArgumentNullException.ThrowIfNull(saga);
        Saga = saga;
        Now = start ?? new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    /// <summary>The saga under test.</summary>
    public ISagaDefinition Saga { get; }

    /// <summary>The tenant events are published for (default <c>test</c>).</summary>
    /// <exception cref="ArgumentException">Not a valid tenant id.</exception>
    public string Tenant { get => _tenant; init => _tenant = TenantId.Validate(value); }

    /// <summary>
    /// How late a <see cref="MissedFirePolicy.Skip"/> timer may be found by <see cref="SimulateDowntime"/> and still
    /// fire (default one minute; the runtime chooses its own).
    /// </summary>
    public TimeSpan MissedFireTolerance { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The virtual clock.</summary>
    public DateTimeOffset Now { get; private set; }

    /// <summary>Every command emitted by any instance, in order.</summary>
    public IReadOnlyList<EmittedCommand> Commands => _commands.AsReadOnly();

    /// <summary>Every rejected event, in order.</summary>
    public IReadOnlyList<PublishResult> Rejections => _rejections.AsReadOnly();

    /// <summary>
    /// Events the saga did not accept in the state of their instance (<see cref="SagaContext{TState}.Unexpected"/>), in
    /// publish order: the runtime parks them on the dead-letter subject (kind <c>UnexpectedEvent</c>) and applies nothing.
    /// </summary>
    public IReadOnlyList<PublishResult> Unexpected => _unexpected.AsReadOnly();

    /// <summary>Every instance an event correlated to, ordered by correlation id.</summary>
    public IReadOnlyList<SagaInstanceView> Instances => [.. _instances.Values.OrderBy(i => i.CorrelationId, StringComparer.Ordinal)];

    /// <summary>The instance <paramref name="correlationId"/>.</summary>
    /// <exception cref="KeyNotFoundException">No event has correlated to it.</exception>
    public SagaInstanceView Instance(string correlationId)
    {
        ArgumentNullException.ThrowIfNull(correlationId);
        if (_instances.TryGetValue(correlationId, out var instance)) return instance;
        var known = _instances.Count == 0 ? "none" : string.Join(", ", _instances.Keys.Order(StringComparer.Ordinal));
        throw new KeyNotFoundException($"No event has correlated to instance '{correlationId}' of saga '{Saga.Name}' (instances: {known}).");
    }

    /// <summary>Whether an event has correlated to <paramref name="correlationId"/>.</summary>
    public bool HasInstance(string correlationId) => _instances.ContainsKey(correlationId);

    /// <summary>
    /// Publishes an event of <paramref name="eventType"/> whose body is <paramref name="payload"/> serialized as JSON
    /// (web defaults: camelCase), as a producer would.
    /// </summary>
    /// <param name="eventType">The last token of <c>runner.evt.&lt;tenant&gt;.&lt;eventType&gt;</c>.</param>
    /// <param name="payload">The event body: a record or an anonymous object.</param>
    /// <param name="headers">Message headers; a <c>Nats-Msg-Id</c> seen before makes the publish a <see cref="PublishOutcome.Duplicate"/>.</param>
    /// <exception cref="Exception">Whatever the saga's decision function throws (the runtime would park the event); nothing is applied.</exception>
    public PublishResult Publish(string eventType, object payload, IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return Deliver(eventType, JsonSerializer.SerializeToUtf8Bytes(payload, payload.GetType(), SagaJson.Default), headers);
    }

    /// <summary>Publishes an event whose body is <paramref name="json"/> as is (UTF-8), for testing malformed payloads.</summary>
    /// <exception cref="Exception">Whatever the saga's decision function throws; nothing is applied.</exception>
    public PublishResult PublishJson(string eventType, string json, IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Deliver(eventType, Encoding.UTF8.GetBytes(json), headers);
    }

    /// <summary>
    /// Moves the clock forward by <paramref name="by"/>, firing every timer that comes due on the way in due order
    /// (ties in the order they were scheduled), each with the clock at its due time, and applying its decision.
    /// Timers scheduled by those decisions fire too when they come due within the advance.
    /// </summary>
    /// <returns>The timers fired, in order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="by"/> is negative.</exception>
    public IReadOnlyList<TimerFiring> Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        var target = Now + by;
        var fired = new List<TimerFiring>();
        while (NextDue(target) is { } next)
        {
            if (fired.Count == MaxFiringsPerAdvance)
                throw new InvalidOperationException($"More than {MaxFiringsPerAdvance} timers fired in one advance; does a timer reschedule itself with no delay?");
            if (next.Timer.DueAt > Now) Now = next.Timer.DueAt;
            fired.Add(Fire(next.Instance, next.Timer));
        }

        Now = target;
        return fired;
    }

    /// <summary>
    /// Simulates the node being down for <paramref name="downtime"/>: the clock jumps without firing anything, then,
    /// as on restart, every overdue timer fires late at the new time in due order, except a
    /// <see cref="MissedFirePolicy.Skip"/> timer overdue by more than <see cref="MissedFireTolerance"/>, which is dropped
    /// and listed in <see cref="SagaInstanceView.SkippedTimers"/>.
    /// </summary>
    /// <returns>The timers fired, in order.</returns>
    public IReadOnlyList<TimerFiring> SimulateDowntime(TimeSpan downtime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(downtime, TimeSpan.Zero);
        Now += downtime;
        var overdue = _instances.Values
            .SelectMany(i => i.PendingWithOrder.Where(t => t.Request.DueAt <= Now).Select(t => (Instance: i, t.Request, t.Order)))
            .OrderBy(t => t.Request.DueAt).ThenBy(t => t.Order)
            .ToList();
        var fired = new List<TimerFiring>();
        foreach (var (instance, timer, _) in overdue)
        {
            if (timer.Policy == MissedFirePolicy.Skip && Now - timer.DueAt > MissedFireTolerance)
                instance.Skip(timer);
            else if (instance.PendingWithOrder.Any(t => t.Request == timer))
                fired.Add(Fire(instance, timer));
        }

        return fired;
    }

    private PublishResult Deliver(string eventType, byte[] payload, IReadOnlyDictionary<string, string>? headers)
    {
        headers ??= IncomingEvent.EmptyHeaders;
        var messageId = headers.TryGetValue(IncomingEvent.MessageIdHeader, out var id) ? id : "";
        var incoming = new IncomingEvent(Tenant, eventType, payload, headers, messageId, _streamSequence + 1, Now);
        _streamSequence++;

        if (messageId.Length > 0 && !_messageIds.Add(messageId))
            return new PublishResult(incoming, PublishOutcome.Duplicate, null, null);

        var parse = Saga.Parse(incoming);
        if (parse is not ParseResult.Ok ok)
        {
            var rejected = new PublishResult(incoming, PublishOutcome.Rejected, parse, null);
            _rejections.Add(rejected);
            return rejected;
        }

        _instances.TryGetValue(ok.CorrelationId, out var instance);
        if (instance is { Completed: true })
        {
            instance.Ignore(incoming);
            return new PublishResult(incoming, PublishOutcome.IgnoredCompleted, parse, null);
        }

        var state = instance?.CurrentState ?? Saga.InitialState();
        var decision = Saga.Decide(state, ok.Event, Now);
        if (decision.Unexpected is not null)
        {
            // Not applied: a new instance is not even started, as in the runtime (nothing is persisted).
            var unexpected = new PublishResult(incoming, PublishOutcome.Unexpected, parse, decision);
            _unexpected.Add(unexpected);
            return unexpected;
        }

        if (instance is null)
        {
            instance = new SagaInstanceView(ok.CorrelationId, state);
            _instances.Add(ok.CorrelationId, instance);
        }

        Apply(instance, decision);
        return new PublishResult(incoming, PublishOutcome.Applied, parse, decision);
    }

    private (SagaInstanceView Instance, TimerRequest Timer)? NextDue(DateTimeOffset until)
    {
        (SagaInstanceView Instance, TimerRequest Timer, long Order)? best = null;
        foreach (var instance in _instances.Values)
        {
            foreach (var (timer, order) in instance.PendingWithOrder)
            {
                if (timer.DueAt > until) continue;
                if (best is null || timer.DueAt < best.Value.Timer.DueAt || (timer.DueAt == best.Value.Timer.DueAt && order < best.Value.Order))
                    best = (instance, timer, order);
            }
        }

        return best is { } b ? (b.Instance, b.Timer) : null;
    }

    private TimerFiring Fire(SagaInstanceView instance, TimerRequest timer)
    {
        var decision = Saga.OnTimer(instance.CurrentState, timer.Name, Now);
        instance.RemoveTimer(timer);
        // A timer the state does not accept is dropped, as in the runtime.
        if (decision.Unexpected is null) Apply(instance, decision);
        return new TimerFiring(instance.CorrelationId, timer, Now, decision);
    }

    private void Apply(SagaInstanceView instance, Decision decision)
    {
        var state = decision.StateChanged ? Saga.DeserializeState(Saga.SerializeState(decision.State)) : instance.CurrentState;
        foreach (var command in decision.Commands)
        {
            Saga.SerializeCommand(command);
            _commands.Add(new EmittedCommand(instance.CorrelationId, command));
        }

        instance.Apply(decision, state, ref _timerOrder);
    }
}
