using System.Collections.Immutable;
using Runner.Placement;
using Akka;
using Akka.Actor;
using Akka.Event;
using Runner.Actors.Tenant;
using Runner.Actors.Protocol;
using Runner.Sagas;

namespace Runner.Actors;

/// <summary>
/// One tenant, as a lifecycle with explicit states: <em>acquiring</em> custody of its state (messages held),
/// <em>refused</em> (custody is elsewhere; asked again), <em>running</em> (instances routed, consumption and the
/// operator side as children), <em>handing off</em> (consumption stopping, in-flight events finishing) and
/// <em>releasing</em> (persistent children stopped and reported, custody released, receipt published). It routes
/// to its saga instances; it does not decide, persist or do I/O itself beyond asking custody.
/// </summary>
public sealed partial class TenantActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private readonly string _tenant;
    private readonly TenantServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string _status = "acquiring custody";
    private bool _ran;
    private long _lease;
    private Task<CustodyDecision>? _acquiring; // the custody request in flight
    private bool _releaseRequested;
    private int _consumerCount;
    private IActorRef _scheduleIndex = ActorRefs.Nobody;
    private IActorRef _checkpoints = ActorRefs.Nobody;
    private IActorRef _consumers = ActorRefs.Nobody;
    private IActorRef _admin = ActorRefs.Nobody;
    private TenantRelease.StopReports _reports = new();
    private TenantInstances _instances = null!;

    /// <summary>Creates the tenant (the id is validated here too: every edge refuses invalid tenant ids).</summary>
    public TenantActor(string tenant, TenantServices services)
    {
        _tenant = TenantId.Validate(tenant);
        _services = services;
        Acquiring();
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Props for a tenant.</summary>
    public static Props Props(string tenant, TenantServices services) => Akka.Actor.Props.Create(() => new TenantActor(tenant, services));

    /// <inheritdoc />
    protected override void PreStart() => AskCustody();

    /// <summary>Nothing runs before this node holds the tenant's state (it may be brought over from the previous owner).</summary>
    private void Acquiring()
    {
        _status = "acquiring custody";
        Receive<CustodyOutcome>(OnCustody);
        Receive<ISagaMessage>(_ => Stash.Stash());
        Receive<ITenantAdminRequest>(_ => Stash.Stash());
        // Never ran here: nothing to finish. The custody asked for may still be granted; PostStop hands that grant back.
        Receive<HandOff>(_ => Context.Stop(Self));
        Always();
    }

    /// <summary>Custody is refused (or could not be checked): nothing runs; custody is asked again after a while.</summary>
    private void Refused()
    {
        Receive<AcquireCustody>(_ =>
        {
            Become(Acquiring);
            AskCustody();
        });
        Receive<ISagaMessage>(NotDelivered);
        Receive<ITenantAdminRequest>(_ => RefuseAdmin());
        Receive<HandOff>(_ =>
        {
            Timers.Cancel("custody");
            Context.Stop(Self);
        });
        Always();
    }

    private void Running()
    {
        _status = "running";
        Receive<ISagaMessage>(m => _instances.Route(Context, m, Sender));
        Receive<Passivate>(_ => _instances.Passivate(Context, Sender));
        Receive<Terminated>(t => _instances.Stopped(Self, t.ActorRef));
        Receive<ITenantAdminRequest>(r => _admin.Forward(r));
        Receive<CheckpointsRecovered>(r =>
        {
            _consumers.Forward(r);
            _admin.Forward(r);
        });
        Receive<HandOff>(_ => HandOffNow());
        Always();
    }

    /// <summary>The consumption stops; events already pulled finish (routing goes on for them), then the children stop.</summary>
    private void HandingOff()
    {
        _status = "handing off";
        Receive<ISagaMessage>(m => _instances.Route(Context, m, Sender));
        Receive<Passivate>(_ => _instances.Passivate(Context, Sender));
        Receive<Terminated>(t => _instances.Stopped(Self, t.ActorRef));
        Receive<ITenantAdminRequest>(_ => RefuseAdmin());
        Receive<ConsumersStopped>(s =>
        {
            _reports = _reports with { InFlightFinished = s.Finished };
            StopChildren();
            Become(Releasing);
            MaybeRelease();
        });
        Receive<CheckpointsRecovered>(_ => { });
        Receive<HandOff>(_ => { });
        Always();
    }

    /// <summary>Every child stops (persistent ones report what they leave behind first); then custody is released.</summary>
    private void Releasing()
    {
        Receive<SagaStopReport>(r => _reports = _reports with { OutboxPending = _reports.OutboxPending + r.OutboxPending, Sagas = _reports.Sagas + 1 });
        Receive<ScheduleStopReport>(r => _reports = _reports with { Schedule = r });
        Receive<CheckpointStopReport>(r => _reports = _reports with { Checkpoints = r.Checkpoints });
        Receive<Terminated>(_ => MaybeRelease());
        Receive<TenantRelease.Released>(OnReleased);
        Receive<ISagaMessage>(NotDelivered);
        Receive<ITenantAdminRequest>(_ => RefuseAdmin());
        Receive<Passivate>(_ => { });
        Receive<ConsumersStopped>(_ => { });
        Receive<CheckpointsRecovered>(_ => { });
        Receive<HandOff>(_ => { });
        Always();
    }

    /// <summary>What every state answers.</summary>
    private void Always()
    {
        Receive<Start>(_ => Sender.Tell(new Started(_tenant)));
        Receive<GetTenantView>(_ => Sender.Tell(new TenantView(_tenant,
            Context.GetChildren().Count(TenantInstances.IsInstance), _consumerCount, _status)));
        Receive<ConsumerCount>(c => _consumerCount = c.Running);
        Receive<AcquireCustody>(_ => { });
        Receive<Status.Failure>(_ => { });
        Receive<NotUsed>(_ => { });
    }

    private void AskCustody()
    {
        var acquire = _services.Custody.AcquireAsync(_tenant, CancellationToken.None);
        _acquiring = acquire;
        acquire.WaitAsync(_services.CustodyTimeout)
            .ContinueWith(t => new CustodyOutcome(t.IsCompletedSuccessfully ? t.Result : null, t.Exception?.GetBaseException()), TaskScheduler.Default)
            .PipeTo(Self);
    }

    /// <summary>
    /// A custody request nobody waits for any more (it timed out here, or the tenant stopped while it was in flight): a
    /// grant it still brings is handed back by its lease, or this node would refuse to release a tenant it does not run.
    /// Only that grant's lease: one made since (the tenant asked again and runs) stays.
    /// </summary>
    private void Abandon(Task<CustodyDecision> request)
    {
        var custody = _services.Custody;
        var tenant = _tenant;
        request.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully && t.Result.Granted) custody.Stopped(tenant, t.Result.Lease);
        }, TaskScheduler.Default);
    }

    private void OnCustody(CustodyOutcome outcome)
    {
        var request = _acquiring;
        _acquiring = null;
        if (outcome.Decision is { Granted: true } granted)
        {
            _log.Info("Tenant {0} runs on this node ({1})", _tenant, granted.Detail);
            _lease = granted.Lease;
            StartChildren();
            Become(Running);
            // Held messages go first, in their order, ahead of anything that arrived since.
            Stash.UnstashAll();
            return;
        }

        Become(Refused);
        if (request is not null) Abandon(request); // timed out here: it may still be granted
        _status = outcome.Decision is { } refused ? "not running: " + refused.Detail : "custody check failed: " + outcome.Error?.Message;
        var dropped = Stash.ClearStash().ToList();
        if (dropped.Count > 0) _log.Warning("Tenant {0} does not run here; {1} held message(s) dropped", _tenant, dropped.Count);
        foreach (var envelope in dropped.Where(e => e.Message is ITenantAdminRequest))
            envelope.Sender.Tell(AdminRefusal.Conflict($"tenant {_tenant} is {_status}"));

        if (outcome.Error is { } e) _log.Warning(e, "Tenant {0}: custody check failed; asking again in {1}", _tenant, _services.CustodyRetry);
        else _log.Warning("Tenant {0} is not run here: {1}; asking again in {2}", _tenant, outcome.Decision!.Detail, _services.CustodyRetry);
        Timers.StartSingleTimer("custody", AcquireCustody.Instance, _services.CustodyRetry);
    }

    private void StartChildren()
    {
        _ran = true;
        var node = _services.Events.Settings.NodeId;
        _checkpoints = Context.Watch(Context.ActorOf(Akka.Actor.Props.Create(() =>
            new CheckpointActor(_tenant, node, _services.Runtime)), "checkpoints"));
        _scheduleIndex = Context.Watch(Context.ActorOf(
            Akka.Actor.Props.Create(() => new ScheduleIndexActor(_tenant, _services.Runtime, _services.Clock)), "schedule"));
        var publisher = Context.Watch(Context.ActorOf(
            Akka.Actor.Props.Create(() => new OutboxPublisher(_tenant, _services.Transport, _services.PublishParallelism)), "outbox"));
        _instances = new TenantInstances(_tenant, _services, publisher, _scheduleIndex, _log);
        // The consumption starts once the checkpoints are recovered (CheckpointsRecovered), so a recreated consumer starts after them.
        _consumers = Context.Watch(Context.ActorOf(TenantConsumers.Props(_tenant, _services, Self, _checkpoints), "consumers"));
        _admin = Context.Watch(Context.ActorOf(TenantAdmin.Props(_tenant, _services, Self, _checkpoints, _scheduleIndex, _consumers), "admin"));
    }

    private void HandOffNow()
    {
        Become(HandingOff);
        _consumers.Tell(StopConsuming.Instance);
    }

    private void RefuseAdmin() => Sender.Tell(AdminRefusal.Conflict($"tenant {_tenant} is {_status} on this node; ask again once it runs"));

    private void NotDelivered(ISagaMessage message) =>
        // Not (or no longer) running here: timers and stragglers find the tenant where it runs next.
        _log.Debug("Tenant {0} is {1}; {2} for {3}/{4} not delivered", _tenant, _status, message.GetType().Name, message.Saga, message.CorrelationId);

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (_ran)
        {
            _services.Custody.Stopped(_tenant, _lease);
            _instances.Untrack();
        }
        else if (_acquiring is { } request) Abandon(request);
        base.PostStop();
    }

    private void StopChildren()
    {
        // Every persistent child stops before custody is released, so the state handed on is complete.
        _instances.Clear();
        foreach (var child in Context.GetChildren())
        {
            // Persistent children report what they leave behind and stop themselves (the report arrives first).
            Context.Watch(child);
            if (TenantInstances.IsInstance(child) || child.Equals(_scheduleIndex) || child.Equals(_checkpoints))
                child.Tell(ReportAndStop.Instance);
            else Context.Stop(child);
        }
    }

    private void MaybeRelease()
    {
        if (_releaseRequested || Context.GetChildren().Any()) return;
        _releaseRequested = true;
        TenantRelease.RunAsync(_tenant, _services).PipeTo(Self);
    }

    private void OnReleased(TenantRelease.Released released)
    {
        var receipt = TenantRelease.Receipt(_tenant, _reports, released);
        Context.System.EventStream.Publish(receipt);
        RunnerMetrics.Handoffs.Add(1, new KeyValuePair<string, object?>("tenant", _tenant));
        TenantRelease.Log(_log, receipt);
        // Placed tenants start without waiting for a message: this start waits in the region while the hand-off
        // completes and then goes wherever the tenant is allocated next.
        // (Not while the node shuts down: the region would hold the start until its graceful stop times out.)
        if (CoordinatedShutdown.Get(Context.System).ShutdownReason is null && _services.Region?.Invoke() is { } region)
            region.Tell(new TenantEnvelope(_tenant, Start.Instance));
        Context.Stop(Self);
    }

    /// <summary>Child name of an instance: URL-escaped so any correlation id makes a valid actor name.</summary>
    internal static string ChildName(string saga, string correlationId) => TenantInstances.ChildName(saga, correlationId);

    private sealed record CustodyOutcome(CustodyDecision? Decision, Exception? Error);

    private sealed record AcquireCustody
    {
        public static AcquireCustody Instance { get; } = new();
    }
}
