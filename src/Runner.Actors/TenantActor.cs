using System.Collections.Immutable;
using Runner.Placement;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Runner.Actors.Admin;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Actors.Replay;
using Runner.Actors.Serialization;
using Runner.Sagas;

namespace Runner.Actors;

/// <summary>
/// One tenant: owns its NATS consumption (one consumer stream per saga definition), its saga instances, its
/// schedule index, checkpoints and outbox publisher. It routes; it does not decide, persist or do I/O itself.
/// </summary>
public sealed class TenantActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private readonly string _tenant;
    private readonly TenantServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _passivating = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PumpHandle> _pumps = new(StringComparer.Ordinal);
    private readonly List<Task> _pumpCompletions = [];
    private readonly HashSet<string> _paused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _checkpointed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _stallWarned = new(StringComparer.Ordinal);
    private bool _consuming;
    private IMaterializer? _materializer;
    private bool _handingOff;
    private bool _running;
    private bool _releasing;
    private bool _releaseRequested;
    private bool _acquiring = true;
    private string _status = "acquiring custody";
    private bool _inFlightFinished = true;
    private int _outboxAtStop;
    private int _sagasAtStop;
    private ScheduleStopReport? _scheduleAtStop;
    private ImmutableDictionary<string, ulong> _checkpointsAtStop = ImmutableDictionary<string, ulong>.Empty;
    private readonly CheckpointCache _checkpointCache = new();
    private IActorRef _scheduleIndex = ActorRefs.Nobody;
    private IActorRef _checkpoints = ActorRefs.Nobody;
    private IActorRef _publisher = ActorRefs.Nobody;

    /// <summary>Creates the tenant (the id is validated here too: every edge refuses invalid tenant ids).</summary>
    public TenantActor(string tenant, TenantServices services)
    {
        _tenant = TenantId.Validate(tenant);
        _services = services;

        Receive<ISagaMessage>(Route);
        Receive<Passivate>(_ => OnPassivate(Sender));
        Receive<Terminated>(t => OnTerminated(t.ActorRef));
        Receive<Start>(_ => Sender.Tell(new Started(_tenant)));
        Receive<CustodyOutcome>(OnCustody);
        Receive<AcquireCustody>(_ => Acquire());
        Receive<CheckpointTick>(_ => RecordProgress());
        Receive<Status.Failure>(_ => { });
        Receive<NotUsed>(_ => { });
        Receive<CheckpointsRecovered>(OnCheckpointsRecovered);
        Receive<ReplaysKnown>(r => ResumeReplays(r.Replays.Where(x => x.Stage != ReplayStage.Finished)));
        Receive<PauseSaga>(OnPauseSaga);
        Receive<ResumeSaga>(r =>
        {
            _paused.Remove(r.Saga);
            if (!_handingOff && _consuming && !_pumps.ContainsKey(r.Saga) && _services.Catalog.TryGet(r.Saga, out var saga)) StartPump(saga!, r.Tracker);
        });
        Receive<ITenantAdminRequest>(OnAdminRequest);
        Receive<HandOff>(_ => OnHandOff());
        Receive<PumpsStopped>(p =>
        {
            _inFlightFinished = p.Finished;
            RecordProgress(); // the last applied positions go with the tenant's state
            StopChildren();
        });
        Receive<SagaStopReport>(r =>
        {
            _outboxAtStop += r.OutboxPending;
            _sagasAtStop++;
        });
        Receive<ScheduleStopReport>(r => _scheduleAtStop = r);
        Receive<CheckpointStopReport>(r => _checkpointsAtStop = r.Checkpoints);
        Receive<Released>(r =>
        {
            var receipt = new TenantDrainReceipt(_tenant, r.AckFloors, _checkpointsAtStop, _outboxAtStop, _sagasAtStop, _scheduleAtStop?.TimersPending ?? 0,
                _scheduleAtStop?.NextDue, _inFlightFinished, r.Detail);
            Context.System.EventStream.Publish(receipt);
            RunnerMetrics.Handoffs.Add(1, new KeyValuePair<string, object?>("tenant", _tenant));
            if (receipt.Complete)
                _log.Info("Tenant {0} handed off: {1}", _tenant, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"acked [{Describe(receipt.LastAcked)}], checkpoints [{Describe(receipt.Checkpoints)}], outbox pending 0, {receipt.SagasStopped} instance(s) stopped, {receipt.TimersPending} timer(s) pending (next {receipt.NextTimerDue:O}); custody: {r.Detail}"));
            else
                _log.Error("Tenant {0} handed off INCOMPLETE: {1}", _tenant, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"outbox pending {receipt.OutboxPending}, in-flight events finished: {receipt.InFlightFinished}; acked [{Describe(receipt.LastAcked)}]; custody: {r.Detail}"));
            // Placed tenants start without waiting for a message: this start waits in the region while the hand-off
            // completes and then goes wherever the tenant is allocated next.
            // (Not while the node shuts down: the region would hold the start until its graceful stop times out.)
            if (CoordinatedShutdown.Get(Context.System).ShutdownReason is null)
                Context.System.ActorSelection(RegionPath).Tell(new TenantEnvelope(_tenant, Start.Instance));
            Context.Stop(Self);
        });
        Receive<GetTenantView>(_ => Sender.Tell(new TenantView(_tenant, Context.GetChildren().Count(c => c.Path.Name.StartsWith("s-", StringComparison.Ordinal)),
            _pumps.Count, _status)));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Props for a tenant.</summary>
    public static Props Props(string tenant, TenantServices services) => Akka.Actor.Props.Create(() => new TenantActor(tenant, services));

    /// <inheritdoc />
    protected override void PreStart() => Acquire();

    private void Acquire()
    {
        _acquiring = true;
        // Nothing runs before this node holds the tenant's state (it may be brought over from the previous owner).
        var timeout = _services.CustodyTimeout;
        var self = Self;
        _services.Custody.AcquireAsync(_tenant, CancellationToken.None).WaitAsync(timeout)
            .ContinueWith(t => new CustodyOutcome(t.IsCompletedSuccessfully ? t.Result : null, t.Exception?.GetBaseException()), TaskScheduler.Default)
            .PipeTo(self);
    }

    private void OnCustody(CustodyOutcome outcome)
    {
        if (_running || _handingOff) return;
        _acquiring = false;
        if (outcome.Decision is { Granted: true } granted)
        {
            _log.Info("Tenant {0} runs on this node ({1})", _tenant, granted.Detail);
            Run();
            // Held messages go first, in their order, ahead of anything that arrived since.
            Stash.UnstashAll();
            return;
        }

        _status = outcome.Decision is { } refused ? "not running: " + refused.Detail : "custody check failed: " + outcome.Error?.Message;
        var dropped = Stash.ClearStash().ToList();
        if (dropped.Count > 0) _log.Warning("Tenant {0} does not run here; {1} held message(s) dropped", _tenant, dropped.Count);
        foreach (var envelope in dropped.Where(e => e.Message is ITenantAdminRequest))
            envelope.Sender.Tell(AdminRefusal.Conflict($"tenant {_tenant} is {_status}"));

        if (outcome.Error is { } e) _log.Warning(e, "Tenant {0}: custody check failed; asking again in {1}", _tenant, _services.CustodyRetry);
        else _log.Warning("Tenant {0} is not run here: {1}; asking again in {2}", _tenant, outcome.Decision!.Detail, _services.CustodyRetry);
        Timers.StartSingleTimer("custody", AcquireCustody.Instance, _services.CustodyRetry);
    }

    private void Run()
    {
        _running = true;
        _status = "running";
        var node = _services.Nats?.Settings.NodeId ?? "";
        _checkpoints = Context.Watch(Context.ActorOf(Akka.Actor.Props.Create(() => new CheckpointActor(_tenant, node, _checkpointCache, _services.Runtime.ReplaysKept, _services.Runtime.DryRunRetention)), "checkpoints"));
        _scheduleIndex = Context.Watch(Context.ActorOf(
            Akka.Actor.Props.Create(() => new ScheduleIndexActor(_tenant, _services.Runtime, _services.Clock)), "schedule"));
        _publisher = Context.Watch(Context.ActorOf(
            Akka.Actor.Props.Create(() => new OutboxPublisher(_tenant, _services.Transport, _services.PublishParallelism)), "outbox"));

        // Consumers start once the checkpoints are recovered (CheckpointsRecovered), so a recreated consumer starts after them.
    }

    private void OnHandOff()
    {
        // Stop pulling; events already pulled finish (persisted, commands acknowledged, NATS message acked),
        // then the tenant stops. Routing keeps working meanwhile for those in-flight events.
        if (_handingOff) return;
        _handingOff = true;
        _status = "handing off";
        Timers.Cancel("custody");
        if (!_running)
        {
            // Never ran here: nothing to finish and no custody to release.
            Context.Stop(Self);
            return;
        }

        foreach (var pump in _pumps.Values) pump.Stop();
        var timeout = (_services.Nats?.Settings.ProcessingTimeout ?? TimeSpan.FromSeconds(10)) * 2;
        var all = Task.WhenAll(_pumpCompletions);
        Task.WhenAny(all, Task.Delay(timeout))
            .ContinueWith(t => new PumpsStopped(t.Result == all), TaskScheduler.Default)
            .PipeTo(Self);
    }

    private void OnCheckpointsRecovered(CheckpointsRecovered recovered)
    {
        if (_handingOff || _consuming || _services.Nats is not { } nats) return;
        _consuming = true;
        // A saga with a replay in progress stays paused until its replay, resumed here, lets it consume again.
        foreach (var replay in recovered.ActiveReplays) _paused.Add(replay.Saga);
        foreach (var saga in _services.Catalog.All.Where(s => !_paused.Contains(s.Name))) StartPump(saga, null);
        ResumeReplays(recovered.ActiveReplays);
        _log.Info("Tenant {0} consuming for sagas [{1}]{2}", _tenant, string.Join(", ", _pumps.Keys.Order(StringComparer.Ordinal)),
            _paused.Count == 0 ? "" : $"; paused for a replay: [{string.Join(", ", _paused.Order(StringComparer.Ordinal))}]");
        Timers.StartPeriodicTimer("checkpoints", CheckpointTick.Instance, nats.Settings.CheckpointInterval);
    }

    private void StartPump(ISagaDefinition saga, ReplayTracker? tracker)
    {
        _materializer ??= Context.Materializer();
        var pump = new EventPump(_tenant, saga, _services, _services.Nats!, Self, _log, tracker).Run(_materializer, _checkpointCache);
        var completion = pump.Completion;
        _pumps[saga.Name] = pump;
        _checkpointed[saga.Name] = _checkpointCache.Get(saga.Name) ?? 0;
        RunnerMetrics.Track(pump.Progress);
        // Consumers stopped by replays are done; a hand-off waits only for the ones that may still run.
        _pumpCompletions.RemoveAll(t => t.IsCompleted);
        _pumpCompletions.Add(completion);
        var sagaName = saga.Name;
        var log = _log;
        var tenant = _tenant;
        completion.ContinueWith(t =>
        {
            if (t.IsFaulted) log.Error(t.Exception, "Consumer of {0}/{1} stopped with an error", tenant, sagaName);
        }, TaskScheduler.Default);
    }

    private void OnPauseSaga(PauseSaga pause)
    {
        _paused.Add(pause.Saga);
        if (!_pumps.Remove(pause.Saga, out var pump))
        {
            Sender.Tell(new SagaPaused(pause.Saga, true));
            return;
        }

        // The replay owns the saga's checkpoint now: this consumption's position is not written any more.
        RunnerMetrics.Untrack(pump.Progress);

        // Its in-flight events finish (persisted, commands acknowledged, acked) before the consumer counts as stopped.
        pump.Stop();
        var timeout = (_services.Nats?.Settings.ProcessingTimeout ?? TimeSpan.FromSeconds(10)) * 2;
        var saga = pause.Saga;
        Task.WhenAny(pump.Completion, Task.Delay(timeout)).ContinueWith(t => new SagaPaused(saga, t.Result == pump.Completion), TaskScheduler.Default)
            .PipeTo(Sender);
    }

    private void ResumeReplays(IEnumerable<ReplayRecord> active)
    {
        if (_handingOff || !_running || _services.Nats is not { } nats) return;
        foreach (var record in active)
        {
            if (!Context.Child(ReplayActor.ChildName(record.Id)).IsNobody()) continue;
            if (!_services.Catalog.TryGet(record.Saga, out var saga))
            {
                _log.Error("Tenant {0}: replay {1} of saga {2} cannot resume: this node does not run that saga", _tenant, record.Id, record.Saga);
                continue;
            }

            _paused.Add(record.Saga);
            Context.Watch(Context.ActorOf(ReplayActor.Resume(_tenant, saga!, _services, nats, _checkpoints, record), ReplayActor.ChildName(record.Id)));
        }
    }

    /// <summary>While custody is being acquired, holds the current message until the tenant runs here (or is refused).</summary>
    private bool HeldWhileAcquiring()
    {
        if (_running || _handingOff || !_acquiring) return false;
        Stash.Stash();
        return true;
    }

    private void OnAdminRequest(ITenantAdminRequest request)
    {
        if (HeldWhileAcquiring()) return;

        if (!_running || _handingOff)
        {
            Sender.Tell(AdminRefusal.Conflict($"tenant {_tenant} is {_status} on this node; ask again once it runs"));
            return;
        }

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
        if (_services.Nats is not { } nats)
        {
            Sender.Tell(AdminRefusal.Unavailable("this node does not consume from NATS"));
            return;
        }

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
            ? DryRunActor.New(_tenant, saga, _services, nats, id, start, Sender)
            : ReplayActor.New(_tenant, saga, _services, nats, _checkpoints, id, start, Sender), ReplayActor.ChildName(id));
        if (!start.DryRun) Context.Watch(replay);
    }

    private AdminRefusal UnknownSaga(string saga) =>
        AdminRefusal.NotFound($"no saga named '{saga}' runs here (sagas: {string.Join(", ", _services.Catalog.All.Select(s => s.Name))})");

    /// <inheritdoc />
    protected override void PostStop()
    {
        foreach (var pump in _pumps.Values)
        {
            pump.Stop();
            RunnerMetrics.Untrack(pump.Progress);
        }

        _pumps.Clear();
        if (_running) _services.Custody.Stopped(_tenant);
        base.PostStop();
    }

    private void Route(ISagaMessage message)
    {
        if (HeldWhileAcquiring()) return;

        if (!_running || _releasing || _releaseRequested)
        {
            // Not (or no longer) running here: timers and stragglers find the tenant where it runs next.
            _log.Debug("Tenant {0} is {1}; {2} for {3}/{4} not delivered", _tenant, _status, message.GetType().Name, message.Saga, message.CorrelationId);
            return;
        }

        var name = ChildName(message.Saga, message.CorrelationId);
        if (_passivating.TryGetValue(name, out var buffer))
        {
            buffer.Add((message, Sender));
            return;
        }

        var child = Context.Child(name);
        if (child.IsNobody())
        {
            if (!_services.Catalog.TryGet(message.Saga, out var saga))
            {
                _log.Warning("Tenant {0} has no saga named {1}; dropping {2}", _tenant, message.Saga, message.GetType().Name);
                if (message is DeliverEvent) Sender.Tell(new HandlerFailed($"unknown saga '{message.Saga}'"));
                return;
            }

            child = Context.Watch(Context.ActorOf(
                SagaActor.Props(_tenant, saga!, message.CorrelationId, _services.Runtime, _publisher, _scheduleIndex, _services.Clock), name));
        }

        child.Forward(message);
    }

    private void OnPassivate(IActorRef child)
    {
        if (_passivating.ContainsKey(child.Path.Name)) return;
        _passivating[child.Path.Name] = [];
        Context.Stop(child);
    }

    private void StopChildren()
    {
        // Every persistent child stops before custody is released, so the state handed on is complete.
        Timers.Cancel("checkpoints");
        _releasing = true;
        foreach (var child in Context.GetChildren())
        {
            // Every child, the stream actors of the consumers included, so that the last one's Terminated arrives.
            // Persistent children report what they leave behind and stop themselves (the report arrives first).
            Context.Watch(child);
            if (child.Path.Name.StartsWith("s-", StringComparison.Ordinal) || child.Equals(_scheduleIndex) || child.Equals(_checkpoints))
                child.Tell(ReportAndStop.Instance);
            else Context.Stop(child);
        }

        MaybeRelease();
    }

    private void MaybeRelease()
    {
        if (!_releasing || _releaseRequested || Context.GetChildren().Any()) return;
        _releaseRequested = true;
        var timeout = _services.CustodyTimeout;
        var tenant = _tenant;
        var nats = _services.Nats;
        var sagas = _services.Catalog.All.Select(s => s.Name).ToList();
        var custody = _services.Custody;
        ReleaseAsync().PipeTo(Self);

        async Task<Released> ReleaseAsync()
        {
            var floors = ImmutableDictionary.CreateBuilder<string, ulong>(StringComparer.Ordinal);
            if (nats is not null)
            {
                foreach (var saga in sagas)
                {
                    try
                    {
                        if (await nats.AckFloorAsync(tenant, saga, CancellationToken.None).ConfigureAwait(false) is { } floor) floors[saga] = floor;
                    }
                    catch (Exception)
                    {
                        // NATS unreachable: the receipt says nothing about that saga's ack floor.
                    }
                }
            }

            string detail;
            try
            {
                detail = await custody.ReleaseAsync(tenant, CancellationToken.None).WaitAsync(timeout).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                detail = "release failed, state kept on this node: " + e.GetBaseException().Message;
            }

            return new Released(detail, floors.ToImmutable());
        }
    }

    private void OnTerminated(IActorRef child)
    {
        if (!_handingOff && child.Path.Name.StartsWith("replay-", StringComparison.Ordinal))
        {
            // A replay that stopped before its end is resumed from its record (ReplaysKnown).
            _checkpoints.Tell(GetReplays.Instance);
            return;
        }

        if (_handingOff)
        {
            _passivating.Remove(child.Path.Name);
            MaybeRelease();
            return;
        }

        if (!_passivating.Remove(child.Path.Name, out var buffer) || buffer.Count == 0) return;
        // Messages arrived while the instance was stopping: start it again and hand them over in order.
        foreach (var (message, sender) in buffer) Self.Tell(message, sender);
    }

    /// <summary>
    /// Writes each consumption's applied position as its checkpoint when it moved (the checkpoint, not the consumer, is
    /// the truth a recreated consumer starts after), and warns about a consumption with events waiting, or no running
    /// consumer, whose position has not moved for longer than <c>runner.nats.consumer.stall-warning-after</c>.
    /// </summary>
    private void RecordProgress()
    {
        if (_services.Nats is not { } nats) return;
        var now = DateTime.UtcNow;
        foreach (var (saga, pump) in _pumps)
        {
            var floor = pump.Progress.Floor;
            if (floor > _checkpointed.GetValueOrDefault(saga))
            {
                _checkpointed[saga] = floor;
                _checkpoints.Tell(new CheckpointAdvanced(saga, floor));
            }

            var view = pump.Progress.View();
            if (view.SinceProgress < nats.Settings.StallWarningAfter)
            {
                if (_stallWarned.Remove(saga)) _log.Info("Tenant {0}, saga {1}: consuming again after a stall (applied up to stream seq {2})", _tenant, saga, floor);
                continue;
            }

            if (_stallWarned.TryGetValue(saga, out var warned) && now - warned < nats.Settings.StallWarningAfter) continue;
            _stallWarned[saga] = now;
            _log.Warning("Tenant {0}, saga {1} stalled: {2}", _tenant, saga, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"applied nothing for {view.SinceProgress.TotalSeconds:0}s with {view.Lag} event(s) waiting; consumer {view.Consumer} {(view.Running ? "running" : "not running")} ({view.Reason}); applied up to stream seq {floor}"));
        }
    }

    /// <summary>Path of the node's tenant shard region (sharding type <c>tenant</c>).</summary>
    public const string RegionPath = "/system/sharding/tenant";

    /// <summary>Child name of an instance: URL-escaped so any correlation id makes a valid actor name.</summary>
    internal static string ChildName(string saga, string correlationId) => "s-" + Uri.EscapeDataString(saga + "|" + correlationId);

    /// <summary>Starts the tenant (placement does this without waiting for a message); replied with <see cref="Started"/>.</summary>
    public sealed record Start
    {
        /// <summary>The instance.</summary>
        public static Start Instance { get; } = new();
    }

    /// <summary>
    /// Sharding's hand-off stop message: stop consuming, let in-flight events finish (applied, commands
    /// acknowledged, acked), then stop. A plain PoisonPill would drop them to redelivery instead.
    /// </summary>
    public sealed record HandOff
    {
        /// <summary>The instance.</summary>
        public static HandOff Instance { get; } = new();
    }

    /// <summary>Reply to <see cref="Start"/>.</summary>
    public sealed record Started(string Tenant);

    /// <summary>Asks for a summary; replied with <see cref="TenantView"/>.</summary>
    public sealed record GetTenantView
    {
        /// <summary>The instance.</summary>
        public static GetTenantView Instance { get; } = new();
    }

    /// <summary>A tenant's summary.</summary>
    /// <param name="Tenant">The tenant.</param>
    /// <param name="ActiveSagas">Saga instances in memory.</param>
    /// <param name="Consumers">Running consumers.</param>
    /// <param name="Status">running, acquiring custody, not running (and why), handing off.</param>
    public sealed record TenantView(string Tenant, int ActiveSagas, int Consumers, string Status);

    private sealed record CustodyOutcome(CustodyDecision? Decision, Exception? Error);

    private sealed record Released(string Detail, ImmutableDictionary<string, ulong> AckFloors);

    private static string Describe(ImmutableDictionary<string, ulong> bySaga) => string.Join(", ", bySaga.Select(kv => $"{kv.Key}={kv.Value}"));

    private sealed record AcquireCustody
    {
        public static AcquireCustody Instance { get; } = new();
    }

    private sealed record PumpsStopped(bool Finished);

    private sealed record CheckpointTick
    {
        public static CheckpointTick Instance { get; } = new();
    }
}
