using Runner.Sagas.Internal;

namespace Runner.Sagas;

/// <summary>
/// What a handler of <see cref="Saga{TState}"/> gets besides state and event: the clock, and the two ways to start a
/// <see cref="Decision{TState}"/>.
/// </summary>
/// <typeparam name="TState">The saga state.</typeparam>
public sealed class SagaContext<TState>
    where TState : class
{
    private readonly TState _state;
    private readonly DecisionScope _scope;

    internal SagaContext(TState state, DecisionScope scope)
    {
        _state = state;
        _scope = scope;
    }

    /// <summary>The runtime's clock for this decision. Use it instead of <see cref="DateTimeOffset.UtcNow"/> so decisions replay.</summary>
    public DateTimeOffset Now => _scope.Now;

    /// <summary>The saga's name.</summary>
    public string SagaName => _scope.SagaName;

    /// <summary>A decision that moves the instance to <paramref name="next"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="next"/> is null.</exception>
    public Decision<TState> Transition(TState next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return new Decision<TState>(_scope, next, stateChanged: true);
    }

    /// <summary>A decision that keeps the current state (commands and timers may still be added).</summary>
    public Decision<TState> Stay() => new(_scope, _state, stateChanged: false);

    /// <summary>
    /// The event is not accepted in the current state (a <c>StockReserved</c> for an order not yet placed, say). Nothing
    /// is applied and no dedupe marker is kept: the runtime parks the event on the dead-letter subject with
    /// <paramref name="reason"/> (kind <c>UnexpectedEvent</c>), logs and counts it, so a gap in a saga's events is
    /// visible, and the event can be sent again once its predecessors have arrived. Use <see cref="Stay"/> for events
    /// the saga deliberately ignores.
    /// </summary>
    /// <param name="reason">Why, for the operator: e.g. <c>"StockReserved while the order is New"</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is empty.</exception>
    public Decision<TState> Unexpected(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new Decision<TState>(_scope, _state, reason);
    }
}
