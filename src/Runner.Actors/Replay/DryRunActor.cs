using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using NATS.Client.JetStream;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Nats;
using Runner.Sagas;

namespace Runner.Actors.Replay;

/// <summary>
/// One dry run of a replay of one (tenant, saga), a child of its <see cref="TenantActor"/>: nothing is paused, persisted,
/// acked or published. It reads the events from <c>from_seq</c> to the target through a consumer of its own and applies them
/// on paper (<see cref="ReplaySimulation"/>) to copies of the instances as the mode would leave them, asking each existing
/// instance what it holds before its first event is applied. Not recorded: its result stays answerable for
/// <c>dry-run-retention</c>, then it stops.
/// </summary>
internal sealed class DryRunActor : ReceiveActor, IWithTimers
{
    private readonly string _tenant;
    private readonly ISagaDefinition _saga;
    private readonly TenantServices _services;
    private readonly ITenantEventSource _nats;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ReplaySimulation _simulation;
    private readonly HashSet<string> _outstanding = new(StringComparer.Ordinal);
    private IActorRef _requester;
    private ReplayRecord _record;
    private string? _detail;
    private ulong? _position;
    private HashSet<string> _existing = new(StringComparer.Ordinal);
    private List<IncomingEvent> _chunk = [];
    private IActorRef _stream = ActorRefs.Nobody;
    private bool _streamDone;
    private DryRunReport? _report;
    private IMaterializer? _materializer;

