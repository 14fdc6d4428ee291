using Runner.Placement;
using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Sagas;

namespace Runner.Actors.Admin;

/// <summary>
/// Answers one operator query about a tenant's saga instances (a child of the <see cref="TenantActor"/>, one per query):
/// the instances come from the journal's persistence ids, each instance's current view from the instance itself (started
/// from its journal if it was passivated; it passivates again when idle), its history from the read journal. It replies
/// with a <see cref="SagaPage"/> or a <see cref="SagaDetail"/> (or an <see cref="AdminRefusal"/>) and stops.
/// </summary>
internal sealed class SagaQueryActor : ReceiveActor, IWithTimers
{
    private const int ViewWindow = 32;

    private readonly string _tenant;
    private readonly SagaCatalog _catalog;
    private readonly RuntimeSettings _settings;
    private readonly IActorRef _replyTo;
    private readonly Dictionary<(string Saga, string Correlation), SagaView> _views = [];
    private readonly HashSet<(string Saga, string Correlation)> _outstanding = [];
    private List<(string Saga, string Correlation)> _candidates = [];
    private int _next;
    private readonly List<SagaView> _matched = [];
    private ListSagas? _list;
    private ShowSaga? _show;
    private List<EventEnvelope> _history = [];
    private long _historyTotal;

    public SagaQueryActor(string tenant, SagaCatalog catalog, RuntimeSettings settings, ITenantAdminRequest request, IActorRef replyTo)
    {
        _tenant = tenant;
        _catalog = catalog;
        _settings = settings;
        _replyTo = replyTo;
        _list = request as ListSagas;
        _show = request as ShowSaga;

        Receive<Ids>(OnIds);
        Receive<SagaView>(OnView);
        Receive<History>(OnHistory);
        Receive<Failed>(f => Reply(AdminRefusal.Unavailable($"{f.While} failed: {f.Cause.GetBaseException().Message}")));
        Receive<Stalled>(_ => Reply(AdminRefusal.Unavailable(
            $"{_outstanding.Count} saga instance(s) did not answer within {_settings.AdminQueryStallTimeout.TotalSeconds:0}s (e.g. {_outstanding.FirstOrDefault().Correlation})")));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string tenant, SagaCatalog catalog, RuntimeSettings settings, ITenantAdminRequest request, IActorRef replyTo) =>
        Akka.Actor.Props.Create(() => new SagaQueryActor(tenant, catalog, settings, request, replyTo));

    protected override void PostRestart(Exception reason) =>
        Reply(AdminRefusal.Failed($"the query failed: {reason.GetBaseException().Message}"));

    protected override void PreStart()
    {
        var materializer = Context.Materializer();
        if (_show is { } show)
        {
            var keep = Math.Max(1, show.HistoryLimit);
            var queries = PersistenceQuery.Get(Context.System).ReadJournalFor<ICurrentEventsByPersistenceIdQuery>(_settings.QueryPlugin);
            queries.CurrentEventsByPersistenceId(TenantKeys.Saga(_tenant, show.Saga, show.CorrelationId), 0, long.MaxValue)
                .RunAggregate((Kept: new Queue<EventEnvelope>(), Total: 0L), (acc, e) =>
                {
                    acc.Kept.Enqueue(e);
                    if (acc.Kept.Count > keep) acc.Kept.Dequeue();
                    return (acc.Kept, acc.Total + 1);
                }, materializer)
                .PipeTo(Self, success: r => new History([.. r.Kept], r.Total), failure: e => new Failed(e, "reading the instance's journal"));
            return;
        }

        var prefix = _list?.Saga is { } saga ? TenantKeys.SagaPrefix(_tenant, saga) : TenantKeys.SagaPrefix(_tenant);
        Internal.PersistenceIds.WithPrefixAsync(Context.System, _settings.QueryPlugin, prefix, materializer)
            .PipeTo(Self, success: ids => new Ids(ids), failure: e => new Failed(e, "listing the tenant's instances"));
    }

    private void OnHistory(History history)
    {
        if (history.Total == 0)
        {
            Reply(AdminRefusal.NotFound($"tenant '{_tenant}' has no instance '{_show!.CorrelationId}' of saga '{_show.Saga}'"));
            return;
        }

        _history = history.Events;
        _historyTotal = history.Total;
        _candidates = [(_show!.Saga, _show.CorrelationId)];
        AskViews();
    }

    private void OnIds(Ids ids)
    {
        // Sagas this node does not run are skipped.
        _candidates = [.. ids.PersistenceIds
            .Select(pid => TenantKeys.TryParseSaga(pid, out _, out var saga, out var correlation) ? (Saga: saga, Correlation: correlation) : (Saga: "", Correlation: ""))
            .Where(p => p.Saga.Length > 0 && _catalog.TryGet(p.Saga, out _))
            .Where(p => _list!.Search is not { } search || p.Correlation.Contains(search, StringComparison.OrdinalIgnoreCase))
            .Order()];
        if (_list!.State is null)
        {
            // Without a state filter only the page's instances are asked.
            _total = _candidates.Count;
            _candidates = [.. _candidates.Skip(_list.Offset).Take(_list.Limit)];
        }

        AskViews();
    }

