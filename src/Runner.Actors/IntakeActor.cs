using System.Collections.Immutable;
using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Runner.Actors.Protocol;
using Runner.Nats;
using Runner.Placement;
using Runner.Sagas;

namespace Runner.Actors;

/// <summary>
/// The node's intake guard. It starts the tenants this node is told about (allowlist), and, when discovery is on,
/// the tenants that have events or consumers in JetStream. It reads the subjects (headers only) of every event
/// through one shared durable consumer: a subject whose tenant token is not a valid tenant id never reaches a
/// saga; it is parked on <c>&lt;prefix&gt;.dlq._invalid.intake</c> with the reason, logged and counted.
/// </summary>
public sealed class IntakeActor : ReceiveActor, IWithTimers
{
    /// <summary>Durable name of the intake consumer.</summary>
    public const string ConsumerName = "runner-intake";

    /// <summary>Dead-letter "tenant" token for subjects with an invalid tenant (itself not a valid tenant id).</summary>
    public const string InvalidTenantToken = "_invalid";

    private readonly NatsEdge _nats;
    private readonly IActorRef _tenants;
    private readonly bool _discover;
    private readonly HashSet<string> _started = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TimeSpan _keepAlive;
    private readonly RuntimeSettings _runtime;
    private readonly IActorRef? _placementView;
    private bool _followPlacement => _placementView is not null;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reportedUnplaced = new(StringComparer.Ordinal);
    private PlacementSnapshot? _placement;
    private UniqueKillSwitch? _killSwitch;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Creates the intake.</summary>
    /// <param name="nats">The NATS edge.</param>
    /// <param name="tenants">The tenant shard region.</param>
    /// <param name="allowlist">Tenants this node's allowlist names.</param>
    /// <param name="discover">Whether tenants seen in the stream are started.</param>
    /// <param name="keepAlive">Interval of the idempotent re-start of every known tenant.</param>
    /// <param name="runtime">The runtime's settings (the intake's ack batching).</param>
    /// <param name="placementView">
    /// The node's <see cref="PlacementView"/>: start only tenants that placement puts on a member that is up, including
    /// every tenant placement names, and report the others. Null = start every known tenant.
    /// </param>
    public IntakeActor(NatsEdge nats, IActorRef tenants, IReadOnlyCollection<string> allowlist, bool discover, TimeSpan keepAlive,
        RuntimeSettings runtime, IActorRef? placementView = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _runtime = runtime;
        _nats = nats;
        _tenants = tenants;
        _discover = discover;
        _keepAlive = keepAlive;
        _placementView = placementView;
        Receive<KeepAlive>(_ =>
        {
            _placementView?.Tell(PlacementView.GetPlacement.Instance);
            foreach (var t in _known.ToArray()) StartTenant(t);
        });
        // A member removed (downed, or left) takes its tenants' shards with it: the coordinator allocates them again only
        // when they are asked for, so every known tenant is started again shortly after, not at the next keep-alive.
        Receive<ClusterEvent.MemberRemoved>(_ =>
        {
            Timers.StartSingleTimer("after-removal", KeepAlive.Instance, TimeSpan.FromMilliseconds(500));
            Timers.StartSingleTimer("after-removal-again", KeepAlive.Instance, TimeSpan.FromSeconds(2));
        });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<PlacementView.PlacementChanged>(c => OnPlacement(c.Snapshot));
        Receive<PlacementSnapshot>(OnPlacement);
        foreach (var t in allowlist) StartTenant(t);
        Receive<SeenTenants>(s =>
        {
            foreach (var t in s.Tenants)
            {
                if (!_known.Contains(t)) StartTenant(t);
            }
        });
        // Replies to the (idempotent) starts and keep-alives: the tenant is running; nothing to do.
        Receive<TenantActor.Started>(_ => { });
        Receive<GetStartedTenants>(_ => Sender.Tell(_started.Order(StringComparer.Ordinal).ToImmutableArray()));
        Receive<GetKnownTenants>(_ => Sender.Tell(new KnownTenants(_known.Order(StringComparer.Ordinal).ToImmutableArray(),
            _started.ToImmutableHashSet(StringComparer.Ordinal))));
        Receive<Status.Failure>(f => _log.Warning(f.Cause, "Listing existing consumers failed"));
    }

