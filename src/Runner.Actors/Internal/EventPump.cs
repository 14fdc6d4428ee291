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
/// The consumption of one (tenant, saga): a JetStream pull consumer as an Akka.Streams source (restarted with
/// backoff), bounded parallelism, and per message: parse and correlate, hand to the tenant (Ask, the edge of the
/// actor system), then ack. Unparseable messages are parked on the dead-letter subject and acked; a timeout naks.
/// </summary>
internal sealed class EventPump
{
    /// <summary>Dead-letter saga token for events no saga handles (not a valid saga name, so it never collides).</summary>
    public const string UnroutedToken = "_unrouted";

    private readonly string _tenant;
    private readonly ISagaDefinition _saga;
    private readonly TenantServices _services;
    private readonly NatsEdge _nats;
    private readonly IActorRef _tenantActor;
    private readonly ILoggingAdapter _log;
    private readonly bool _reportsUnknownTypes;
    private readonly ReplayTracker? _tracker;

    public EventPump(string tenant, ISagaDefinition saga, TenantServices services, NatsEdge nats, IActorRef tenantActor, ILoggingAdapter log,
        ReplayTracker? tracker = null)
    {
        _tracker = tracker;
        _tenant = tenant;
        _saga = saga;
        _services = services;
        _nats = nats;
        _tenantActor = tenantActor;
        _log = log;
        // Every saga consumer sees every event of its tenant; exactly one of them parks unknown event types.
        _reportsUnknownTypes = string.Equals(services.Catalog.All.Select(s => s.Name).Min(StringComparer.Ordinal), saga.Name, StringComparison.Ordinal);
    }

    public (UniqueKillSwitch KillSwitch, Task<Done> Completion) Run(IMaterializer materializer, CheckpointCache checkpoints) =>
        _nats.EventSource(_tenant, _saga.Name, () => checkpoints.Get(_saga.Name))
            .ViaMaterialized(KillSwitches.Single<INatsJSMsg<byte[]>>(), Keep.Right)
            .SelectAsync(_nats.Settings.Parallelism, Process)
            .ToMaterialized(Sink.Ignore<NotUsed>(), Keep.Both)
            .Run(materializer);

    private async Task<NotUsed> Process(INatsJSMsg<byte[]> msg)
    {
        try
        {
            await Handle(msg).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Never fail the stream for one message: nak it and let JetStream redeliver.
            _log.Warning(e, "Event {0} of {1}/{2} not processed; nak", msg.Subject, _tenant, _saga.Name);
            await TryNak(msg).ConfigureAwait(false);
        }

        return NotUsed.Instance;
    }

    private async Task Handle(INatsJSMsg<byte[]> msg)
    {
        var subjects = _nats.Settings.Subjects;
        if (!subjects.TryParseEvent(msg.Subject, out var tenant, out var eventType) || tenant != _tenant)
        {
            await msg.AckAsync().ConfigureAwait(false); // not ours (cannot happen with the filter)
            return;
        }

        var seq = msg.Metadata?.Sequence.Stream ?? 0;
        var payload = msg.Data ?? [];
        if (!_saga.EventTypes.Contains(eventType))
        {
            if (_reportsUnknownTypes && !_services.Catalog.ForEventType(eventType).Any())
                await Park(msg, seq, payload, nameof(RejectionKind.UnknownEventType), $"no saga handles event type '{eventType}'", UnroutedToken)
                    .ConfigureAwait(false);
            await msg.AckAsync().ConfigureAwait(false);
            return;
        }

        var incoming = ToIncoming(msg, tenant, eventType, _services.Clock.Now);
        var result = _saga.Parse(incoming);
        if (result is ParseResult.Rejected rejected)
        {
            await Park(msg, seq, payload, rejected.Kind.ToString(), rejected.Reason).ConfigureAwait(false);
            _tracker?.CountDeadLettered(seq);
            await msg.AckAsync().ConfigureAwait(false);
            return;
        }

        var parsed = (ParseResult.Ok)result;
        IEventOutcome outcome;
        try
        {
            outcome = await _tenantActor.Ask<IEventOutcome>(new DeliverEvent(_saga.Name, parsed.CorrelationId, incoming, parsed.Event),
                _nats.Settings.ProcessingTimeout).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            _log.Warning("Event {0} (seq {1}) of {2}/{3} not applied within {4}; nak", msg.Subject, seq, _tenant, _saga.Name,
                _nats.Settings.ProcessingTimeout);
            await TryNak(msg).ConfigureAwait(false);
            return;
        }

        _tracker?.Count(seq, outcome);
        switch (outcome)
        {
            case HandlerFailed failed:
                await Park(msg, seq, payload, "HandlerFailed", failed.Reason).ConfigureAwait(false);
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
        _log.Warning("Parking event {0} (seq {1}) of tenant {2} on the dead-letter subject {3}: {4}", msg.Subject, seq, _tenant, token, reason);
        await _nats.PublishDeadLetterAsync(_tenant, token, kind, reason, msg.Subject, seq, payload, msg.Headers, CancellationToken.None)
            .ConfigureAwait(false);
        RunnerMetrics.EventsDeadLettered.Add(1, new KeyValuePair<string, object?>("tenant", _tenant), new KeyValuePair<string, object?>("saga", _saga.Name),
            new KeyValuePair<string, object?>("kind", kind));
    }

    private async Task TryNak(INatsJSMsg<byte[]> msg)
    {
        try
        {
            await msg.NakAsync(new AckOpts { NakDelay = _nats.Settings.NakDelay }).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _log.Debug("Nak failed ({0}); the message is redelivered after AckWait", e.Message);
        }
    }

    private KeyValuePair<string, object?>[] Tags() =>
        [new("tenant", _tenant), new("saga", _saga.Name)];
}
