using Runner.Sagas.Samples;
using Xunit;

namespace Runner.Sagas.Tests;

public sealed class SagaDefinitionSpec
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch;

    [Fact]
    public void Saga_should_reject_an_invalid_name()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ConfigurableSaga("Order", _ => { }));
        Assert.Contains("Saga name \"Order\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Saga_should_reject_a_duplicate_event_type()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ConfigurableSaga("dup", s =>
        {
            s.Register<Tagged>();
            s.Register<Ping>("Tagged");
        }));
        Assert.StartsWith("Saga 'dup' already handles event type 'Tagged'.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Saga_should_reject_one_clr_type_for_two_event_types()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ConfigurableSaga("dup", s =>
        {
            s.Register<Tagged>();
            s.Register<Tagged>("TaggedAgain");
        }));
        Assert.Contains("already maps Tagged to event type 'Tagged'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Saga_should_reject_invalid_event_types_and_timer_names()
    {
        Assert.Throws<ArgumentException>(() => new ConfigurableSaga("bad", s => s.Register<Tagged>("tagged.v2")));
        Assert.Throws<ArgumentException>(() => new ConfigurableSaga("bad", s => s.Register<Tagged>("*")));
        Assert.Throws<ArgumentException>(() => new ConfigurableSaga("bad", s => s.Timer("two words")));
        var ex = Assert.Throws<ArgumentException>(() => new ConfigurableSaga("bad", s =>
        {
            s.Timer("tick");
            s.Timer("tick");
        }));
        Assert.StartsWith("Saga 'bad' already declares timer 'tick'.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Saga_should_use_the_registered_event_type_name()
    {
        var saga = new ConfigurableSaga("named", s => s.Register<Tagged>("tag-added", e => e.Note));
        Assert.Equal(["tag-added"], saga.EventTypes);
        var ok = Assert.IsType<ParseResult.Ok>(saga.Parse(new IncomingEvent("acme", "tag-added", """{"note":"c-1"}"""u8.ToArray(), null, null, 1, Now)));
        Assert.Equal("c-1", ok.CorrelationId);
        Assert.Equal(RejectionKind.UnknownEventType, UnknownKind(saga, "Tagged"));
    }

    [Fact]
    public void Decide_should_reject_foreign_states_and_events()
    {
        ISagaDefinition order = new OrderSaga();
        var ex = Assert.Throws<ArgumentException>(() => order.Decide(new CounterState(0, 0, 0), new OrderPlaced("o", 1m), Now));
        Assert.Contains("expects a state of type Runner.Sagas.Samples.OrderState", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => order.Decide(order.InitialState(), new Tagged("x"), Now));
        Assert.Contains("no handler for Runner.Sagas.Tests.Tagged", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => order.OnTimer(order.InitialState(), "tick", Now));
        Assert.Contains("Saga 'order' has no timer 'tick' (declared: payment-timeout)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_should_let_the_authors_exception_through()
    {
        ISagaDefinition counter = new CounterSaga();
        var ok = (ParseResult.Ok)counter.Parse(new IncomingEvent("acme", "Ping", """{"id":"p","count":-1}"""u8.ToArray(), null, null, 1, Now));
        var ex = Assert.Throws<InvalidOperationException>(() => counter.Decide(counter.InitialState(), ok.Event, Now));
        Assert.Equal("negative count", ex.Message);
    }

    [Fact]
    public void Decide_should_pass_the_clock_to_the_handler()
    {
        ISagaDefinition counter = new CounterSaga();
        var decision = counter.OnTimer(counter.InitialState(), "tick", Now.AddDays(1));
        Assert.Equal(Now.AddDays(1).ToString("O"), ((CounterState)decision.State).LastTimerAt);
    }

    [Fact]
    public void Saga_should_reject_a_null_initial_state()
    {
        ISagaDefinition saga = new ConfigurableSaga("nulls", _ => { }, initialIsNull: true);
        var ex = Assert.Throws<InvalidOperationException>(saga.InitialState);
        Assert.Equal("Saga 'nulls': Initial() returned null.", ex.Message);
    }

    private static RejectionKind UnknownKind(ISagaDefinition saga, string eventType) =>
        ((ParseResult.Rejected)saga.Parse(new IncomingEvent("acme", eventType, "{}"u8.ToArray(), null, null, 1, Now))).Kind;

    private sealed class ConfigurableSaga : Saga<CounterState>
    {
        private readonly bool _initialIsNull;

        public ConfigurableSaga(string name, Action<ConfigurableSaga> configure, bool initialIsNull = false)
            : base(name)
        {
            _initialIsNull = initialIsNull;
            configure(this);
        }

        public void Register<TEvent>(string? eventType = null, Func<TEvent, string?>? correlate = null)
            where TEvent : class =>
            On<TEvent>((e, _) => correlate is null ? e.ToString() : correlate(e), (state, _, ctx) => ctx.Stay(), eventType);

        public void Timer(string name) => OnTimer(name, (state, ctx) => ctx.Stay());

        protected override CounterState Initial() => _initialIsNull ? null! : new(0, 0, 0);
    }
}
