namespace Runner.Sagas.Tests;

/// <summary>Events and sagas used by the specs besides the order saga.</summary>
public sealed record Ping(string Id, int Count);

public sealed record Tagged(string Note);

public sealed record CounterState(int Pings, int Ticks, int Reminders, string? LastTimerAt = null);

/// <summary>
/// A saga with a header-correlated event, a timer that can be scheduled with either policy, and a handler that
/// throws on demand.
/// </summary>
public sealed class CounterSaga : Saga<CounterState>
{
    public const string TenantHeader = "x-account";

    public CounterSaga()
        : base("counter")
    {
        On<Ping>((e, _) => e.Id, (state, e, ctx) =>
        {
            if (e.Count < 0) throw new InvalidOperationException("negative count");
            var next = ctx.Transition(state with { Pings = state.Pings + e.Count });
            return e.Count switch
            {
                0 => ctx.Stay(),
                1 => next.Schedule("tick", TimeSpan.FromMinutes(1)),
                2 => next.Schedule("tick", TimeSpan.FromMinutes(1), MissedFirePolicy.Skip),
                3 => next.Schedule("reminder", TimeSpan.FromMinutes(2)).Schedule("tick", TimeSpan.FromMinutes(2)),
                99 => next.Send(new Tagged("done")).Complete(),
                _ => next.Send(new Tagged($"pinged {e.Count}"), "Pinged"),
            };
        });
        On<Tagged>((_, incoming) => incoming.Headers.GetValueOrDefault(TenantHeader), (state, _, ctx) => ctx.Stay(), "TaggedEvent");
        OnTimer("tick", (state, ctx) => ctx.Transition(state with { Ticks = state.Ticks + 1, LastTimerAt = ctx.Now.ToString("O") })
            .Send(new Tagged("tick")));
        OnTimer("reminder", (state, ctx) => ctx.Transition(state with { Reminders = state.Reminders + 1 })
            .Send(new Tagged("reminder")));
    }

    protected override CounterState Initial() => new(0, 0, 0);
}

/// <summary>Not a saga the loader may instantiate: it needs an argument.</summary>
public sealed class NeedsArgumentSaga(string name) : Saga<CounterState>(name)
{
    protected override CounterState Initial() => new(0, 0, 0);
}