    public DryRunActor(string tenant, ISagaDefinition saga, TenantServices services, ITenantEventSource nats, ReplayRecord record, IActorRef requester)
    {
        _tenant = tenant;
        _saga = saga;
        _services = services;
        _nats = nats;
        _record = record;
        _requester = requester;
        _simulation = new ReplaySimulation(saga, record.Mode, services.Runtime.DedupeWindow);
        Starting();
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>A dry run as asked by an operator; the requester hears back once it is accepted or refused.</summary>
    public static Props New(string tenant, ISagaDefinition saga, TenantServices services, ITenantEventSource nats, string id, StartReplay request,
        IActorRef requester) =>
        Props.Create(() => new DryRunActor(tenant, saga, services, nats,
            new ReplayRecord(id, saga.Name, request.Mode, request.FromSeq ?? 1, 0, services.Clock.Now, ReplayStage.Starting), requester));

    protected override void PreStart() => ReplaySteps.ReadRange(_nats, Self);

    private void Starting()
    {
        Receive<EventsRange>(range =>
        {
            if (ReplaySteps.Check(_record.FromSeq, range, out _detail) is { } refusal)
            {
                _requester.Tell(refusal);
                Context.Stop(Self);
                return;
            }

            _record = _record with { TargetSeq = range.Last, Stage = ReplayStage.Running };
            _requester.Tell(new ReplayAccepted(Status()));
            _requester = ActorRefs.Nobody;
            RunnerMetrics.Replays.Add(1, ReplaySteps.Tags(_tenant, _saga.Name, _record.Mode, true));
            if (!_simulation.NeedsBasis)
            {
                Read();
                return;
            }

            Become(Listing);
            ReplaySteps.ListInstances(Context.System, _services, _tenant, _saga.Name, Materializer(), Self);
        });
        Receive<StepFailed>(failed =>
        {
            _log.Error(failed.Cause, "Dry run {0} of {1}/{2}: {3}", _record.Id, _tenant, _saga.Name, failed.Describe());
            _requester.Tell(AdminRefusal.Unavailable($"replay not started: {failed.Describe()}"));
            Context.Stop(Self);
        });
        Common();
    }

    private void Listing()
    {
        Receive<InstanceList>(list =>
        {
            _existing = list.CorrelationIds.ToHashSet(StringComparer.Ordinal);
            Read();
        });
        Receive<StepFailed>(Fail);
        Common();
    }

    private void Read()
    {
        Become(Reading);
        var reader = "runner-replay-" + Guid.NewGuid().ToString("N")[..12];
        var (nats, tenant, from, to) = (_nats, _tenant, _record.FromSeq, _record.TargetSeq);
        Source.From(() => nats.ReadTenantEventsAsync(tenant, from, to, reader, CancellationToken.None))
            .Grouped(Math.Max(1, _nats.Settings.PullBatch))
            .RunWith(Sink.ActorRefWithAck<IEnumerable<INatsJSMsg<byte[]>>>(Self, StreamInit.Instance, StreamAck.Instance, StreamDone.Instance,
                e => new StepFailed(e, "reading the events")), Materializer());
    }

    private void Reading()
    {
        Receive<StreamInit>(_ =>
        {
            _stream = Sender;
            Sender.Tell(StreamAck.Instance);
        });
        Receive<IEnumerable<INatsJSMsg<byte[]>>>(OnChunk);
        Receive<ReplayBasis>(basis =>
        {
            if (!_outstanding.Remove(basis.CorrelationId)) return;
            _simulation.Seed(basis);
            if (_outstanding.Count > 0) return;
            Timers.Cancel("stall");
            SimulateChunk();
        });
        Receive<StreamDone>(_ =>
        {
            // The stream may complete while its last chunk still waits for instances: finish after that chunk.
            _streamDone = true;
            if (_chunk.Count == 0) Finish();
        });
        Receive<Stalled>(_ =>
        {
            if (_chunk.Count > 0)
                Fail(new StepFailed(new TimeoutException("saga instances did not answer within " + _services.Runtime.ReplayStallTimeout), "reading the instances"));
        });
        Receive<StepFailed>(Fail);
        Common();
    }

    private void OnChunk(IEnumerable<INatsJSMsg<byte[]>> messages)
    {
        _stream = Sender;
        var subjects = _nats.Settings.Subjects;
        _chunk = [];
        foreach (var msg in messages)
        {
            if (!subjects.TryParseEvent(msg.Subject, out var tenant, out var eventType) || tenant != _tenant || !_saga.EventTypes.Contains(eventType)
                || RunnerHeaders.RedrivenForAnother(msg.Headers, _saga.Name)) continue;
            _chunk.Add(EventPump.ToIncoming(msg, tenant, eventType, _services.Clock.Now));
            _position = msg.Metadata?.Sequence.Stream ?? _position;
        }

        // Instances that exist are asked what they hold before the chunk is applied on paper.
        foreach (var e in _chunk)
        {
            if (_saga.Parse(e) is not ParseResult.Ok ok || _simulation.Knows(ok.CorrelationId) || !_existing.Contains(ok.CorrelationId) ||
                !_outstanding.Add(ok.CorrelationId)) continue;
            Context.Parent.Tell(new GetReplayBasis(_saga.Name, ok.CorrelationId));
        }

        if (_outstanding.Count == 0) SimulateChunk();
        else Timers.StartSingleTimer("stall", Stalled.Instance, _services.Runtime.ReplayStallTimeout);
    }

    private void SimulateChunk()
    {
        var now = _services.Clock.Now;
        foreach (var e in _chunk) _simulation.Apply(e, now);
        _chunk = [];
        if (_streamDone) Finish();
        else _stream.Tell(StreamAck.Instance);
    }

    private void Finish()
    {
        _report = _simulation.Report();
        _record = _record with { Stage = ReplayStage.Finished, FinishedAt = _services.Clock.Now, Counts = _report.Counts, Instances = _report.Instances };
        RunnerMetrics.ReplaysFinished.Add(1, ReplaySteps.Tags(_tenant, _saga.Name, _record.Mode, true));
        _log.Info("Dry run {0} of {1}/{2} ({3}) would do: {4}", _record.Id, _tenant, _saga.Name, _record.Mode, ReplaySteps.Describe(_report.Counts));
        Done();
    }

    private void Fail(StepFailed failed)
    {
        _detail = failed.Describe();
        _log.Error(failed.Cause, "Dry run {0} of {1}/{2}: {3}", _record.Id, _tenant, _saga.Name, _detail);
        _record = _record with { Stage = ReplayStage.Failed, FinishedAt = _services.Clock.Now };
        Done();
    }

    /// <summary>Finished or failed: the result stays answerable until it expires.</summary>
    private void Done()
    {
        Become(Common);
        Timers.Cancel("stall");
        Timers.StartSingleTimer("expire", Expire.Instance, _services.Runtime.DryRunRetention);
    }

    private void Common()
    {
        Receive<GetReplay>(_ => Sender.Tell(Status()));
        Receive<Expire>(_ => Context.Stop(Self));
        // Late answers once finished or failed: nothing to do.
        Receive<ReplayBasis>(_ => { });
        Receive<Stalled>(_ => { });
        Receive<StepFailed>(_ => { });
    }

    private ReplayStatus Status() =>
        ReplayStatus.Of(_tenant, _nats.Settings.NodeId, _record, dryRun: true, counts: _report?.Counts, position: _position, detail: _detail,
            report: _report);

    private IMaterializer Materializer() => _materializer ??= Context.Materializer();

    private sealed record Expire
    {
        public static Expire Instance { get; } = new();
    }

    private sealed record StreamInit
    {
        public static StreamInit Instance { get; } = new();
    }

    private sealed record StreamAck
    {
        public static StreamAck Instance { get; } = new();
    }

    private sealed record StreamDone
    {
        public static StreamDone Instance { get; } = new();
    }
}
