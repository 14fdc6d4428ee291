using Runner.Sagas.Internal;
using Runner.Sagas.Samples;
using Xunit;

namespace Runner.Sagas.Tests;

public sealed class DecisionSpec
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly CounterState State = new(1, 0, 0);

    private static SagaContext<CounterState> Context() => new(State, new DecisionScope("counter", ["tick", "reminder"], Now));

    [Fact]
    public void Decision_builder_should_be_immutable()
    {
        var stay = Context().Stay();
        var sent = stay.Send(new Tagged("a"));
        var scheduled = sent.Schedule("tick", TimeSpan.FromMinutes(5));
        var cancelled = scheduled.Cancel("reminder");
        var completed = sent.Complete();

        Assert.Empty(stay.Commands);
        Assert.Single(sent.Commands);
        Assert.Empty(sent.ScheduledTimers);
        Assert.Single(scheduled.ScheduledTimers);
        Assert.Empty(scheduled.CancelledTimers);
        Assert.Equal(new[] { "reminder" }, cancelled.CancelledTimers);
        Assert.False(sent.IsComplete);
        Assert.True(completed.IsComplete);
        Assert.NotSame(stay, sent);

        // Branching from one decision does not leak between branches.
        var left = sent.Send(new Tagged("left"));
        var right = sent.Send(new Tagged("right"));
        Assert.Equal([new Tagged("a"), new Tagged("left")], left.Commands.Select(c => c.Payload));
        Assert.Equal([new Tagged("a"), new Tagged("right")], right.Commands.Select(c => c.Payload));
    }

    [Fact]
    public void Unexpected_should_change_nothing_and_refuse_effects()
    {
        var unexpected = Context().Unexpected("Tagged while closed");
        var decision = unexpected.ToDecision();

        Assert.Equal("Tagged while closed", decision.Unexpected);
        Assert.False(decision.StateChanged);
        Assert.False(decision.IsNoOp); // not a silent no-op: the runtime parks and counts it
        Assert.Empty(decision.Commands);
        Assert.Throws<InvalidOperationException>(() => unexpected.Send(new Tagged("t")));
        Assert.Throws<InvalidOperationException>(() => unexpected.Schedule("tick", TimeSpan.FromMinutes(1)));
        Assert.Throws<InvalidOperationException>(() => unexpected.Cancel("tick"));
        Assert.Throws<InvalidOperationException>(() => unexpected.Complete());
        Assert.Throws<ArgumentException>(() => Context().Unexpected(" "));
        Assert.Throws<ArgumentException>(() => Decision.NotAccepted(new object(), ""));
        Assert.Null(Context().Stay().ToDecision().Unexpected);
    }

    [Fact]
    public void Stay_should_keep_the_state_and_transition_should_change_it()
    {
        var stay = Context().Stay().ToDecision();
        Assert.Same(State, stay.State);
        Assert.False(stay.StateChanged);
        Assert.True(stay.IsNoOp);

        var next = State with { Pings = 2 };
        var moved = Context().Transition(next).ToDecision();
        Assert.Same(next, moved.State);
        Assert.True(moved.StateChanged);
        Assert.False(moved.IsNoOp);
        Assert.Throws<ArgumentNullException>(() => Context().Transition(null!));
    }

    [Fact]
    public void Send_should_default_the_command_type_to_the_clr_name()
    {
        var decision = Context().Stay()
            .Send(new ShipOrder("o-1"))
            .Send(new Tagged("t"), "TagAdded")
            .ToDecision();

        Assert.Equal(
            new[] { new OutgoingCommand("ShipOrder", new ShipOrder("o-1")), new OutgoingCommand("TagAdded", new Tagged("t")) },
            decision.Commands);
        Assert.Throws<ArgumentException>(() => Context().Stay().Send(new Tagged("t"), "bad.type"));
        Assert.Throws<ArgumentException>(() => Context().Stay().Send(new Tagged("t"), "runner.>"));
        Assert.Throws<ArgumentNullException>(() => Context().Stay().Send(null!));
    }

    [Fact]
    public void Schedule_should_record_due_time_and_policy()
    {
        var decision = Context().Stay()
            .Schedule("tick", TimeSpan.FromMinutes(5))
            .ScheduleAt("reminder", Now.AddHours(1), MissedFirePolicy.Skip)
            .ToDecision();

        Assert.Equal(
            new[] { new TimerRequest("tick", Now.AddMinutes(5), MissedFirePolicy.Fire), new TimerRequest("reminder", Now.AddHours(1), MissedFirePolicy.Skip) },
            decision.Schedule);
        Assert.Equal(MissedFirePolicy.Fire, new TimerRequest("tick", Now).Policy);
        Assert.Throws<ArgumentOutOfRangeException>(() => Context().Stay().Schedule("tick", TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Context().Stay().Schedule("tick", TimeSpan.FromSeconds(1), (MissedFirePolicy)7));
    }

    [Fact]
    public void Timer_calls_should_let_the_last_one_win_per_name()
    {
        var cancelledAfterSchedule = Context().Stay().Schedule("tick", TimeSpan.FromMinutes(1)).Cancel("tick").ToDecision();
        Assert.Empty(cancelledAfterSchedule.Schedule);
        Assert.Equal(new[] { "tick" }, cancelledAfterSchedule.Cancel);

        var rescheduled = Context().Stay()
            .Cancel("tick")
            .Schedule("tick", TimeSpan.FromMinutes(1))
            .Schedule("tick", TimeSpan.FromMinutes(3))
            .ToDecision();
        Assert.Empty(rescheduled.Cancel);
        Assert.Equal(Now.AddMinutes(3), Assert.Single(rescheduled.Schedule).DueAt);

        Assert.Equal(new[] { "tick" }, Context().Stay().Cancel("tick").Cancel("tick").CancelledTimers);
    }

    [Fact]
    public void Undeclared_timer_should_fail_at_decide_time_with_a_clear_message()
    {
        var ex = Assert.Throws<ArgumentException>(() => Context().Stay().Schedule("tock", TimeSpan.FromMinutes(1)));
        Assert.StartsWith(
            "Saga 'counter' has no timer 'tock' (declared: reminder, tick); declare it with OnTimer(\"tock\", ...) in the saga's constructor.",
            ex.Message,
            StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Context().Stay().ScheduleAt("tock", Now));
        Assert.Throws<ArgumentException>(() => Context().Stay().Cancel("tock"));
    }

    [Fact]
    public void Undeclared_timer_should_fail_through_a_saga_handler()
    {
        ISagaDefinition saga = new TypoSaga();
        var ok = Assert.IsType<ParseResult.Ok>(saga.Parse(new IncomingEvent("acme", "Tagged", """{"note":"x"}"""u8.ToArray(), null, null, 1, Now)));
        var ex = Assert.Throws<ArgumentException>(() => saga.Decide(saga.InitialState(), ok.Event, Now));
        Assert.Contains("Saga 'typo' has no timer 'payment-timout' (declared: payment-timeout)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Complete_should_not_combine_with_scheduling()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Context().Stay().Schedule("tick", TimeSpan.FromMinutes(1)).Complete());
        Assert.Contains("(tick) cannot complete", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidOperationException>(() => Context().Stay().Complete().Schedule("tick", TimeSpan.FromMinutes(1)));
        Assert.Contains("cannot schedule timer 'tick' in a completing decision", ex.Message, StringComparison.Ordinal);

        var completed = Context().Stay().Cancel("tick").Complete().ToDecision();
        Assert.True(completed.Complete);
        Assert.Equal(new[] { "tick" }, completed.Cancel);
    }

    [Fact]
    public void Untyped_decision_should_reject_contradictions()
    {
        var timer = new TimerRequest("tick", Now);
        Assert.Throws<ArgumentException>(() => new Decision(State, true, [], [timer, timer], [], false));
        Assert.Throws<ArgumentException>(() => new Decision(State, true, [], [timer], ["tick"], false));
        Assert.Throws<ArgumentException>(() => new Decision(State, true, [], [timer], [], true));
        Assert.Throws<ArgumentNullException>(() => new Decision(null!, true, [], [], [], false));

        var unchanged = Decision.Unchanged(State);
        Assert.True(unchanged.IsNoOp);
        Assert.False(unchanged.Commands.IsDefault);
        Assert.False(new Decision(State, false, default, default, default, false).Schedule.IsDefault);
    }

    private sealed class TypoSaga : Saga<CounterState>
    {
        public TypoSaga()
            : base("typo")
        {
            On<Tagged>((e, _) => e.Note, (state, _, ctx) => ctx.Stay().Schedule("payment-timout", TimeSpan.FromMinutes(1)));
            OnTimer("payment-timeout", (state, ctx) => ctx.Stay());
        }

        protected override CounterState Initial() => new(0, 0, 0);
    }
}
