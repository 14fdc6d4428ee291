using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using NATS.Client.JetStream;
using Runner.Actors.Protocol;
using Runner.Nats;
using Runner.Sagas;

namespace Runner.Actors.Internal;

/// <summary>
/// The consumption of one (tenant, saga), which keeps the events of each saga instance in stream order, each applied
/// once:
/// <list type="bullet">
/// <item>every (re)start of the JetStream consumer begins at its first unapplied event
/// (<see cref="ITenantEventSource.ConsumeInOrderAsync"/>), so events delivered before a crash, a drain or a reconnect and never
/// acked come back before newer ones, not after AckWait;</item>
/// <item>within a run, an event goes to its instance only once the instance's previous event is resolved (applied,
/// a duplicate, parked); an event that was not applied (storage error, timeout) is tried again in place with backoff,
/// its message kept alive, while later events of that instance wait and other instances go on;</item>
/// <item>an event left unresolved (the consumption stops, or acking it failed) holds back every later event of its
/// instance that arrives in the same run, even after its own chain has ended: they stay unacked and come back after it;</item>
/// <item>nothing is nak'ed: an event left unacked when the consumption stops is the first one delivered again.</item>
/// </list>
/// Unparseable events and those no saga handles are parked on the dead-letter subject and acked, as are events the
/// saga does not accept in the instance's state and events for a completed instance (outside a replay, which counts
/// them instead).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Cancelled by PumpHandle.Stop; the stream may observe the token after that, so it is not disposed.")]
internal sealed class EventPump
{
    /// <summary>Dead-letter saga token for events no saga handles (not a valid saga name, so it never collides).</summary>
    public const string UnroutedToken = "_unrouted";

    /// <summary>Dead-letter kind of an event the saga does not accept in its instance's state.</summary>
    public const string UnexpectedKind = "UnexpectedEvent";

    /// <summary>Dead-letter kind of an event for a completed instance.</summary>
    public const string AfterCompletionKind = "AfterCompletion";

    private static readonly Task<bool> Resolved = Task.FromResult(true);

    private readonly string _tenant;
    private readonly ISagaDefinition _saga;
    private readonly TenantServices _services;
    private readonly ITenantEventSource _nats;
    private readonly IActorRef _tenantActor;
    private readonly ILoggingAdapter _log;
    private readonly bool _reportsUnknownTypes;
    private readonly ReplayTracker? _tracker;
    private readonly object _gate = new();
    private readonly Dictionary<string, Task<bool>> _tails = new(StringComparer.Ordinal);

    // Per instance, the stream sequence of its earliest event left unresolved in this run once its chain ended.
    private readonly Dictionary<string, ulong> _held = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly OutcomeReplies _replies;
    private DateTime _lastParkLog = DateTime.MinValue;
    private long _parkedUnlogged;

    public EventPump(string tenant, ISagaDefinition saga, TenantServices services, ITenantEventSource nats, IActorRef tenantActor, ILoggingAdapter log,
        ReplayTracker? tracker = null)
    {
        _tracker = tracker;
        _tenant = tenant;
        Progress = new ConsumptionProgress(tenant, saga.Name, TimeProvider.System);
        _saga = saga;
        _services = services;
        _nats = nats;
        _tenantActor = tenantActor;
        _log = log;
        _replies = new OutcomeReplies(((IInternalActorRef)tenantActor).Provider, nats.Settings.ProcessingTimeout);
        // Every saga consumer sees every event of its tenant; exactly one of them parks unknown event types.
        _reportsUnknownTypes = string.Equals(services.Catalog.All.Select(s => s.Name).Min(StringComparer.Ordinal), saga.Name, StringComparison.Ordinal);
    }

    /// <summary>Where this consumption stands (applied position, lag, running, last progress).</summary>
    public ConsumptionProgress Progress { get; }

    /// <summary>Whether an event of the instance is being applied or waits for its predecessor (for specs).</summary>
    internal bool InChain(string correlationId)
    {
        lock (_gate) return _tails.ContainsKey(correlationId);
    }