    /// <summary>Props.</summary>
    public static Props Props(NatsEdge nats, IActorRef tenants, IReadOnlyCollection<string> allowlist, bool discover, TimeSpan keepAlive,
        RuntimeSettings runtime, IActorRef? placementView = null) =>
        Akka.Actor.Props.Create(() => new IntakeActor(nats, tenants, allowlist, discover, keepAlive, runtime, placementView));

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_placementView is { } view)
        {
            Context.System.EventStream.Subscribe(Self, typeof(PlacementView.PlacementChanged));
            view.Tell(PlacementView.GetPlacement.Instance);
        }
        if (_keepAlive > TimeSpan.Zero) Timers.StartPeriodicTimer("keep-alive", KeepAlive.Instance, _keepAlive);
        if (((ExtendedActorSystem)Context.System).Provider is ClusterActorRefProvider)
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.MemberRemoved));
        if (_discover) ExistingTenants().PipeTo(Self, success: t => new SeenTenants(t));

        var self = Self;
        var settings = _nats.Settings;
        _killSwitch = RestartSource.WithBackoff(() => Source.From(() => Consume()),
                RestartSettings.Create(settings.MinBackoff, settings.MaxBackoff, 0.2))
            .ViaMaterialized(KillSwitches.Single<INatsJSMsg<byte[]>>(), Keep.Right)
            .SelectAsync(4, async msg =>
            {
                await Inspect(msg, self).ConfigureAwait(false);
                return msg;
            })
            .GroupedWithin(_runtime.IntakeAckBatch, _runtime.IntakeAckWithin)
            .SelectAsync(1, async batch =>
            {
                // AckPolicy.All: acking the last message acks the batch.
                try
                {
                    await batch.Last().AckAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Redelivered later; inspection is idempotent.
                }

                return NotUsed.Instance;
            })
            .ToMaterialized(Sink.Ignore<NotUsed>(), Keep.Left)
            .Run(Context.Materializer());
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _killSwitch?.Shutdown();
        base.PostStop();
    }

    private void OnPlacement(PlacementSnapshot snapshot)
    {
        _placement = snapshot;
        foreach (var t in snapshot.NamedTenants) _known.Add(t);
        foreach (var t in _known.ToArray()) StartTenant(t);
    }

    /// <summary>Tells the region to start the tenant (idempotent) if placement lets it run; reports it once if not.</summary>
    private void StartTenant(string tenant)
    {
        _known.Add(tenant);
        // A node that shuts down starts nothing: the region would hold the start until its graceful stop times out, and
        // placement without this node says nothing about where the tenant goes next.
        if (CoordinatedShutdown.Get(Context.System).ShutdownReason is not null) return;
        if (_followPlacement)
        {
            var decision = _placement?.Resolve(tenant);
            if (decision is not { CanRun: true })
            {
                // Not sent to the region, so no allocation is attempted; started once placement allows it.
                _started.Remove(tenant);
                if (decision is not null && _placement!.BucketReady && _reportedUnplaced.Add(tenant)) _log.Warning("Not starting: {0}", decision.Describe());
                RunnerMetrics.SetUnplaced(_reportedUnplaced.Count);
                return;
            }

            if (_reportedUnplaced.Remove(tenant)) _log.Info("Tenant {0} is placed again: {1}", tenant, decision.Describe());
            RunnerMetrics.SetUnplaced(_reportedUnplaced.Count);
        }

        if (_started.Add(tenant)) _log.Info("Starting tenant {0}", tenant);
        _tenants.Tell(new TenantEnvelope(tenant, TenantActor.Start.Instance));
    }

    private async IAsyncEnumerable<INatsJSMsg<byte[]>> Consume()
    {
        var js = _nats.JetStream;
        INatsJSConsumer consumer;
        try
        {
            consumer = await js.GetConsumerAsync(_nats.Settings.EventsStream, ConsumerName).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            consumer = await js.CreateOrUpdateConsumerAsync(_nats.Settings.EventsStream, new ConsumerConfig(ConsumerName)
            {
                FilterSubject = _nats.Settings.Subjects.AllEvents,
                AckPolicy = ConsumerConfigAckPolicy.All,
                AckWait = _nats.Settings.AckWait,
                HeadersOnly = true,
                DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                Description = "runner intake guard: tenant discovery and invalid tenant ids",
            }).ConfigureAwait(false);
        }

        // A reconnect ends this run (the server may have forgotten the pull requests); the source restarts it at once.
        var opts = new NatsJSConsumeOpts { MaxMsgs = 1000 };
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: opts, cancellationToken: _nats.NextReconnect).ConfigureAwait(false))
            yield return msg;
    }

    private async Task Inspect(INatsJSMsg<byte[]> msg, IActorRef self)
    {
        var subjects = _nats.Settings.Subjects;
        if (!subjects.TryParseEvent(msg.Subject, out var tenant, out _))
        {
            await Park(msg, "subject is not <prefix>.evt.<tenant>.<EventType>").ConfigureAwait(false);
            return;
        }

        if (!TenantId.IsValid(tenant))
        {
            await Park(msg, $"tenant id '{tenant}' does not match {TenantId.Pattern}").ConfigureAwait(false);
            return;
        }

        if (_discover) self.Tell(new SeenTenants([tenant]));
    }

    private async Task Park(INatsJSMsg<byte[]> msg, string reason)
    {
        var seq = msg.Metadata?.Sequence.Stream ?? 0;
        RunnerMetrics.InvalidTenants.Add(1);
        _log.Warning("Event {0} (seq {1}) refused at intake: {2}", msg.Subject, seq, reason);
        byte[] payload = [];
        try
        {
            // Headers-only delivery: fetch the body for the dead letter.
            var stored = await _nats.JetStream.JSRequestResponseAsync<StreamMsgGetRequest, StreamMsgGetResponse>(
                $"{_nats.JetStream.Opts.Prefix}.STREAM.MSG.GET.{_nats.Settings.EventsStream}", new StreamMsgGetRequest { Seq = seq }).ConfigureAwait(false);
            if (stored.Message?.Data is { } data) payload = data.ToArray();
        }
        catch (Exception e)
        {
            _log.Warning("Could not read the body of seq {0} for the dead letter: {1}", seq, e.Message);
        }

        await _nats.PublishDeadLetterAsync(InvalidTenantToken, "intake", "InvalidTenant", reason, msg.Subject, seq, payload, null,
            CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<ImmutableArray<string>> ExistingTenants()
    {
        var prefix = _nats.Settings.Subjects.Prefix + ".evt.";
        var tenants = ImmutableArray.CreateBuilder<string>();
        await foreach (var c in _nats.JetStream.ListConsumersAsync(_nats.Settings.EventsStream).ConfigureAwait(false))
        {
            var filter = c.Info.Config.FilterSubject;
            // Only tenant consumers: <prefix>.evt.<tenant>.> (the intake's own filter is <prefix>.evt.>).
            if (filter is null || filter.Length <= prefix.Length + 2 || !filter.StartsWith(prefix, StringComparison.Ordinal)
                || !filter.EndsWith(".>", StringComparison.Ordinal)) continue;
            var tenant = filter[prefix.Length..^2];
            if (TenantId.IsValid(tenant)) tenants.Add(tenant);
        }

        return tenants.ToImmutable();
    }

    private sealed record SeenTenants(ImmutableArray<string> Tenants);

    private sealed record KeepAlive
    {
        public static KeepAlive Instance { get; } = new();
    }

    /// <summary>Lists every tenant this intake knows (allowlist, placement, discovery); replied with <see cref="KnownTenants"/>.</summary>
    public sealed record GetKnownTenants
    {
        /// <summary>The instance.</summary>
        public static GetKnownTenants Instance { get; } = new();
    }

    /// <summary>Reply to <see cref="GetKnownTenants"/>.</summary>
    /// <param name="Tenants">Every known tenant.</param>
    /// <param name="Started">Those told to start (placement lets them run).</param>
    public sealed record KnownTenants(ImmutableArray<string> Tenants, ImmutableHashSet<string> Started);

    /// <summary>Lists the tenants this intake started; replied with an immutable array.</summary>
    public sealed record GetStartedTenants
    {
        /// <summary>The instance.</summary>
        public static GetStartedTenants Instance { get; } = new();
    }
}
