using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;

namespace Runner.Actors;

/// <summary>
/// The durable index of one tenant's timers: which instance has which timer due when. It survives restarts, and
/// on every tick it sends <see cref="TimerDue"/> for due timers to the tenant, which starts passivated instances.
/// An entry leaves the index only when its instance reports its timers again without it.
/// </summary>
internal sealed class ScheduleIndexActor : ReceivePersistentActor, IWithTimers
{
    private readonly RuntimeSettings _settings;
    private readonly IClock _clock;
    private readonly Dictionary<(string Saga, string Correlation), ImmutableArray<TimerEntry>> _instances = [];
    private readonly Dictionary<(string, string, string, DateTimeOffset), DateTimeOffset> _dispatched = [];

    public ScheduleIndexActor(string tenant, RuntimeSettings settings, IClock clock)
    {
        _settings = settings;
        _clock = clock;
        PersistenceId = $"schedule|{tenant}";
        Recover<SnapshotOffer>(o =>
        {
            foreach (var t in ((ScheduleSnapshot)o.Snapshot).Instances) Apply(t);
        });
        Recover<TimersIndexed>(Apply);
        Command<TimersIndexed>(t =>
        {
            var replyTo = Sender;
            PersistAsync(t, e =>
            {
                Apply(e);
                replyTo.Tell(TimersIndexedAck.Instance);
                if (LastSequenceNr % 1000 == 0)
                    SaveSnapshot(new ScheduleSnapshot([.. _instances.Select(i => new TimersIndexed(i.Key.Saga, i.Key.Correlation, i.Value))]));
            });
        });
        Command<Tick>(_ => Dispatch());
        Command<GetDue>(_ => Sender.Tell(_instances.SelectMany(i => i.Value.Select(t => (i.Key.Saga, i.Key.Correlation, t))).ToImmutableArray()));
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void OnReplaySuccess()
    {
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.Zero, _settings.TimerTick);
    }

    private void Apply(TimersIndexed t)
    {
        var key = (t.Saga, t.CorrelationId);
        if (t.Timers.IsDefaultOrEmpty) _instances.Remove(key);
        else _instances[key] = t.Timers;
    }

    private void Dispatch()
    {
        var now = _clock.Now;
        foreach (var ((saga, correlation), timers) in _instances)
        {
            foreach (var timer in timers)
            {
                if (timer.DueAt > now) continue;
                var key = (saga, correlation, timer.Name, timer.DueAt);
                if (_dispatched.TryGetValue(key, out var at) && now - at < _settings.TimerRedispatch) continue;
                _dispatched[key] = now;
                Context.Parent.Tell(new TimerDue(saga, correlation, timer.Name, timer.DueAt));
            }
        }

        if (_dispatched.Count > 10_000)
        {
            foreach (var stale in _dispatched.Where(d => now - d.Value > _settings.TimerRedispatch * 4).Select(d => d.Key).ToList())
                _dispatched.Remove(stale);
        }
    }

    /// <summary>Look for due timers now.</summary>
    public sealed record Tick
    {
        public static Tick Instance { get; } = new();
    }

    /// <summary>Lists indexed timers (tests, admin).</summary>
    public sealed record GetDue
    {
        public static GetDue Instance { get; } = new();
    }
}
