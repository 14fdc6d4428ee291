using Runner.Placement;
using System.Collections.Immutable;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;

namespace Runner.Actors;

/// <summary>
/// The index of one tenant's timers: which instance has which timer due when, so that due timers wake passivated
/// instances and survive restarts. It is a projection: it follows the tenant's saga events tagged
/// <c>timers|&lt;tenant&gt;</c> through the read journal (live, woken on every local commit), and persists only
/// snapshots of its view with the offset reached. A timer change is therefore exactly as durable as the saga
/// event that carries it, without a second write on the event's path; after a crash the index catches up from
/// its last snapshot. On every tick it sends <see cref="TimerDue"/> for due timers to the tenant, and
/// <see cref="OutboxDue"/> for instances that recorded commands still to publish (<see cref="OutboxOverdue"/>), so
/// that those go out after a crash or a move without waiting for the instance's next event.
/// </summary>
internal sealed class ScheduleIndexActor : ReceivePersistentActor, IWithTimers
{
    private readonly string _tenant;
    private readonly RuntimeSettings _settings;
    private readonly IClock _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<(string Saga, string Correlation), ImmutableArray<TimerEntry>> _instances = [];

    /// <summary>
    /// Every indexed timer by due time: a tick looks at the due ones only, not at every timer of the tenant (a tenant with
    /// many open sagas waiting on timers would otherwise pay for all of them twice a second).
    /// </summary>
    private readonly SortedSet<(DateTimeOffset DueAt, string Saga, string Correlation, string Name)> _byDue = new(ByDue.Instance);
    private readonly Dictionary<(string, string, string, DateTimeOffset), DateTimeOffset> _dispatched = [];
    private readonly Dictionary<(string Saga, string Correlation), DateTimeOffset> _outboxPending = [];
    private long _offset;
    private int _sinceSnapshot;
    private UniqueKillSwitch? _follow;

