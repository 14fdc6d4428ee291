using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Sagas;

namespace Runner.Actors;

/// <summary>
/// One tenant: owns its NATS consumption (one consumer stream per saga definition), its saga instances, its
/// schedule index, checkpoints and outbox publisher. It routes; it does not decide, persist or do I/O itself.
/// </summary>
public sealed class TenantActor : ReceiveActor, IWithTimers
{
    private readonly string _tenant;
    private readonly TenantServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _passivating = new(StringComparer.Ordinal);
    private readonly List<UniqueKillSwitch> _pumps = [];
    private readonly List<Task> _pumpCompletions = [];
    private bool _handingOff;
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
        Receive<CheckpointTick>(_ => SampleCheckpoints());
        Receive<CheckpointAdvanced>(c => _checkpoints.Forward(c));
        Receive<Status.Failure>(_ => { });
        Receive<NotUsed>(_ => { });
        Receive<StartPumps>(_ => OnStartPumps());
        Receive<HandOff>(_ => OnHandOff());
        Receive<PumpsStopped>(_ =>
        {
            _log.Info("Tenant {0} handed off: consumers stopped, in-flight events applied and acked", _tenant);
            Context.Stop(Self);
        });
        Receive<GetTenantView>(_ => Sender.Tell(new TenantView(_tenant, Context.GetChildren().Count(c => c.Path.Name.StartsWith("s-", StringComparison.Ordinal)),
            _pumps.Count)));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for a tenant.</summary>
    public static Props Props(string tenant, TenantServices services) => Akka.Actor.Props.Create(() => new TenantActor(tenant, services));

    /// <inheritdoc />
    protected override void PreStart()
    {
        _checkpoints = Context.ActorOf(Akka.Actor.Props.Create(() => new CheckpointActor(_tenant, _checkpointCache)), "checkpoints");
        _scheduleIndex = Context.ActorOf(Akka.Actor.Props.Create(() => new ScheduleIndexActor(_tenant, _services.Runtime, _services.Clock)), "schedule");
        _publisher = Context.ActorOf(
            Akka.Actor.Props.Create(() => new OutboxPublisher(_tenant, _services.Transport, _services.PublishParallelism)), "outbox");

        if (_services.Nats is { } nats)
        {
            // Consumers start once the checkpoints are recovered, so a recreated consumer starts after them.
            var self = Self;
            _checkpointCache.Recovered.ContinueWith(_ => self.Tell(StartPumps.Instance), TaskScheduler.Default);
        }
    }

    private void OnHandOff()
    {
        // Stop pulling; events already pulled finish (persisted, commands acknowledged, NATS message acked),
        // then the tenant stops. Routing keeps working meanwhile for those in-flight events.
        if (_handingOff) return;
        _handingOff = true;
        foreach (var pump in _pumps) pump.Shutdown();
        var timeout = (_services.Nats?.Settings.ProcessingTimeout ?? TimeSpan.FromSeconds(10)) * 2;
        Task.WhenAny(Task.WhenAll(_pumpCompletions), Task.Delay(timeout))
            .ContinueWith(_ => (object)PumpsStopped.Instance, TaskScheduler.Default)
            .PipeTo(Self);
    }

    private void OnStartPumps()
    {
        if (_handingOff || _pumps.Count > 0 || _services.Nats is not { } nats) return;
        var materializer = Context.Materializer();
        foreach (var saga in _services.Catalog.All)
        {
            var (killSwitch, completion) = new EventPump(_tenant, saga, _services, nats, Self, _log).Run(materializer, _checkpointCache);
            _pumps.Add(killSwitch);
            _pumpCompletions.Add(completion);
            var sagaName = saga.Name;
            var log = _log;
            var tenant = _tenant;
            completion.ContinueWith(t =>
            {
                if (t.IsFaulted) log.Error(t.Exception, "Consumer of {0}/{1} stopped with an error", tenant, sagaName);
            }, TaskScheduler.Default);
        }

        _log.Info("Tenant {0} consuming for sagas [{1}]", _tenant, string.Join(", ", _services.Catalog.All.Select(s => s.Name)));
        Timers.StartPeriodicTimer("checkpoints", CheckpointTick.Instance, nats.Settings.CheckpointInterval);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        foreach (var pump in _pumps) pump.Shutdown();
        _pumps.Clear();
        base.PostStop();
    }

    private void Route(ISagaMessage message)
    {
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

    private void OnTerminated(IActorRef child)
    {
        if (!_passivating.Remove(child.Path.Name, out var buffer) || buffer.Count == 0) return;
        // Messages arrived while the instance was stopping: start it again and hand them over in order.
        foreach (var (message, sender) in buffer) Self.Tell(message, sender);
    }

    private void SampleCheckpoints()
    {
        if (_services.Nats is not { } nats) return;
        foreach (var saga in _services.Catalog.All)
        {
            var name = saga.Name;
            nats.AckFloorAsync(_tenant, name, CancellationToken.None).PipeTo(Self,
                success: floor => floor is > 0 ? new CheckpointAdvanced(name, floor.Value) : (object)NotUsed.Instance,
                failure: e => new Status.Failure(e));
        }
    }

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
    public sealed record TenantView(string Tenant, int ActiveSagas, int Consumers);

    private sealed record StartPumps
    {
        public static StartPumps Instance { get; } = new();
    }

    private sealed record PumpsStopped
    {
        public static PumpsStopped Instance { get; } = new();
    }

    private sealed record CheckpointTick
    {
        public static CheckpointTick Instance { get; } = new();
    }
}
