using System.Text.Json;
using Runner.Sagas.Internal;

namespace Runner.Sagas;

/// <summary>
/// Base class of saga definitions. A derived class passes its name to this constructor and registers, in its own
/// constructor, one handler per event type with <see cref="On{TEvent}"/> and one per timer with
/// <see cref="OnTimer(string, Func{TState, SagaContext{TState}, Decision{TState}})"/>. Handlers are pure functions of
/// state, event and <see cref="SagaContext{TState}.Now"/>.
/// </summary>
/// <remarks>
/// <para>Event payloads are read with System.Text.Json web defaults (camelCase names, case-insensitive), made strict:
/// every constructor parameter of the event type without a default value must be present, and a non-nullable
/// reference member must not be null. Unknown members are ignored. A payload that breaks this is rejected as
/// <see cref="RejectionKind.MalformedPayload"/> with the serializer's message, which names the member.</para>
/// <para>State and command payloads are written with plain web defaults. Keep state types to records of JSON-friendly
/// members; give new members of a state type default values so that stored states still read.</para>
/// </remarks>
/// <typeparam name="TState">The saga state: an immutable record is best.</typeparam>
public abstract class Saga<TState> : ISagaDefinition
    where TState : class
{
    private readonly Dictionary<string, Registration> _byEventType = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, Registration> _byClrType = [];
    private readonly Dictionary<string, Func<TState, SagaContext<TState>, Decision<TState>>> _timers = new(StringComparer.Ordinal);

    /// <summary>Creates the saga named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> breaks the <see cref="SagaName"/> rule.</exception>
    protected Saga(string name)
    {
        Name = SagaName.Validate(name);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<string> EventTypes => _byEventType.Keys;

    /// <inheritdoc />
    public IReadOnlyCollection<string> TimerNames => _timers.Keys;

    /// <inheritdoc />
    public Type StateType => typeof(TState);

    /// <summary>The state of a new instance.</summary>
    protected abstract TState Initial();

    /// <summary>Registers the handler of one event type.</summary>
    /// <typeparam name="TEvent">The CLR type the payload is deserialized into; one per event type.</typeparam>
    /// <param name="correlate">Picks the correlation id of the saga instance from the event (or from
    /// <see cref="IncomingEvent.Headers"/>); null or empty rejects the event as <see cref="RejectionKind.MissingCorrelation"/>.</param>
    /// <param name="decide">The decision function.</param>
    /// <param name="eventType">The event type (last subject token); defaults to the CLR name of <typeparamref name="TEvent"/>.</param>
    /// <exception cref="ArgumentException">The event type is invalid or already registered, or <typeparamref name="TEvent"/> already is.</exception>
    protected void On<TEvent>(
        Func<TEvent, IncomingEvent, string?> correlate,
        Func<TState, TEvent, SagaContext<TState>, Decision<TState>> decide,
        string? eventType = null)
        where TEvent : class
    {
        ArgumentNullException.ThrowIfNull(correlate);
        ArgumentNullException.ThrowIfNull(decide);
        var type = SubjectToken.Validate(eventType ?? typeof(TEvent).Name, "Event type", nameof(eventType));
        if (_byEventType.ContainsKey(type))
            throw new ArgumentException($"Saga '{Name}' already handles event type '{type}'.", nameof(eventType));
        if (_byClrType.TryGetValue(typeof(TEvent), out var existing))
        {
            throw new ArgumentException(
                $"Saga '{Name}' already maps {typeof(TEvent).Name} to event type '{existing.EventType}'; give event type '{type}' a type of its own.",
                nameof(eventType));
        }

        var registration = new Registration<TEvent>(this, type, correlate, decide);
        _byEventType.Add(type, registration);
        _byClrType.Add(typeof(TEvent), registration);
    }

    /// <summary>Declares the timer <paramref name="name"/> and what happens when it fires.</summary>
    /// <param name="name">The timer name: letters, digits, <c>_</c> and <c>-</c>.</param>
    /// <param name="fired">The decision function.</param>
    /// <exception cref="ArgumentException">The name is invalid or already declared.</exception>
    protected void OnTimer(string name, Func<TState, SagaContext<TState>, Decision<TState>> fired)
    {
        ArgumentNullException.ThrowIfNull(fired);
        SubjectToken.Validate(name, "Timer name", nameof(name));
        if (!_timers.TryAdd(name, fired))
            throw new ArgumentException($"Saga '{Name}' already declares timer '{name}'.", nameof(name));
    }

    /// <inheritdoc />
    public object InitialState() =>
        Initial() ?? throw new InvalidOperationException($"Saga '{Name}': Initial() returned null.");

    /// <inheritdoc />
    public ParseResult Parse(IncomingEvent incoming)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        if (_byEventType.TryGetValue(incoming.EventType, out var registration)) return registration.Parse(incoming);
        var handled = _byEventType.Count == 0 ? "none" : string.Join(", ", _byEventType.Keys);
        return new ParseResult.Rejected(
            $"Saga '{Name}' does not handle event type '{incoming.EventType}' (it handles: {handled}).",
            RejectionKind.UnknownEventType);
    }

    /// <inheritdoc />
    public Decision Decide(object state, object sagaEvent, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(sagaEvent);
        var typed = CastState(state);
        if (!_byClrType.TryGetValue(sagaEvent.GetType(), out var registration))
        {
            throw new ArgumentException(
                $"Saga '{Name}' has no handler for {sagaEvent.GetType().FullName}; pass the event of a ParseResult.Ok of this saga.",
                nameof(sagaEvent));
        }

        var context = new SagaContext<TState>(typed, new DecisionScope(Name, TimerNames, now));
        var decision = registration.Decide(typed, sagaEvent, context)
            ?? throw new InvalidOperationException($"Saga '{Name}': the handler of '{registration.EventType}' returned null.");
        return decision.ToDecision();
    }

    /// <inheritdoc />
    public Decision OnTimer(object state, string timerName, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(timerName);
        var typed = CastState(state);
        if (!_timers.TryGetValue(timerName, out var fired))
        {
            var declared = _timers.Count == 0 ? "none" : string.Join(", ", _timers.Keys);
            throw new ArgumentException($"Saga '{Name}' has no timer '{timerName}' (declared: {declared}).", nameof(timerName));
        }

        var context = new SagaContext<TState>(typed, new DecisionScope(Name, TimerNames, now));
        var decision = fired(typed, context)
            ?? throw new InvalidOperationException($"Saga '{Name}': the handler of timer '{timerName}' returned null.");
        return decision.ToDecision();
    }

    /// <inheritdoc />
    public byte[] SerializeState(object state) => JsonSerializer.SerializeToUtf8Bytes(CastState(state), SagaJson.Default);

    /// <inheritdoc />
    /// <exception cref="JsonException">The data is not a state of this saga.</exception>
    public object DeserializeState(ReadOnlySpan<byte> data) =>
        JsonSerializer.Deserialize<TState>(data, SagaJson.Default)
        ?? throw new JsonException($"Saga '{Name}': the stored state is JSON null.");

    /// <inheritdoc />
    public byte[] SerializeCommand(OutgoingCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return JsonSerializer.SerializeToUtf8Bytes(command.Payload, command.Payload.GetType(), SagaJson.Default);
    }

    private TState CastState(object state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state as TState ?? throw new ArgumentException(
            $"Saga '{Name}' expects a state of type {typeof(TState).FullName}, not {state.GetType().FullName}.",
            nameof(state));
    }

    private abstract class Registration(string eventType)
    {
        public string EventType { get; } = eventType;

        public abstract ParseResult Parse(IncomingEvent incoming);

        public abstract Decision<TState> Decide(TState state, object sagaEvent, SagaContext<TState> context);
    }

    private sealed class Registration<TEvent>(
        Saga<TState> saga,
        string eventType,
        Func<TEvent, IncomingEvent, string?> correlate,
        Func<TState, TEvent, SagaContext<TState>, Decision<TState>> decide)
        : Registration(eventType)
        where TEvent : class
    {
        public override ParseResult Parse(IncomingEvent incoming)
        {
            TEvent? parsed;
            try
            {
                parsed = JsonSerializer.Deserialize<TEvent>(incoming.Payload.Span, SagaJson.Events);
            }
            catch (JsonException ex)
            {
                return Malformed(ex.Message);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                // Thrown by the event type's own constructor when it validates its arguments. Anything else (an
                // unsupported type, a broken serializer set-up) is a bug of the saga, not bad input, and stays loud.
                return Malformed($"{ex.GetType().Name}: {ex.Message}");
            }

            if (parsed is null) return Malformed("the payload is JSON null");

            string? correlationId;
            try
            {
                correlationId = correlate(parsed, incoming);
            }
#pragma warning disable CA1031 // The author's correlation function meets the odd input first (a missing header, a null member).
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return MissingCorrelation($"the correlation function threw {ex.GetType().Name}: {ex.Message}");
            }

            if (string.IsNullOrWhiteSpace(correlationId)) return MissingCorrelation("the correlation id is null or empty");
            if (correlationId.Length > CorrelationRule.MaxLength)
                return MissingCorrelation($"the correlation id has {correlationId.Length} characters, more than {CorrelationRule.MaxLength}");
            if (correlationId.Any(char.IsControl)) return MissingCorrelation("the correlation id contains control characters");
            return new ParseResult.Ok(parsed, correlationId);
        }

        public override Decision<TState> Decide(TState state, object sagaEvent, SagaContext<TState> context) =>
            decide(state, (TEvent)sagaEvent, context);

        private ParseResult.Rejected Malformed(string problem) => new(
            $"Saga '{saga.Name}' rejected a malformed {EventType} payload (expected JSON for {typeof(TEvent).Name}): {problem}",
            RejectionKind.MalformedPayload);

        private ParseResult.Rejected MissingCorrelation(string problem) => new(
            $"Saga '{saga.Name}' cannot correlate {EventType}: {problem}.",
            RejectionKind.MissingCorrelation);
    }
}