    public ScheduleIndexActor(string tenant, RuntimeSettings settings, IClock clock)
    {
        _tenant = tenant;
        _settings = settings;
        _clock = clock;
        PersistenceId = TenantKeys.Schedule(tenant);
        Recover<SnapshotOffer>(o =>
        {
            var snapshot = (ScheduleSnapshot)o.Snapshot;
            foreach (var t in snapshot.Instances) Apply(t);
            foreach (var key in snapshot.OutboxPending ?? [])
            {
                if (TenantKeys.TryParseInstance(key, out var saga, out var correlation)) _outboxPending[(saga, correlation)] = DateTimeOffset.MinValue;
            }

            _offset = snapshot.Offset;
        });
        Command<EventEnvelope>(Follow);
        Command<TimersIndexed>(Apply); // an instance correcting the view after a stale TimerDue (in memory only)
        Command<Tick>(_ => Dispatch());
        Command<NotUsed>(_ => { }); // the live query completed (only at shutdown)
        Command<FollowFailed>(f => _log.Warning(f.Cause, "Schedule index of {0} lost its query; it restarts from offset {1}", _tenant, _offset));
        Command<ReportAndStop>(_ =>
        {
            var timers = _instances.SelectMany(i => i.Value).ToList();
            Sender.Tell(new ScheduleStopReport(timers.Count, timers.Count == 0 ? null : timers.Min(t => t.DueAt)));
            Context.Stop(Self);
        });
        Command<ListTimers>(_ =>
        {
            var timers = _instances.SelectMany(i => i.Value.Select(t => new TenantTimer(i.Key.Saga, i.Key.Correlation, t.Name, t.DueAt, t.SkipIfMissed)))
                .OrderBy(t => t.DueAt).ToList();
            Sender.Tell(new TimerList(_tenant, timers.Count, timers.Count == 0 ? null : timers[0].DueAt, timers.Count > TimerList.Listed,
                [.. timers.Take(TimerList.Listed)]));
        });
        // By due time, from the index the ticks read.
        Command<GetDue>(_ => Sender.Tell(_byDue.Select(d => (d.Saga, d.Correlation, _instances[(d.Saga, d.Correlation)].First(t => t.Name == d.Name)))
            .ToImmutableArray()));
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Snapshot of the schedule index of {0} failed", _tenant));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void OnReplaySuccess()
    {
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.Zero, _settings.TimerTick);
        var queries = PersistenceQuery.Get(Context.System).ReadJournalFor<IEventsByTagQuery>(_settings.QueryPlugin);
        var self = Self;
        var tag = TenantKeys.TimersTag(_tenant);
        _follow = RestartSource.WithBackoff(
                () => queries.EventsByTag(tag, Offset.Sequence(Volatile.Read(ref _offset))),
                RestartSettings.Create(_settings.ScheduleFollowMinBackoff, _settings.ScheduleFollowMaxBackoff, 0.2))
            .ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right)
            .To(Sink.ActorRef<EventEnvelope>(self, NotUsed.Instance, e => new FollowFailed(e)))
            .Run(Context.Materializer());
    }

    protected override void PostStop()
    {
        _follow?.Shutdown();
        base.PostStop();
    }

    private void Follow(EventEnvelope envelope)
    {
        if (envelope.Offset is Sequence sequence)
        {
            if (sequence.Value <= Volatile.Read(ref _offset)) return; // seen before a restart of the query
            Volatile.Write(ref _offset, sequence.Value);
        }

        if (envelope.Event is SagaApplied applied && TryParse(envelope.PersistenceId, out var saga, out var correlation))
        {
            var key = (saga, correlation);
            var timers = _instances.TryGetValue(key, out var current) ? current.ToDictionary(t => t.Name, StringComparer.Ordinal) : [];
            foreach (var name in applied.Cancelled) timers.Remove(name);
            foreach (var timer in applied.Scheduled) timers[timer.Name] = timer;
            if (applied.Completed) timers.Clear();
            Apply(new TimersIndexed(saga, correlation, [.. timers.Values]));
        }
        else if (envelope.Event is SagaReset && TryParse(envelope.PersistenceId, out var resetSaga, out var resetCorrelation))
        {
            Apply(new TimersIndexed(resetSaga, resetCorrelation, []));
            _outboxPending.Remove((resetSaga, resetCorrelation));
        }
        else if (envelope.Event is OutboxOverdue overdue && TryParse(envelope.PersistenceId, out var outboxSaga, out var outboxCorrelation))
        {
            // Woken on the next tick (after a crash or a move the instance is not running); cleared once its outbox is empty.
            if (overdue.Pending) _outboxPending.TryAdd((outboxSaga, outboxCorrelation), DateTimeOffset.MinValue);
            else _outboxPending.Remove((outboxSaga, outboxCorrelation));
        }

        // A snapshot costs as much as the index is large: one every max(schedule-snapshot-every, indexed instances) followed
        // events keeps that cost per event constant, and a recovery replays at most as many events as the snapshot holds.
        if (++_sinceSnapshot >= Math.Max(_settings.ScheduleSnapshotEvery, _instances.Count))
        {
            _sinceSnapshot = 0;
            SaveSnapshot(new ScheduleSnapshot([.. _instances.Select(i => new TimersIndexed(i.Key.Saga, i.Key.Correlation, i.Value))], _offset,
                [.. _outboxPending.Keys.Select(k => TenantKeys.Instance(k.Saga, k.Correlation))]));
        }
    }

    private static bool TryParse(string persistenceId, out string saga, out string correlation)
    {
        var ok = TenantKeys.TryParseSaga(persistenceId, out _, out var s, out var c);
        saga = s ?? string.Empty;
        correlation = c ?? string.Empty;
        return ok;
    }

    private void Apply(TimersIndexed t)
    {
        var key = (t.Saga, t.CorrelationId);
        if (_instances.TryGetValue(key, out var before))
        {
            foreach (var timer in before) _byDue.Remove((timer.DueAt, t.Saga, t.CorrelationId, timer.Name));
        }

        if (t.Timers.IsDefaultOrEmpty)
        {
            _instances.Remove(key);
            return;
        }

        _instances[key] = t.Timers;
        foreach (var timer in t.Timers) _byDue.Add((timer.DueAt, t.Saga, t.CorrelationId, timer.Name));
    }

    private void Dispatch()
    {
        var now = _clock.Now;
        foreach (var (dueAt, saga, correlation, name) in _byDue)
        {
            if (dueAt > now) break;
            var key = (saga, correlation, name, dueAt);
            if (_dispatched.TryGetValue(key, out var at) && now - at < _settings.TimerRedispatch) continue;
            _dispatched[key] = now;
            Context.Parent.Tell(new TimerDue(saga, correlation, name, dueAt));
        }

        foreach (var (key, at) in _outboxPending.ToList())
        {
            if (now - at < _settings.TimerRedispatch) continue;
            _outboxPending[key] = now;
            Context.Parent.Tell(new OutboxDue(key.Saga, key.Correlation));
        }

        if (_dispatched.Count > 10_000)
        {
            foreach (var stale in _dispatched.Where(d => now - d.Value > _settings.TimerRedispatch * 4).Select(d => d.Key).ToList())
                _dispatched.Remove(stale);
        }
    }

    private sealed record FollowFailed(Exception Cause);

    /// <summary>Due time first, then the timer's instance and name (ordinal), so that every timer has its own place.</summary>
    private sealed class ByDue : IComparer<(DateTimeOffset DueAt, string Saga, string Correlation, string Name)>
    {
        public static ByDue Instance { get; } = new();

        public int Compare((DateTimeOffset DueAt, string Saga, string Correlation, string Name) x,
            (DateTimeOffset DueAt, string Saga, string Correlation, string Name) y)
        {
            var c = x.DueAt.UtcTicks.CompareTo(y.DueAt.UtcTicks);
            if (c == 0) c = string.CompareOrdinal(x.Saga, y.Saga);
            if (c == 0) c = string.CompareOrdinal(x.Correlation, y.Correlation);
            return c != 0 ? c : string.CompareOrdinal(x.Name, y.Name);
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
