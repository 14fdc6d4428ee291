using System.Collections.Immutable;

namespace Runner.Sagas;

/// <summary>
/// What a saga decided for one event or timer, in the untyped form the runtime consumes: the state to keep, the
/// commands to publish (in order), the timers to schedule and cancel, and whether the instance is done.
/// </summary>
/// <remarks>
/// <para>A timer name appears in at most one of <see cref="Schedule"/> and <see cref="Cancel"/>. Scheduling a name that
/// is pending replaces it; cancelling a name that is not pending does nothing.</para>
/// <para>A completing decision schedules nothing; once it is applied the instance ignores further events and every
/// pending timer of the instance is dropped.</para>
/// </remarks>
public sealed record Decision
{
    private readonly object _state = new();

    /// <summary>Creates a decision; default arrays count as empty.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">A timer is both scheduled and cancelled, or scheduled twice, or a completing decision schedules a timer.</exception>
    public Decision(
        object state,
        bool stateChanged,
        ImmutableArray<OutgoingCommand> commands,
        ImmutableArray<TimerRequest> schedule,
        ImmutableArray<string> cancel,
        bool complete)
    {
        State = state;
        StateChanged = stateChanged;
        Commands = commands.IsDefault ? [] : commands;
        Schedule = schedule.IsDefault ? [] : schedule;
        Cancel = cancel.IsDefault ? [] : cancel;
        Complete = complete;

        var scheduled = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in Schedule)
        {
            if (!scheduled.Add(t.Name))
                throw new ArgumentException($"Timer '{t.Name}' is scheduled twice in one decision.", nameof(schedule));
        }

        foreach (var name in Cancel)
        {
            if (scheduled.Contains(name))
                throw new ArgumentException($"Timer '{name}' is both scheduled and cancelled in one decision.", nameof(cancel));
        }

        if (Complete && Schedule.Length > 0)
        {
            throw new ArgumentException(
                $"A completing decision cannot schedule timers ({string.Join(", ", scheduled)}): a completed saga instance never fires timers.",
                nameof(schedule));
        }
    }

    /// <summary>A decision that keeps <paramref name="state"/> and does nothing else.</summary>
    public static Decision Unchanged(object state) => new(state, false, [], [], [], false);

    /// <summary>
    /// The saga does not accept the event in <paramref name="state"/>: nothing is applied or recorded, and the runtime
    /// parks the event on the dead-letter subject with <paramref name="reason"/> (kind <c>UnexpectedEvent</c>), logs and
    /// counts it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is empty.</exception>
    public static Decision NotAccepted(object state, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new Decision(state, false, [], [], [], false) { Unexpected = reason };
    }

    /// <summary>
    /// Why the saga does not accept the event, when it does not (see <see cref="NotAccepted"/>); null for a decision to
    /// apply. An unexpected event changes nothing and leaves no dedupe marker, so it can be redriven later.
    /// </summary>
    public string? Unexpected { get; init; }

    /// <summary>The state after the decision (the same object as before when <see cref="StateChanged"/> is false).</summary>
    public object State { get => _state; init => _state = value ?? throw new ArgumentNullException(nameof(State), "A decision needs a state."); }

    /// <summary>Whether the state changed; when false the runtime need not persist a new state.</summary>
    public bool StateChanged { get; init; }

    /// <summary>Commands to publish, in order.</summary>
    public ImmutableArray<OutgoingCommand> Commands { get; init; }

    /// <summary>Timers to schedule (each replaces a pending timer of the same name).</summary>
    public ImmutableArray<TimerRequest> Schedule { get; init; }

    /// <summary>Names of pending timers to cancel.</summary>
    public ImmutableArray<string> Cancel { get; init; }

    /// <summary>Whether the saga instance is complete.</summary>
    public bool Complete { get; init; }

    /// <summary>Whether applying the decision changes nothing (no state change, command, timer change or completion).</summary>
    public bool IsNoOp => Unexpected is null && !StateChanged && Commands.IsEmpty && Schedule.IsEmpty && Cancel.IsEmpty && !Complete;
}
