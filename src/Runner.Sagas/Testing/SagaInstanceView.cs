using System.Collections.Immutable;

namespace Runner.Sagas.Testing;

/// <summary>
/// One saga instance in a <see cref="SagaHarness"/>, seen from the test. The view is live: it reflects everything the
/// harness applies after it was obtained.
/// </summary>
public sealed class SagaInstanceView
{
    private readonly Dictionary<string, (TimerRequest Request, long Order)> _timers = new(StringComparer.Ordinal);
    private readonly List<OutgoingCommand> _commands = [];
    private readonly List<Decision> _decisions = [];
    private readonly List<IncomingEvent> _ignored = [];
    private readonly List<TimerRequest> _skipped = [];

    internal SagaInstanceView(string correlationId, object state)
    {
        CorrelationId = correlationId;
        CurrentState = state;
    }

    /// <summary>The correlation id.</summary>
    public string CorrelationId { get; }

    /// <summary>The current state, untyped.</summary>
    public object CurrentState { get; private set; }

    /// <summary>Whether a decision completed the instance.</summary>
    public bool Completed { get; private set; }

    /// <summary>Pending timers: name → due time.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Timers =>
        _timers.ToImmutableSortedDictionary(t => t.Key, t => t.Value.Request.DueAt, StringComparer.Ordinal);

    /// <summary>Pending timers as scheduled (with their <see cref="MissedFirePolicy"/>), in due order.</summary>
    public IReadOnlyList<TimerRequest> PendingTimers =>
        [.. _timers.Values.OrderBy(t => t.Request.DueAt).ThenBy(t => t.Order).Select(t => t.Request)];

    /// <summary>Every command the instance emitted, in order.</summary>
    public IReadOnlyList<OutgoingCommand> Commands => _commands.AsReadOnly();

    /// <summary>Every decision applied to the instance, in order.</summary>
    public IReadOnlyList<Decision> Decisions => _decisions.AsReadOnly();

    /// <summary>Events that correlated to the instance after it completed, and were ignored.</summary>
    public IReadOnlyList<IncomingEvent> IgnoredEvents => _ignored.AsReadOnly();

    /// <summary>Timers dropped by <see cref="MissedFirePolicy.Skip"/> in <see cref="SagaHarness.SimulateDowntime"/>.</summary>
    public IReadOnlyList<TimerRequest> SkippedTimers => _skipped.AsReadOnly();

    /// <summary>The current state as <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidCastException">The state is of another type.</exception>
    public T State<T>() => CurrentState is T typed
        ? typed
        : throw new InvalidCastException($"Instance '{CorrelationId}' has a state of type {CurrentState.GetType().FullName}, not {typeof(T).FullName}.");

    internal IEnumerable<(TimerRequest Request, long Order)> PendingWithOrder => _timers.Values;

    internal void Apply(Decision decision, object state, ref long timerOrder)
    {
        CurrentState = state;
        _commands.AddRange(decision.Commands);
        foreach (var name in decision.Cancel) _timers.Remove(name);
        foreach (var timer in decision.Schedule) _timers[timer.Name] = (timer, timerOrder++);
        if (decision.Complete)
        {
            Completed = true;
            _timers.Clear();
        }

        _decisions.Add(decision);
    }

    internal bool RemoveTimer(TimerRequest timer)
    {
        if (!_timers.TryGetValue(timer.Name, out var pending) || pending.Request != timer) return false;
        return _timers.Remove(timer.Name);
    }

    internal void Skip(TimerRequest timer)
    {
        if (RemoveTimer(timer)) _skipped.Add(timer);
    }

    internal void Ignore(IncomingEvent incoming) => _ignored.Add(incoming);
}