    /// <summary>
    /// Starts the consumption. Every (re)start of its consumer asks <paramref name="checkpoints"/> (the tenant's
    /// <see cref="CheckpointActor"/>) for the saga's durable checkpoint.
    /// </summary>
    public PumpHandle Run(IMaterializer materializer, IActorRef checkpoints)
    {
        var settings = _nats.Settings;
        var saga = _saga.Name;
        async Task<ulong?> CheckpointAsync(CancellationToken ct)
        {
            var all = await checkpoints.Ask<System.Collections.Immutable.ImmutableDictionary<string, ulong>>(CheckpointActor.GetCheckpoints.Instance,
                settings.ProcessingTimeout, ct).ConfigureAwait(false);
            return all.TryGetValue(saga, out var seq) ? seq : null;
        }

        // The consumption restarts by itself (errors, reconnects); the restart source is the net for anything it lets through.
        var (killSwitch, completion) = RestartSource.WithBackoff(
                () => Source.From(() => _nats.ConsumeInOrderAsync(_tenant, _saga.Name, CheckpointAsync, OnStarted, _stopping.Token,
                    OnInterrupted)),
                RestartSettings.Create(settings.MinBackoff, settings.MaxBackoff, 0.2))
            .ViaMaterialized(KillSwitches.Single<INatsJSMsg<byte[]>>(), Keep.Right)
            .SelectAsyncUnordered(_nats.Settings.Parallelism, Process)
            .ToMaterialized(Sink.Ignore<NotUsed>(), Keep.Both)
            .Run(materializer);
        // Every event has its answer once the stream is done (in-flight ones finish before it completes).
        completion.ContinueWith(_ => _replies.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new PumpHandle(killSwitch, completion, _stopping, Progress);
    }

    private void OnInterrupted(string reason)
    {
        Progress.Interrupted(reason);
        RunnerMetrics.ConsumersRestarted.Add(1, Tags());
    }

    private void OnStarted(ConsumerStart start)
    {
        Progress.Started(start.Consumer, start.StartSeq, start.Reason);
        if (!start.Rewound) return;
        RunnerMetrics.ConsumersRewound.Add(1, Tags());
        _log.Info("Tenant {0}, saga {1}: consumption restarts at stream seq {2} ({3}); {4} unacked event(s) come back first, in order", _tenant,
            _saga.Name, start.StartSeq, start.Reason, start.AckPending);
    }

    private async Task<NotUsed> Process(INatsJSMsg<byte[]> msg)
    {
        var seq = msg.Metadata?.Sequence.Stream ?? 0;
        Progress.Delivered(seq, msg.Metadata?.NumPending ?? 0);
        using var span = RunnerTracing.StartConsume(_tenant, _saga.Name, msg.Subject, seq, RunnerTracing.TraceParentOf(msg.Headers));
        try
        {
            if (await Handle(msg).ConfigureAwait(false)) Progress.Finished(seq);
        }
        catch (Exception e)
        {
            // Never fail the stream for one message, and never nak: the message stays unacked and is the first one
            // delivered when the consumer restarts (or after AckWait).
            _log.Warning(e, "Event {0} of {1}/{2} not processed; left unacked", msg.Subject, _tenant, _saga.Name);
        }

        return NotUsed.Instance;
    }

    /// <summary>Handles one event; true when it is finished (applied or parked, and acked), false when it is left unacked.</summary>
    /// <remarks>Called in stream order; everything up to the instance's place in its chain runs before the first await.</remarks>
    private async Task<bool> Handle(INatsJSMsg<byte[]> msg)
    {
        var subjects = _nats.Settings.Subjects;
        if (!subjects.TryParseEvent(msg.Subject, out var tenant, out var eventType) || tenant != _tenant)
        {
            await msg.AckAsync().ConfigureAwait(false); // not ours (cannot happen with the filter)
            return true;
        }

        var seq = msg.Metadata?.Sequence.Stream ?? 0;
        var payload = msg.Data ?? [];
        // A redriven event goes back to the saga that parked it; the others had their turn with the original.
        if (!_saga.EventTypes.Contains(eventType) || RunnerHeaders.RedrivenForAnother(msg.Headers, _saga.Name))
        {
            if (_reportsUnknownTypes && !_services.Catalog.ForEventType(eventType).Any())
                await Park(msg, seq, payload, nameof(RejectionKind.UnknownEventType), $"no saga handles event type '{eventType}'", UnroutedToken)
                    .ConfigureAwait(false);
            await msg.AckAsync().ConfigureAwait(false);
            return true;
        }

        var incoming = ToIncoming(msg, tenant, eventType, _services.Clock.Now);
        var result = _saga.Parse(incoming);
        if (result is ParseResult.Rejected rejected)
        {
            await Park(msg, seq, payload, rejected.Kind.ToString(), rejected.Reason).ConfigureAwait(false);
            _tracker?.CountDeadLettered(seq);
            await msg.AckAsync().ConfigureAwait(false);
            return true;
        }

        var parsed = (ParseResult.Ok)result;
        // Take this event's place behind the instance's previous one (synchronously, so places follow stream order).
        var key = parsed.CorrelationId;
        var mine = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<bool>? previous = null;
        ulong heldAt;
        lock (_gate)
        {
            // Nothing new starts once the consumption stops: an event pulled meanwhile comes back first at the next start.
            if (_stopping.IsCancellationRequested) return false;
            // An earlier event of the instance was left unresolved and its chain is gone: a later one must not overtake it,
            // so it is left unacked too (it comes back, after the held one, at a restart or after AckWait). The held event
            // itself coming back (or one before it) lifts the hold: the instance goes on from there, in order.
            if (!_held.TryGetValue(key, out heldAt) || seq <= heldAt)
            {
                _held.Remove(key);
                previous = _tails.GetValueOrDefault(key) ?? Resolved;
                _tails[key] = mine.Task;
            }
        }

        if (previous is null)
        {
            RunnerMetrics.EventsHeld.Add(1, Tags());
            _log.Debug("Event seq {0} of {1}/{2} instance {3} held back behind its unresolved seq {4}; left unacked", seq, _tenant, _saga.Name, key, heldAt);
            return false;
        }

        var resolved = false;
        try
        {
            var waited = !previous.IsCompleted;
            if (waited) await KeepAliveWhile(previous, msg).ConfigureAwait(false);
            // A predecessor left unresolved (the consumption is stopping) holds this one back too: both come back, in order.
            // One that waited and finds the consumption stopping is not started: it comes back first at the next start.
            resolved = await previous.ConfigureAwait(false)
                       && !(waited && _stopping.IsCancellationRequested)
                       && await Apply(msg, seq, payload, new DeliverEvent(_saga.Name, key, incoming, parsed.Event,
                           RunnerTracing.Propagate(System.Diagnostics.Activity.Current, RunnerTracing.TraceParentOf(incoming.Headers)))).ConfigureAwait(false);
        }
        finally
        {
            mine.TrySetResult(resolved);
            lock (_gate)
            {
                if (_tails.TryGetValue(key, out var tail) && tail == mine.Task) _tails.Remove(key);
                // Left unresolved (stopping, or an error after the instance answered): later events of the instance that
                // arrive once this chain is gone are held back until this one comes back.
                if (!resolved) _held[key] = _held.TryGetValue(key, out var earlier) ? Math.Min(earlier, seq) : seq;
            }
        }

        return resolved;
    }

    /// <summary>
    /// Delivers the event to its instance until it is resolved, then finishes it (parks what must be parked) and acks it.
    /// False when the consumption stops first: the event stays unacked and is delivered again when the consumer restarts.
    /// </summary>
    private async Task<bool> Apply(INatsJSMsg<byte[]> msg, ulong seq, byte[] payload, DeliverEvent deliver)
    {
        var settings = _nats.Settings;
        var delay = settings.RetryBackoff;
        for (var attempt = 1; ; attempt++)
        {
            // Not an Ask: no temporary actor and no timer per event (the replies' one timer answers the overdue ones).
            var outcome = await _replies.Send(_tenantActor, deliver).ConfigureAwait(false);

            if (outcome is not NotApplied notApplied)
            {
                await Finish(msg, seq, payload, deliver.CorrelationId, outcome).ConfigureAwait(false);
                return true;
            }

            if (_stopping.IsCancellationRequested) return false;
            RunnerMetrics.EventsRetried.Add(1, Tags());
            if (attempt % 10 == 1)
            {
                _log.Warning("Event seq {0} of {1} not applied ({2}; attempt {3}); trying again in {4}, later events of the instance wait",
                    seq, $"{_tenant}/{_saga.Name} instance {deliver.CorrelationId}", notApplied.Reason, attempt, delay);
            }

            await TryAckProgress(msg).ConfigureAwait(false);
            try
            {
                await Task.Delay(delay, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            delay = TimeSpan.FromTicks(Math.Min(settings.MaxBackoff.Ticks, delay.Ticks * 2));
        }
    }

    private async Task Finish(INatsJSMsg<byte[]> msg, ulong seq, byte[] payload, string correlation, IEventOutcome outcome)
    {
        _tracker?.Count(seq, outcome);
        // Within a replay the saga meets events it has seen in other states; the replay counts them, nothing is parked.
        var replayed = _tracker is { } tracker && seq <= tracker.TargetSeq;
        switch (outcome)
        {
            case HandlerFailed failed:
                await Park(msg, seq, payload, "HandlerFailed", failed.Reason).ConfigureAwait(false);
                break;
            case NotAccepted notAccepted when !replayed:
                RunnerMetrics.EventsUnexpected.Add(1, Tags(UnexpectedKind));
                await Park(msg, seq, payload, UnexpectedKind, $"instance {correlation} of saga {_saga.Name} does not accept it: {notAccepted.Reason}")
                    .ConfigureAwait(false);
                break;
            case IgnoredCompleted when !replayed:
                RunnerMetrics.EventsUnexpected.Add(1, Tags(AfterCompletionKind));
                await Park(msg, seq, payload, AfterCompletionKind, $"instance {correlation} of saga {_saga.Name} is completed").ConfigureAwait(false);
                break;
            case Applied:
                RunnerMetrics.EventsApplied.Add(1, Tags());
                break;
            case Duplicate:
                RunnerMetrics.EventsDuplicate.Add(1, Tags());
                break;
        }

        await msg.AckAsync().ConfigureAwait(false);
    }

    /// <summary>Waits for <paramref name="work"/>, telling JetStream the message is in progress so that AckWait does not run out meanwhile.</summary>
    private async Task KeepAliveWhile(Task work, INatsJSMsg<byte[]> msg)
    {
        var every = _nats.Settings.AckWait / 3;
        while (await Task.WhenAny(work, Task.Delay(every)).ConfigureAwait(false) != work) await TryAckProgress(msg).ConfigureAwait(false);
    }

    private async Task TryAckProgress(INatsJSMsg<byte[]> msg)
    {
        try
        {
            await msg.AckProgressAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Not fatal: at worst JetStream delivers the message again after AckWait, and the copy waits its turn.
            _log.Debug("In-progress ack of {0} failed: {1}", msg.Subject, e.Message);
        }
    }

    /// <summary>A JetStream message as the saga library sees it (headers, <c>Nats-Msg-Id</c>, stream sequence, timestamp).</summary>
    internal static IncomingEvent ToIncoming(INatsJSMsg<byte[]> msg, string tenant, string eventType, DateTimeOffset now)
    {
        var headers = msg.Headers is null
            ? new Dictionary<string, string>()
            : msg.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        headers.TryGetValue(RunnerHeaders.MsgId, out var msgId);
        return new IncomingEvent(tenant, eventType, msg.Data ?? [], headers, msgId ?? string.Empty, msg.Metadata?.Sequence.Stream ?? 0,
            msg.Metadata?.Timestamp ?? now);
    }

    private async Task Park(INatsJSMsg<byte[]> msg, ulong seq, byte[] payload, string kind, string reason, string? sagaToken = null)
    {
        var token = sagaToken ?? _saga.Name;
        // A flood of bad events must not become a flood of log lines: the first one, then one line per interval with how
        // many more were parked (each one is on the dead-letter subject with its reason, and counted).
        long more;
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            more = _parkedUnlogged;
            if (now - _lastParkLog < _services.Runtime.ParkLogInterval)
            {
                _parkedUnlogged++;
                more = -1;
            }
            else
            {
                _lastParkLog = now;
                _parkedUnlogged = 0;
            }
        }

        if (more >= 0)
        {
            _log.Warning("Parking event {0} of tenant {1} on the dead-letter subject {2} ({3}): {4}", $"{msg.Subject} (seq {seq})", _tenant, token, kind,
                more > 0 ? $"{reason} ({more} more event(s) of {_tenant}/{_saga.Name} parked since the last such line)" : reason);
        }

        await _services.Transport.PublishDeadLetterAsync(_tenant, token, kind, reason, msg.Subject, seq, payload, msg.Headers, CancellationToken.None)
            .ConfigureAwait(false);
        RunnerMetrics.EventsDeadLettered.Add(1, new KeyValuePair<string, object?>("tenant", _tenant), new KeyValuePair<string, object?>("saga", _saga.Name),
            new KeyValuePair<string, object?>("kind", kind));
    }

    private KeyValuePair<string, object?>[] Tags() =>
        [new("tenant", _tenant), new("saga", _saga.Name)];

    private KeyValuePair<string, object?>[] Tags(string kind) =>
        [new("tenant", _tenant), new("saga", _saga.Name), new("kind", kind)];
}

/// <summary>A running consumption: <see cref="Stop"/> ends it; <see cref="Completion"/> completes once its in-flight events are finished or left.</summary>
internal sealed class PumpHandle(UniqueKillSwitch killSwitch, Task completion, CancellationTokenSource stopping, ConsumptionProgress progress)
{
    public Task Completion { get; } = completion;

    /// <summary>Where the consumption stands.</summary>
    public ConsumptionProgress Progress { get; } = progress;

    /// <summary>
    /// Stops pulling. Events being applied finish (applied, commands acknowledged, acked); events waiting for a retry or
    /// behind an unresolved one are left unacked, to be delivered first when the consumption starts again.
    /// </summary>
    public void Stop()
    {
        stopping.Cancel();
        killSwitch.Shutdown();
    }
}
