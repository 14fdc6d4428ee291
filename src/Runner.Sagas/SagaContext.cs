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
}
