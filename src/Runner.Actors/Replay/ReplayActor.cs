using System.Globalization;
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
/// One replay of one (tenant, saga), a child of its <see cref="TenantActor"/>. A replay: (1) records its start in the
/// tenant's checkpoint journal, (2) pauses the saga's consumer (in-flight events finish), (3) per mode resets the saga's
/// instances or makes them forget their dedupe markers, each durably, (4) deletes the consumer and records the rewind,
/// which sets the checkpoint to one before the first replayed event, (5) lets the saga consume again, from there, and
/// (6) records its end once the consumer has acked up to the target (the stream's last sequence at the start). Other
/// sagas and tenants keep running throughout. Every step is recorded or idempotent, so a replay interrupted by a crash,
/// a drain or a move resumes from its record wherever the tenant runs next.
/// A dry run reads the same events through a consumer of its own and applies them on paper (<see cref="ReplaySimulation"/>).
/// </summary>
internal sealed class ReplayActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    private readonly string _tenant;
    private readonly ISagaDefinition _saga;
    private readonly TenantServices _services;
    private readonly NatsEdge _nats;
    private readonly IActorRef _checkpoints;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly bool _dryRun;
    private readonly StartReplay? _request;
    private IActorRef _requester;
    private ReplayRecord _record;
    private string? _detail;
    private ulong? _position;
    private ReplayTracker? _tracker;

    // Resetting instances.
    private readonly Queue<string> _toReset = new();
    private readonly HashSet<string> _outstanding = new(StringComparer.Ordinal);
    private int _reset;

    // Dry run.
    private ReplaySimulation? _simulation;
    private HashSet<string> _existing = new(StringComparer.Ordinal);
    private List<IncomingEvent> _chunk = [];
    private IActorRef _stream = ActorRefs.Nobody;
    private DryRunReport? _report;
    private IMaterializer? _materializer;
    private bool _streamDone;
    private bool _resetting;

    public ReplayActor(string tenant, ISagaDefinition saga, TenantServices services, NatsEdge nats, IActorRef checkpoints, ReplayRecord record,
        StartReplay? request, IActorRef requester)
    {
        _tenant = tenant;
        _saga = saga;
        _services = services;
        _nats = nats;
        _checkpoints = checkpoints;
        _record = record;
        _request = request;
        _requester = requester;
        _dryRun = request?.DryRun ?? false;

        Receive<GetReplay>(_ => Sender.Tell(new AdminReply(200, StatusJson())));
        Receive<ReplayTick>(_ => Poll());
        Receive<Stalled>(OnStalled);
        Receive<Retry>(r => r.Step());
        Receive<Expire>(_ => Context.Stop(Self));
        Receive<Range>(OnRange);
        Receive<ReplayBegun>(OnBegun);
        Receive<ReplayRefused>(r =>
        {
            _requester.Tell(ReplayJson.Error(409, r.Reason));
            Context.Stop(Self);
        });
        Receive<SagaPaused>(OnPaused);
        Receive<InstanceList>(OnInstances);
        Receive<InstanceReset>(OnInstanceReset);
        Receive<ConsumerDeleted>(_ => _checkpoints.Tell(new RecordRewind(new ReplayRewound(_record.Id, _saga.Name, _record.FromSeq - 1, _reset,
            _services.Clock.Now))));
        Receive<RewindRecorded>(_ => Track());
        Receive<Position>(OnPosition);
        Receive<FinishRecorded>(OnFinished);
        Receive<Failed>(OnFailed);

        // Dry run.
        Receive<StreamInit>(_ =>
        {
            _stream = Sender;
            Sender.Tell(StreamAck.Instance);
        });
        Receive<IEnumerable<INatsJSMsg<byte[]>>>(OnChunk);
        Receive<ReplayBasis>(OnBasis);
        Receive<StreamDone>(_ =>
        {
            // The stream may complete while its last chunk still waits for instances: finish after that chunk.
            _streamDone = true;
            if (_chunk.Count == 0) OnDryRunDone();
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>A new replay (or dry run) as asked by an operator; the requester hears back once it is accepted or refused.</summary>
    public static Props New(string tenant, ISagaDefinition saga, TenantServices services, NatsEdge nats, IActorRef checkpoints, string id,
        StartReplay request, IActorRef requester) =>
        Props.Create(() => new ReplayActor(tenant, saga, services, nats, checkpoints,
            new ReplayRecord(id, saga.Name, request.Mode, request.FromSeq ?? 1, 0, services.Clock.Now, "starting"), request, requester));

    /// <summary>A replay found active in the checkpoint journal when the tenant started: it goes on from its stage.</summary>
    public static Props Resume(string tenant, ISagaDefinition saga, TenantServices services, NatsEdge nats, IActorRef checkpoints, ReplayRecord record) =>
        Props.Create(() => new ReplayActor(tenant, saga, services, nats, checkpoints, record, null, ActorRefs.Nobody));

    /// <summary>A new replay id: <c>&lt;tenant&gt;.&lt;saga&gt;.&lt;utc time&gt;-&lt;random&gt;</c> (the tenant is read back from it).</summary>
    public static string NewId(string tenant, string saga, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"{tenant}.{saga}.{now.UtcDateTime:yyyyMMddTHHmmss}-{Random.Shared.Next(0x10000):x4}");

    /// <summary>Child name of a replay.</summary>
    public static string ChildName(string id) => "replay-" + Uri.EscapeDataString(id);

    /// <summary>The tenant a replay id belongs to, or null when it is not a replay id.</summary>
    public static string? TenantOf(string id)
    {
        var parts = id.Split('.');
        return parts.Length == 3 && TenantId.IsValid(parts[0]) ? parts[0] : null;
    }

    protected override void PostRestart(Exception reason)
    {
        // Never started afresh: its parent resumes it from its record in the checkpoint journal.
        _log.Error(reason, "Replay {0} of {1}/{2} failed; it resumes from its record", _record.Id, _tenant, _saga.Name);
        Context.Stop(Self);
    }

    protected override void PreStart()
    {
        if (_request is not null)
        {
            _nats.EventsRangeAsync(CancellationToken.None).PipeTo(Self, success: r => new Range(r.First, r.Last), failure: e => new Failed(e, "reading the events stream"));
            return;
        }

        _log.Info("Replay {0} of {1}/{2} resumes at stage {3}", _record.Id, _tenant, _saga.Name, _record.Stage);
        if (_record.Stage == "rewound") Track();
        else Pause();
    }

    private void OnRange(Range range)
    {
        var from = _record.FromSeq;
        if (from > range.Last + 1)
        {
            _requester.Tell(ReplayJson.Error(400,
                $"from_seq {from} is beyond the end of the events stream (its last sequence is {range.Last})"));
            Context.Stop(Self);
            return;
        }

        if (range.First > from && range.Last > 0)
            _detail = $"the events stream starts at sequence {range.First}: events before it are no longer there to replay";
        _record = _record with { TargetSeq = range.Last };
        if (_dryRun)
        {
            _record = _record with { Stage = "running" };
            _simulation = new ReplaySimulation(_saga, _record.Mode, _services.Runtime.DedupeWindow);
            Accepted();
            RunnerMetrics.Replays.Add(1, Tags(true));
            if (_simulation.NeedsBasis) ListInstances();
            else Read();
            return;
        }

        _checkpoints.Tell(new BeginReplay(new ReplayStarted(_record.Id, _saga.Name, _record.Mode, from, range.Last, _services.Clock.Now)));
    }

    private void OnBegun(ReplayBegun begun)
    {
        _record = begun.Record;
        Accepted();
        RunnerMetrics.Replays.Add(1, Tags(false));
        _log.Info("Replay {0} of {1}/{2} started: mode {3}, from stream sequence {4} to {5}", _record.Id, _tenant, _saga.Name, _record.Mode,
            _record.FromSeq, _record.TargetSeq);
        Pause();
    }

    private void Accepted()
    {
        _requester.Tell(new AdminReply(202, StatusJson()));
        _requester = ActorRefs.Nobody;
    }

    private void Pause() => Context.Parent.Tell(new PauseSaga(_saga.Name));

    private void OnPaused(SagaPaused paused)
    {
        // One reset round at a time: a late answer to an earlier pause (a retried step) starts nothing more.
        if (_record.Stage != "started" || _resetting) return;
        _resetting = true;
        if (!paused.Finished)
            _log.Warning("Replay {0}: in-flight events of {1}/{2} did not finish in time; the rewound consumer delivers them again", _record.Id, _tenant,
                _saga.Name);
        if (_record.Mode == ReplayModes.CheckpointOnly) DeleteConsumer();
        else ListInstances();
    }

    private void ListInstances()
    {
        var prefix = SagaActor.PersistenceIdFor(_tenant, _saga.Name, "");
        PersistenceIds.WithPrefixAsync(Context.System, _services.Runtime.QueryPlugin, prefix, Materializer())
            .PipeTo(Self, success: pids => new InstanceList([.. pids.Select(pid => pid[prefix.Length..])]),
                failure: e => new Failed(e, "listing the saga's instances"));
    }

    private void OnInstances(InstanceList list)
    {
        _resetting = false;
        if (_dryRun)
        {
            _existing = list.CorrelationIds.ToHashSet(StringComparer.Ordinal);
            Read();
            return;
        }

        _toReset.Clear();
        _outstanding.Clear();
        foreach (var id in list.CorrelationIds.Order(StringComparer.Ordinal)) _toReset.Enqueue(id);
        _detail = $"resetting {_toReset.Count} instance(s)";
        SendResets();
    }

    private void SendResets()
    {
        while (_outstanding.Count < _services.Runtime.ReplayResetParallelism && _toReset.TryDequeue(out var id))
        {
            _outstanding.Add(id);
            Context.Parent.Tell(new ResetInstance(_saga.Name, id, _record.Id, _record.Mode == ReplayModes.FullReset));
        }

        if (_outstanding.Count == 0)
        {
            Timers.Cancel("stall");
            DeleteConsumer();
            return;
        }

        Timers.StartSingleTimer("stall", new Stalled("reset"), _services.Runtime.ReplayStallTimeout);
    }

    private void OnInstanceReset(InstanceReset r)
    {
        if (!_outstanding.Remove(r.CorrelationId)) return;
        _reset++;
        SendResets();
    }

    private void OnStalled(Stalled stalled)
    {
        if (stalled.Stage == "reset" && _outstanding.Count > 0)
        {
            // An instance that cannot persist (storage trouble) stops; asking again restarts it from its journal.
            _detail = $"{_outstanding.Count} instance(s) did not confirm within {_services.Runtime.ReplayStallTimeout.TotalSeconds:0}s (e.g. {_outstanding.First()}); asking again";
            _log.Warning("Replay {0} of {1}/{2}: {3}", _record.Id, _tenant, _saga.Name, _detail);
            foreach (var id in _outstanding) Context.Parent.Tell(new ResetInstance(_saga.Name, id, _record.Id, _record.Mode == ReplayModes.FullReset));
            Timers.StartSingleTimer("stall", new Stalled("reset"), _services.Runtime.ReplayStallTimeout);
        }
        else if (stalled.Stage == "basis" && _chunk.Count > 0)
        {
            OnFailed(new Failed(new TimeoutException("saga instances did not answer within " + _services.Runtime.ReplayStallTimeout), "reading the instances"));
        }
    }

    private void DeleteConsumer()
    {
        _detail = "rewinding the consumer";
        _nats.DeleteConsumerAsync(_tenant, _saga.Name, CancellationToken.None)
            .PipeTo(Self, success: _ => ConsumerDeleted.Instance, failure: e => new Failed(e, "deleting the saga's consumer", new Retry(DeleteConsumer)));
    }

    private void Track()
    {
        _record = _record with { Stage = "rewound", Instances = Math.Max(_record.Instances, _reset) };
        _detail = null;
        _tracker = new ReplayTracker(_record.TargetSeq);
        Context.Parent.Tell(new ResumeSaga(_saga.Name, _tracker));
        Timers.StartPeriodicTimer("poll", ReplayTick.Instance, TimeSpan.Zero, TimeSpan.FromMilliseconds(250));
    }

    private void Poll()
    {
        if (_record.Stage != "rewound") return;
        _nats.ConsumerPositionAsync(_tenant, _saga.Name, CancellationToken.None)
            .PipeTo(Self, success: p => new Position(p), failure: e => new Failed(e, "reading the consumer's position", Retry.Nothing));
    }

    private void OnPosition(Position position)
    {
        if (_record.Stage != "rewound" || position.State is not { } p) return;
        _position = p.AckFloor;
        if (p.AckFloor >= _record.TargetSeq || (p.Pending == 0 && p.AckPending == 0))
        {
            _record = _record with { Stage = "finishing" };
            Timers.Cancel("poll");
            _checkpoints.Tell(new RecordFinish(new ReplayFinished(_record.Id, _tracker?.Snapshot() ?? ReplayCounts.Zero, _services.Clock.Now)));
        }
    }

    private void OnFinished(FinishRecorded finished)
    {
        _record = finished.Record;
        var c = _record.Counts ?? ReplayCounts.Zero;
        _log.Info("Replay {0} of {1}/{2} finished: {3}", _record.Id, _tenant, _saga.Name, Describe(c));
        RunnerMetrics.ReplaysFinished.Add(1, Tags(false));
        Context.Stop(Self);
    }

    private void OnFailed(Failed failed)
    {
        _detail = $"{failed.While} failed: {failed.Cause.GetBaseException().Message}";
        if (failed.Then is { } retry)
        {
            _log.Warning("Replay {0} of {1}/{2}: {3}; retrying", _record.Id, _tenant, _saga.Name, _detail);
            if (!ReferenceEquals(retry, Retry.Nothing)) Timers.StartSingleTimer("retry", retry, RetryAfter);
            return;
        }

        _log.Error(failed.Cause, "Replay {0} of {1}/{2}: {3}", _record.Id, _tenant, _saga.Name, _detail);
        if (!_requester.IsNobody())
        {
            _requester.Tell(ReplayJson.Error(503, $"replay not started: {_detail}"));
            Context.Stop(Self);
            return;
        }

        if (_dryRun)
        {
            _record = _record with { Stage = "failed", FinishedAt = _services.Clock.Now };
            Timers.StartSingleTimer("expire", Expire.Instance, _services.Runtime.DryRunRetention);
            return;
        }

        // A real replay never gives up half-way (its instances may be reset already): it tries its stage again.
        Timers.StartSingleTimer("retry", new Retry(() =>
        {
            if (_record.Stage != "started") return;
            _resetting = false;
            Pause();
        }), RetryAfter);
    }

    // ---- dry run ----------------------------------------------------------------------------------------------------

    private void Read()
    {
        var reader = "runner-replay-" + Guid.NewGuid().ToString("N")[..12];
        var (tenant, from, to) = (_tenant, _record.FromSeq, _record.TargetSeq);
        var nats = _nats;
        Source.From(() => nats.ReadTenantEventsAsync(tenant, from, to, reader, CancellationToken.None))
            .Grouped(Math.Max(1, _nats.Settings.PullBatch))
            .RunWith(Sink.ActorRefWithAck<IEnumerable<INatsJSMsg<byte[]>>>(Self, StreamInit.Instance, StreamAck.Instance, StreamDone.Instance,
                e => new Failed(e, "reading the events")), Materializer());
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
        var asked = 0;
        foreach (var e in _chunk)
        {
            if (_saga.Parse(e) is not ParseResult.Ok ok || _simulation!.Knows(ok.CorrelationId) || !_existing.Contains(ok.CorrelationId) ||
                !_outstanding.Add(ok.CorrelationId)) continue;
            Context.Parent.Tell(new GetReplayBasis(_saga.Name, ok.CorrelationId));
            asked++;
        }

        if (asked == 0) SimulateChunk();
        else Timers.StartSingleTimer("stall", new Stalled("basis"), _services.Runtime.ReplayStallTimeout);
    }

    private void OnBasis(ReplayBasis basis)
    {
        if (!_outstanding.Remove(basis.CorrelationId)) return;
        _simulation!.Seed(basis);
        if (_outstanding.Count == 0)
        {
            Timers.Cancel("stall");
            SimulateChunk();
        }
    }

    private void SimulateChunk()
    {
        var now = _services.Clock.Now;
        foreach (var e in _chunk) _simulation!.Apply(e, now);
        _chunk = [];
        if (_streamDone) OnDryRunDone();
        else _stream.Tell(StreamAck.Instance);
    }

    private void OnDryRunDone()
    {
        _report = _simulation!.Report();
        _record = _record with { Stage = "finished", FinishedAt = _services.Clock.Now, Counts = _report.Counts, Instances = _report.Instances };
        RunnerMetrics.ReplaysFinished.Add(1, Tags(true));
        _log.Info("Dry run {0} of {1}/{2} ({3}) would do: {4}", _record.Id, _tenant, _saga.Name, _record.Mode, Describe(_report.Counts));
        Timers.StartSingleTimer("expire", Expire.Instance, _services.Runtime.DryRunRetention);
    }

    // ---- status -----------------------------------------------------------------------------------------------------

    private string StatusJson()
    {
        var counts = _report?.Counts ?? _tracker?.Snapshot() ?? _record.Counts ?? ReplayCounts.Zero;
        // The consumer's ack floor once known, else the furthest event the replay has finished.
        var position = _position ?? (_tracker is { MaxSeq: > 0 } t ? t.MaxSeq : null);
        return ReplayJson.Status(_tenant, _nats.Settings.NodeId, _record, _dryRun, counts, position, _detail, _report).ToJsonString();
    }

    private IMaterializer Materializer() => _materializer ??= Context.Materializer();

    private static string Describe(ReplayCounts c) => string.Create(CultureInfo.InvariantCulture,
        $"{c.Events} event(s): {c.Applied} applied, {c.Duplicates} suppressed by dedupe, {c.IgnoredCompleted} ignored (completed), {c.DeadLettered} dead-lettered; {c.Commands} command(s) re-emitted");

    private KeyValuePair<string, object?>[] Tags(bool dryRun) =>
        [new("tenant", _tenant), new("saga", _saga.Name), new("mode", _record.Mode), new("dry_run", dryRun)];

    private sealed record Range(ulong First, ulong Last);

    private sealed record InstanceList(List<string> CorrelationIds);

    private sealed record ConsumerDeleted
    {
        public static ConsumerDeleted Instance { get; } = new();
    }

    private sealed record Position((ulong AckFloor, ulong Pending, ulong AckPending)? State);

    private sealed record Failed(Exception Cause, string While, Retry? Then = null);

    private sealed record Stalled(string Stage);

    private sealed record Retry(Action Step)
    {
        public static Retry Nothing { get; } = new(() => { });
    }

    private sealed record ReplayTick
    {
        public static ReplayTick Instance { get; } = new();
    }

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
