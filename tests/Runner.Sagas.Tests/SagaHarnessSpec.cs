using Runner.Sagas.Testing;
using Xunit;

namespace Runner.Sagas.Tests;

public sealed class SagaHarnessSpec
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly SagaHarness _harness = new(new CounterSaga(), Start);

    [Fact]
    public void Harness_should_fire_timers_in_due_order_with_the_clock_at_their_due_time()
    {
        _harness.Publish("Ping", new Ping("late", 3));          // reminder and tick at +2 min
        _harness.Advance(TimeSpan.FromSeconds(30));
        _harness.Publish("Ping", new Ping("early", 1));         // tick at +1.5 min

        var fired = _harness.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(
            [("early", "tick", Start.AddSeconds(90)), ("late", "reminder", Start.AddMinutes(2)), ("late", "tick", Start.AddMinutes(2))],
            fired.Select(f => (f.CorrelationId, f.Timer.Name, f.FiredAt)));
        Assert.Equal(Start.AddSeconds(90).ToString("O"), _harness.Instance("early").State<CounterState>().LastTimerAt);
        Assert.Equal(Start.AddSeconds(330), _harness.Now);
        Assert.Empty(_harness.Instance("late").Timers);
    }

    [Fact]
    public void Harness_should_list_pending_timers_with_their_policy()
    {
        _harness.Publish("Ping", new Ping("p", 2));
        var timer = Assert.Single(_harness.Instance("p").PendingTimers);
        Assert.Equal(new TimerRequest("tick", Start.AddMinutes(1), MissedFirePolicy.Skip), timer);
        Assert.Equal(Start.AddMinutes(1), _harness.Instance("p").Timers["tick"]);
    }

    [Fact]
    public void Downtime_should_fire_overdue_fire_timers_late()
    {
        _harness.Publish("Ping", new Ping("p", 1));

        var fired = _harness.SimulateDowntime(TimeSpan.FromHours(1));

        var firing = Assert.Single(fired);
        Assert.Equal(MissedFirePolicy.Fire, firing.Timer.Policy);
        Assert.Equal(Start.AddMinutes(1), firing.Timer.DueAt);
        Assert.Equal(Start.AddHours(1), firing.FiredAt);
        Assert.Equal(1, _harness.Instance("p").State<CounterState>().Ticks);
    }

    [Fact]
    public void Downtime_should_drop_skip_timers_overdue_beyond_the_tolerance()
    {
        _harness.Publish("Ping", new Ping("p", 2));

        Assert.Empty(_harness.SimulateDowntime(TimeSpan.FromHours(1)));

        var instance = _harness.Instance("p");
        Assert.Equal(0, instance.State<CounterState>().Ticks);
        Assert.Empty(instance.Timers);
        Assert.Equal(MissedFirePolicy.Skip, Assert.Single(instance.SkippedTimers).Policy);
    }

    [Fact]
    public void Downtime_should_fire_skip_timers_within_the_tolerance()
    {
        var harness = new SagaHarness(new CounterSaga(), Start) { MissedFireTolerance = TimeSpan.FromMinutes(5) };
        harness.Publish("Ping", new Ping("p", 2));

        Assert.Single(harness.SimulateDowntime(TimeSpan.FromMinutes(4)));
        Assert.Empty(harness.Instance("p").SkippedTimers);
    }

    [Fact]
    public void Harness_should_stop_timers_of_completed_instances()
    {
        _harness.Publish("Ping", new Ping("p", 1));
        _harness.Publish("Ping", new Ping("p", 99));

        var instance = _harness.Instance("p");
        Assert.True(instance.Completed);
        Assert.Empty(instance.Timers);
        Assert.Empty(_harness.Advance(TimeSpan.FromHours(1)));
        Assert.Equal(PublishOutcome.IgnoredCompleted, _harness.Publish("Ping", new Ping("p", 5)).Outcome);
        Assert.Single(instance.IgnoredEvents);
    }

    [Fact]
    public void Harness_should_apply_nothing_when_the_handler_throws()
    {
        _harness.Publish("Ping", new Ping("p", 5));
        Assert.Throws<InvalidOperationException>(() => _harness.Publish("Ping", new Ping("p", -1)));
        Assert.Throws<InvalidOperationException>(() => _harness.Publish("Ping", new Ping("q", -1)));

        Assert.Equal(5, _harness.Instance("p").State<CounterState>().Pings);
        Assert.False(_harness.HasInstance("q"));
        Assert.Single(_harness.Commands);
    }

    [Fact]
    public void Harness_should_record_commands_per_instance_and_globally()
    {
        _harness.Publish("Ping", new Ping("a", 5));
        _harness.Publish("Ping", new Ping("b", 6));
        _harness.Publish("Ping", new Ping("a", 7));

        Assert.Equal(
            [new EmittedCommand("a", new OutgoingCommand("Pinged", new Tagged("pinged 5"))),
             new EmittedCommand("b", new OutgoingCommand("Pinged", new Tagged("pinged 6"))),
             new EmittedCommand("a", new OutgoingCommand("Pinged", new Tagged("pinged 7")))],
            _harness.Commands);
        Assert.Equal(2, _harness.Instance("a").Commands.Count);
        Assert.Equal(12, _harness.Instance("a").State<CounterState>().Pings);
    }

    [Fact]
    public void Harness_should_give_events_tenant_sequence_and_time()
    {
        var harness = new SagaHarness(new CounterSaga(), Start) { Tenant = "acme" };
        harness.Publish("Ping", new Ping("p", 5));
        harness.Advance(TimeSpan.FromSeconds(10));
        var second = harness.Publish("Ping", new Ping("p", 5), new Dictionary<string, string> { ["Nats-Msg-Id"] = "m-2" });

        Assert.Equal("acme", second.Event.Tenant);
        Assert.Equal(2UL, second.Event.StreamSequence);
        Assert.Equal(Start.AddSeconds(10), second.Event.Timestamp);
        Assert.Equal("m-2", second.Event.MessageId);
        Assert.Throws<ArgumentException>(() => new SagaHarness(new CounterSaga()) { Tenant = "ACME" });
    }

    [Fact]
    public void Harness_should_explain_unknown_instances_and_wrong_state_types()
    {
        _harness.Publish("Ping", new Ping("p", 5));
        var ex = Assert.Throws<KeyNotFoundException>(() => _harness.Instance("x"));
        Assert.Equal("No event has correlated to instance 'x' of saga 'counter' (instances: p).", ex.Message);
        Assert.Throws<InvalidCastException>(() => _harness.Instance("p").State<string>());
        Assert.Throws<ArgumentOutOfRangeException>(() => _harness.Advance(TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void Harness_should_read_state_back_from_json_like_the_runtime()
    {
        var harness = new SagaHarness(new LossySaga());
        harness.Publish("Ping", new Ping("p", 1));
        // A member the JSON leaves out is gone once the state is read back, as it would be after a restart.
        Assert.Null(harness.Instance("p").State<LossyState>().Transient);
    }

    public sealed class LossyState
    {
        public int Count { get; set; }

        [System.Text.Json.Serialization.JsonIgnore]
        public string? Transient { get; set; }
    }

    private sealed class LossySaga : Saga<LossyState>
    {
        public LossySaga()
            : base("lossy")
        {
            On<Ping>((e, _) => e.Id, (state, e, ctx) => ctx.Transition(new LossyState { Count = e.Count, Transient = "lost on restart" }));
        }

        protected override LossyState Initial() => new();
    }
}
