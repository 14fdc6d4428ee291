using Akka.Actor;
using Runner.Actors.Protocol;
using Runner.Sagas;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

public sealed record Remind(string Id);

public sealed record Pinged(string Id);

public sealed record Nudged(string Id);

public sealed record ReminderState(string? Id);

/// <summary>Two timers due at the same time: "ping" fires when missed, "nudge" is skipped when missed.</summary>
public sealed class ReminderSaga : Saga<ReminderState>
{
    public ReminderSaga() : base("reminder")
    {
        On<Remind>((e, _) => e.Id, (s, e, ctx) => ctx.Transition(new ReminderState(e.Id))
            .Schedule("ping", TimeSpan.FromMinutes(1))
            .Schedule("nudge", TimeSpan.FromMinutes(1), MissedFirePolicy.Skip));
        OnTimer("ping", (s, ctx) => ctx.Stay().Send(new Pinged(s.Id!)));
        OnTimer("nudge", (s, ctx) => ctx.Stay().Send(new Nudged(s.Id!)));
    }

    protected override ReminderState Initial() => new((string?)null);
}

public sealed class TimerPolicySpec : ActorSpecBase
{
    private readonly ReminderSaga _reminder = new();

    public TimerPolicySpec(ITestOutputHelper output) : base(output)
    {
        var catalog = new SagaCatalog();
        catalog.Add(Saga);
        catalog.Add(_reminder);
        Services = Services with { Catalog = catalog };
    }

    private DeliverEvent Remind(string id)
    {
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { id });
        var incoming = new IncomingEvent(Tenant, "Remind", json, null, "r-" + id, 1, Clock.Now);
        var parsed = (ParseResult.Ok)_reminder.Parse(incoming);
        return new DeliverEvent(_reminder.Name, parsed.CorrelationId, incoming, parsed.Event);
    }

    [Fact]
    public void Timers_should_fire_on_time_whatever_their_missed_fire_policy()
    {
        var tenant = StartTenant();
        tenant.Tell(Remind("on-time"));
        ExpectMsg<Applied>();
        Clock.Advance(TimeSpan.FromMinutes(1)); // due now, not missed
        AwaitAssert(() => Assert.Equal(["Nudged", "Pinged"], Transport.CommandTypes("on-time").Order()), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_missed_skip_timer_should_be_dropped_and_a_missed_fire_timer_fired_late()
    {
        var tenant = StartTenant("t-policy-1");
        tenant.Tell(Remind("late"));
        ExpectMsg<Applied>();
        StopAndWait(tenant); // the node is down while both timers come due

        Clock.Advance(TimeSpan.FromMinutes(30)); // far beyond missed-fire-tolerance (5 s)
        var again = StartTenant("t-policy-2");
        AwaitAssert(() =>
        {
            again.Tell(new GetSagaView("reminder", "late"));
            Assert.Empty(ExpectMsg<SagaView>().Timers);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        Assert.Equal(["Pinged"], Transport.CommandTypes("late"));
    }
}