    private int? _total;

    private void AskViews()
    {
        while (_outstanding.Count < ViewWindow && _next < _candidates.Count && !Enough())
        {
            var key = _candidates[_next++];
            _outstanding.Add(key);
            Context.Parent.Tell(new GetSagaView(key.Saga, key.Correlation));
        }

        if (_outstanding.Count == 0)
        {
            Done();
            return;
        }

        Timers.StartSingleTimer("stall", Stalled.Instance, _settings.AdminQueryStallTimeout);
    }

    private bool Enough() => _list is { State: not null } l && _matched.Count >= l.Offset + l.Limit;

    private void OnView(SagaView view)
    {
        var key = (view.Saga, view.CorrelationId);
        if (!_outstanding.Remove(key)) return;
        _views[key] = view;
        if (_list is { } l && (l.State is null || Matches(view, l.State))) _matched.Add(view);
        AskViews();
    }

    private static bool Matches(SagaView view, string state) => state.ToLowerInvariant() switch
    {
        "active" => !view.Completed,
        "completed" => view.Completed,
        _ => string.Equals(StatusOf(view.State), state, StringComparison.OrdinalIgnoreCase),
    };

    /// <summary>The state's <c>Status</c> member, by name (enums by their name), when it has one.</summary>
    private static string? StatusOf(object state) => state.GetType().GetProperty("Status")?.GetValue(state)?.ToString();

    private void Done()
    {
        Timers.Cancel("stall");
        if (_show is { } show)
        {
            Reply(new SagaDetail(Summary(_views[(show.Saga, show.CorrelationId)]), _historyTotal, [.. _history.Select(Entry)]));
            return;
        }

        var list = _list!;
        // Ordered by (saga, correlation id), as the candidates were asked. The views answer in any order: the matches are put in
        // order before the offset skips any (every candidate asked has answered by now, and they are a prefix of all).
        var ordered = _matched.OrderBy(v => v.Saga, StringComparer.Ordinal).ThenBy(v => v.CorrelationId, StringComparer.Ordinal);
        var page = (list.State is null ? ordered : ordered.Skip(list.Offset)).Take(list.Limit).ToList();
        var scannedAll = _next >= _candidates.Count;
        Reply(new SagaPage(_tenant, list.Saga, list.State, list.Offset, list.Limit,
            // With a state filter the count of matches is known only once every instance was looked at.
            list.State is null ? _total : scannedAll ? _matched.Count : null,
            list.State is null ? list.Offset + page.Count < (_total ?? 0) : !scannedAll || _matched.Count > list.Offset + page.Count,
            [.. page.Select(Summary)]));
    }

    private SagaInstanceSummary Summary(SagaView v)
    {
        _catalog.TryGet(v.Saga, out var saga);
        return new SagaInstanceSummary(v.Saga, v.CorrelationId, StatusOf(v.State), v.Completed, v.CompletedAt, v.SequenceNr,
            saga is null ? null : Encoding.UTF8.GetString(saga.SerializeState(v.State)),
            [.. v.OutboxPending.Select(o => new PendingCommand(o.MsgId, o.CommandType))], TimerViews(v.Timers), v.DedupeMarkers);
    }

    private static ImmutableArray<TimerView> TimerViews(ImmutableArray<TimerEntry> timers) =>
        [.. timers.OrderBy(t => t.DueAt).Select(t => new TimerView(t.Name, t.DueAt, t.SkipIfMissed))];

    private static SagaHistoryEntry Entry(EventEnvelope e) => e.Event switch
    {
        SagaApplied a => new HistoryApplied(e.SequenceNr, a.At, a.Trigger, a.DedupeKey, a.StreamSequence == 0 ? null : a.StreamSequence, a.State is not null,
            [.. a.Outbox.Select(o => new PendingCommand(o.MsgId, o.CommandType))], TimerViews(a.Scheduled), a.Cancelled, a.Completed),
        OutboxDelivered d => new HistoryDelivered(e.SequenceNr, d.MsgIds),
        OutboxOverdue o => new HistoryOutboxOverdue(e.SequenceNr, o.Pending, o.At),
        SagaReset r => new HistoryReset(e.SequenceNr, r.At, r.ReplayId),
        DedupeForgotten f => new HistoryDedupeForgotten(e.SequenceNr, f.At, f.ReplayId),
        _ => new HistoryOther(e.SequenceNr, e.Event?.GetType().Name),
    };

    private void Reply(ITenantAdminReply reply)
    {
        _replyTo.Tell(reply);
        Context.Stop(Self);
    }

    private sealed record Ids(List<string> PersistenceIds);

    private sealed record History(List<EventEnvelope> Events, long Total);

    private sealed record Failed(Exception Cause, string While);

    private sealed record Stalled
    {
        public static Stalled Instance { get; } = new();
    }
}
