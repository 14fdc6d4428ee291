using Akka.Actor;
using Akka.Event;
using Runner.Actors.Admin;
using Runner.Actors.Protocol;
using Runner.Actors.Replay;
using Runner.Actors.Serialization;
using Runner.Nats;

namespace Runner.Actors.Tenant;

/// <summary>
/// A running tenant's operator side: answers admin requests (replays and dry runs, saga views, timers) and owns the
/// replays, resuming a replay its checkpoint journal records as unfinished. What its children ask of the tenant
/// (instance views, resets, replay bases) goes to the tenant; pausing and resuming a saga goes to the consumption.
/// </summary>
internal sealed class TenantAdmin : ReceiveActor
{
    private readonly string _tenant;
    private readonly TenantServices _services;
    private readonly ITenantEventSource _nats;
    private readonly IActorRef _tenantActor;
    private readonly IActorRef _checkpoints;
    private readonly IActorRef _scheduleIndex;
    private readonly IActorRef _consumers;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public TenantAdmin(string tenant, TenantServices services, IActorRef tenantActor, IActorRef checkpoints, IActorRef scheduleIndex, IActorRef consumers)
    {
        _tenant = tenant;
        _services = services;
        _nats = services.Events;
        _tenantActor = tenantActor;
        _checkpoints = checkpoints;
        _scheduleIndex = scheduleIndex;
        _consumers = consumers;

        Receive<ITenantAdminRequest>(OnRequest);
        Receive<CheckpointsRecovered>(r => ResumeReplays(r.ActiveReplays));
        Receive<ReplaysKnown>(r => ResumeReplays(r.Replays.Where(x => x.Stage != ReplayStage.Finished)));
        Receive<PauseSaga>(p => _consumers.Forward(p));
        Receive<ResumeSaga>(r => _consumers.Forward(r));
        Receive<SagaPaused>(_ => { }); // the answer to a pause this actor asked for while resuming a replay
        Receive<ISagaMessage>(m => _tenantActor.Forward(m));
        // A replay that stopped before its end is resumed from its record (ReplaysKnown).
        Receive<Terminated>(_ => _checkpoints.Tell(GetReplays.Instance));
    }

    public static Props Props(string tenant, TenantServices services, IActorRef tenantActor, IActorRef checkpoints, IActorRef scheduleIndex, IActorRef consumers) =>
        Akka.Actor.Props.Create(() => new TenantAdmin(tenant, services, tenantActor, checkpoints, scheduleIndex, consumers));

    private void OnRequest(ITenantAdminRequest request)
    {
        switch (request)
        {
            case StartReplay start:
                OnStartReplay(start);
                break;
            case GetReplay get:
                var child = Context.Child(ReplayActor.ChildName(get.Id));
                if (child.IsNobody()) _checkpoints.Forward(get);
                else child.Forward(get);
                break;
            case ListReplays:
                _checkpoints.Forward(request);
                break;
            case ListTimers:
                _scheduleIndex.Forward(request);
                break;
            case ListSagas { Saga: { } name } when !_services.Catalog.TryGet(name, out _):
                Sender.Tell(UnknownSaga(name));
                break;
            case ShowSaga show when !_services.Catalog.TryGet(show.Saga, out _):
                Sender.Tell(UnknownSaga(show.Saga));
                break;
            case ListSagas or ShowSaga:
                Context.ActorOf(SagaQueryActor.Props(_tenant, _services.Catalog, _services.Runtime, request, Sender), "query-" + Guid.NewGuid().ToString("N"));
                break;
        }
    }

    private void OnStartReplay(StartReplay start)
    {
        if (!_services.Catalog.TryGet(start.Saga, out var saga))
        {
            Sender.Tell(UnknownSaga(start.Saga));
            return;
        }

        if (!ReplayModes.IsValid(start.Mode))
        {
            Sender.Tell(AdminRefusal.Invalid($"mode must be one of {string.Join(", ", ReplayModes.All)}, not '{start.Mode}'"));
            return;
        }

        var id = ReplayIds.New(_tenant, saga!.Name, _services.Clock.Now);
        var replay = Context.ActorOf(start.DryRun
            ? DryRunActor.New(_tenant, saga, _services, _nats, id, start, Sender)
            : ReplayActor.New(_tenant, saga, _services, _nats, _checkpoints, id, start, Sender), ReplayActor.ChildName(id));
        if (!start.DryRun) Context.Watch(replay);
    }

    private void ResumeReplays(IEnumerable<ReplayRecord> active)
    {
        foreach (var record in active)
        {
            if (!Context.Child(ReplayActor.ChildName(record.Id)).IsNobody()) continue;
            if (!_services.Catalog.TryGet(record.Saga, out var saga))
            {
                _log.Error("Tenant {0}: replay {1} of saga {2} cannot resume: this node does not run that saga", _tenant, record.Id, record.Saga);
                continue;
            }

            // The saga stays paused until the resumed replay lets it consume again.
            _consumers.Tell(new PauseSaga(record.Saga));
            Context.Watch(Context.ActorOf(ReplayActor.Resume(_tenant, saga!, _services, _nats, _checkpoints, record), ReplayActor.ChildName(record.Id)));
        }
    }

    private AdminRefusal UnknownSaga(string saga) =>
        AdminRefusal.NotFound( $"no saga named '{saga}' runs here (sagas: {string.Join(", ", _services.Catalog.All.Select(s => s.Name))})");
}
