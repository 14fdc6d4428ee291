using System.Collections.Immutable;
using Runner.Sagas.Internal;

namespace Runner.Sagas;

/// <summary>
/// The typed decision a <see cref="Saga{TState}"/> handler returns: an immutable fluent builder, started with
/// <see cref="SagaContext{TState}.Transition"/> or <see cref="SagaContext{TState}.Stay"/>. Every method returns a new
/// decision and leaves this one as it was.
/// </summary>
/// <remarks>
/// For each timer name the last call wins: <see cref="Cancel"/> after <see cref="Schedule"/> of the same name drops
/// the schedule and cancels the pending timer; <see cref="Schedule"/> after <see cref="Cancel"/> replaces the pending
/// timer. A completing decision cannot schedule timers.
/// </remarks>
/// <typeparam name="TState">The saga state.</typeparam>
public sealed class Decision<TState>
    where TState : class
{
    private readonly DecisionScope _scope;

    internal Decision(DecisionScope scope, TState state, bool stateChanged)
        : this(scope, state, stateChanged, [], [], [], false)
    {
    }

    internal Decision(DecisionScope scope, TState state, string unexpected)
        : this(scope, state, false, [], [], [], false)
    {
        Unexpected = unexpected;
    }

    private Decision(
        DecisionScope scope,
        TState state,
        bool stateChanged,
        ImmutableArray<OutgoingCommand> commands,
        ImmutableArray<TimerRequest> scheduled,
        ImmutableArray<string> cancelled,
        bool isComplete)
    {
        _scope = scope;
        State = state;
        StateChanged = stateChanged;
        Commands = commands;
        ScheduledTimers = scheduled;
        CancelledTimers = cancelled;
        IsComplete = isComplete;
    }

    /// <summary>The state after the decision.</summary>
    public TState State { get; }

    /// <summary>Whether the decision started with <see cref="SagaContext{TState}.Transition"/>.</summary>
    public bool StateChanged { get; }

    /// <summary>Commands to publish, in the order they were added.</summary>
    public ImmutableArray<OutgoingCommand> Commands { get; }

    /// <summary>Timers to schedule.</summary>
    public ImmutableArray<TimerRequest> ScheduledTimers { get; }

    /// <summary>Pending timers to cancel.</summary>
    public ImmutableArray<string> CancelledTimers { get; }

    /// <summary>Whether the decision completes the saga instance.</summary>
    public bool IsComplete { get; }

    /// <summary>Why the event is not accepted (<see cref="SagaContext{TState}.Unexpected"/>); null for a decision to apply.</summary>
    public string? Unexpected { get; }

    /// <summary>Adds a command to publish on <c>runner.cmd.&lt;tenant&gt;.&lt;commandType&gt;</c>.</summary>
    /// <param name="command">The command body; serialized as camelCase JSON.</param>
    /// <param name="commandType">The command type; defaults to the CLR type name of <paramref name="command"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="command"/> is null.</exception>
    /// <exception cref="ArgumentException">The command type is not a valid subject token.</exception>
    public Decision<TState> Send(object command, string? commandType = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        RequireAccepted();
        var outgoing = new OutgoingCommand(commandType ?? command.GetType().Name, command);
        return With(commands: Commands.Add(outgoing));
    }

    /// <summary>Schedules the declared timer <paramref name="timer"/> to fire <paramref name="after"/> from <see cref="SagaContext{TState}.Now"/>.</summary>
    /// <exception cref="ArgumentException">The saga did not declare the timer.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="after"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">The decision completes the instance.</exception>
    public Decision<TState> Schedule(string timer, TimeSpan after, MissedFirePolicy policy = MissedFirePolicy.Fire)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(after, TimeSpan.Zero);
        return ScheduleAt(timer, _scope.Now + after, policy);
    }

    /// <summary>Schedules the declared timer <paramref name="timer"/> to fire at <paramref name="at"/> (a time already past fires at once).</summary>
    /// <exception cref="ArgumentException">The saga did not declare the timer.</exception>
    /// <exception cref="InvalidOperationException">The decision completes the instance.</exception>
    public Decision<TState> ScheduleAt(string timer, DateTimeOffset at, MissedFirePolicy policy = MissedFirePolicy.Fire)
    {
        _scope.RequireDeclaredTimer(timer, nameof(timer));
        RequireAccepted();
        if (!Enum.IsDefined(policy)) throw new ArgumentOutOfRangeException(nameof(policy), policy, "Unknown missed-fire policy.");
        if (IsComplete)
        {
            throw new InvalidOperationException(
                $"Saga '{_scope.SagaName}': cannot schedule timer '{timer}' in a completing decision; a completed saga instance never fires timers.");
        }

        var request = new TimerRequest(timer, at, policy);
        return With(
            scheduled: ScheduledTimers.RemoveAll(t => t.Name == timer).Add(request),
            cancelled: CancelledTimers.Remove(timer));
    }

    /// <summary>Cancels the pending timer <paramref name="timer"/> (nothing happens when it is not pending).</summary>
    /// <exception cref="ArgumentException">The saga did not declare the timer.</exception>
    public Decision<TState> Cancel(string timer)
    {
        _scope.RequireDeclaredTimer(timer, nameof(timer));
        RequireAccepted();
        return With(
            scheduled: ScheduledTimers.RemoveAll(t => t.Name == timer),
            cancelled: CancelledTimers.Contains(timer) ? CancelledTimers : CancelledTimers.Add(timer));
    }

    /// <summary>Completes the saga instance: it ignores further events and its pending timers are dropped.</summary>
    /// <exception cref="InvalidOperationException">The decision schedules timers.</exception>
    public Decision<TState> Complete()
    {
        RequireAccepted();
        if (!ScheduledTimers.IsEmpty)
        {
            throw new InvalidOperationException(
                $"Saga '{_scope.SagaName}': a decision that schedules timers ({string.Join(", ", ScheduledTimers.Select(t => t.Name))}) cannot complete the instance; a completed saga instance never fires timers.");
        }

        return With(isComplete: true);
    }

    internal Decision ToDecision() => Unexpected is { } reason
        ? Decision.NotAccepted(State, reason)
        : new(State, StateChanged, Commands, ScheduledTimers, CancelledTimers, IsComplete);

    private void RequireAccepted()
    {
        if (Unexpected is not null)
            throw new InvalidOperationException($"Saga '{_scope.SagaName}': a decision that does not accept its event ({Unexpected}) changes nothing.");
    }

    private Decision<TState> With(
        ImmutableArray<OutgoingCommand>? commands = null,
        ImmutableArray<TimerRequest>? scheduled = null,
        ImmutableArray<string>? cancelled = null,
        bool? isComplete = null) =>
        new(
            _scope,
            State,
            StateChanged,
            commands ?? Commands,
            scheduled ?? ScheduledTimers,
            cancelled ?? CancelledTimers,
            isComplete ?? IsComplete);
}
