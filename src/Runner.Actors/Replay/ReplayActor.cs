using Akka.Actor;
using Akka.Event;
using Akka.Streams;
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
/// a drain or a move resumes from its record wherever the tenant runs next. One behaviour per step; a dry run is a
/// <see cref="DryRunActor"/>.
/// </summary>
internal sealed class ReplayActor : ReceiveActor, IWithTimers
{
    private readonly string _tenant;
    private readonly ISagaDefinition _saga;
    private readonly TenantServices _services;
    private readonly ITenantEventSource _nats;
    private readonly IActorRef _checkpoints;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly InstanceResets _resets;
    private IActorRef _requester;
    private ReplayRecord _record;
    private string? _detail;
    private ulong? _position;
    private ReplayTracker? _tracker;
    private IMaterializer? _materializer;

    public ReplayActor(string tenant, ISagaDefinition saga, TenantServices services, ITenantEventSource nats, IActorRef checkpoints, ReplayRecord record,
        IActorRef requester)
    {
        _tenant = tenant;
        _saga = saga;
        _services = services;
        _nats = nats;
        _checkpoints = checkpoints;
        _record = record;
        _requester = requester;
        _resets = new InstanceResets(services.Runtime.ReplayResetParallelism,
            id => Context.Parent.Tell(new ResetInstance(_saga.Name, id, _record.Id, _record.Mode == ReplayModes.FullReset)));
        Common();
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>A new replay as asked by an operator; the requester hears back once it is accepted or refused.</summary>
    public static Props New(string tenant, ISagaDefinition saga, TenantServices services, ITenantEventSource nats, IActorRef checkpoints, string id,
        StartReplay request, IActorRef requester) =>
        Props.Create(() => new ReplayActor(tenant, saga, services, nats, checkpoints,
            new ReplayRecord(id, saga.Name, request.Mode, request.FromSeq ?? 1, 0, services.Clock.Now, ReplayStage.Starting), requester));

    /// <summary>A replay found active in the checkpoint journal when the tenant started: it goes on from its stage.</summary>
    public static Props Resume(string tenant, ISagaDefinition saga, TenantServices services, ITenantEventSource nats, IActorRef checkpoints, ReplayRecord record) =>
        Props.Create(() => new ReplayActor(tenant, saga, services, nats, checkpoints, record, ActorRefs.Nobody));

    /// <summary>Child name of a replay or dry run.</summary>
    public static string ChildName(string id) => "replay-" + Uri.EscapeDataString(id);

    protected override void PostRestart(Exception reason)
    {
        // Never started afresh: its parent resumes it from its record in the checkpoint journal.
        _log.Error(reason, "Replay {0} of {1}/{2} failed; it resumes from its record", _record.Id, _tenant, _saga.Name);
        Context.Stop(Self);
    }

    protected override void PreStart()
    {
        if (_record.Stage == ReplayStage.Starting)
        {
            Become(Starting);
            ReplaySteps.ReadRange(_nats, Self);
            return;
        }

        _log.Info("Replay {0} of {1}/{2} resumes at stage {3}", _record.Id, _tenant, _saga.Name, _record.Stage);
        if (_record.Stage == ReplayStage.Rewound) Track();
        else Pause();
    }

    private void Starting()
    {
        Receive<EventsRange>(range =>
        {
            if (ReplaySteps.Check(_record.FromSeq, range, out _detail) is { } refusal)
            {
                Refuse(refusal);
                return;
            }

            _record = _record with { TargetSeq = range.Last };
            _checkpoints.Tell(new BeginReplay(new ReplayStarted(_record.Id, _saga.Name, _record.Mode, _record.FromSeq, range.Last, _services.Clock.Now)));
        });
        Receive<ReplayBegun>(begun =>
        {
            _record = begun.Record;
            _requester.Tell(new ReplayAccepted(Status()));
            _requester = ActorRefs.Nobody;
            RunnerMetrics.Replays.Add(1, ReplaySteps.Tags(_tenant, _saga.Name, _record.Mode, false));
            _log.Info("Replay {0} of {1}/{2} started: mode {3}, from stream sequence {4} to {5}", _record.Id, _tenant, _saga.Name, _record.Mode,
                _record.FromSeq, _record.TargetSeq);
            Pause();
        });
        Receive<ReplayRefused>(r => Refuse(AdminRefusal.Conflict(r.Reason)));
        Receive<StepFailed>(failed =>
        {
            _log.Error(failed.Cause, "Replay {0} of {1}/{2}: {3}", _record.Id, _tenant, _saga.Name, failed.Describe());
            Refuse(AdminRefusal.Unavailable($"replay not started: {failed.Describe()}"));
        });
        Common();
    }

    private void Refuse(AdminRefusal refusal)
    {
        _requester.Tell(refusal);
        Context.Stop(Self);
    }

    private void Pause()
    {
        Become(Pausing);
        Context.Parent.Tell(new PauseSaga(_saga.Name));
    }

    private void Pausing()
    {
        Receive<SagaPaused>(paused =>
        {
            if (!paused.Finished)
                _log.Warning("Replay {0}: in-flight events of {1}/{2} did not finish in time; the rewound consumer delivers them again", _record.Id, _tenant,
                    _saga.Name);
            if (_record.Mode == ReplayModes.CheckpointOnly) DeleteConsumer();
            else ListInstances();
        });
        Common();
    }

    private void ListInstances()
    {
        Become(Listing);
        ReplaySteps.ListInstances(Context.System, _services, _tenant, _saga.Name, _materializer ??= Context.Materializer(), Self);
    }

    private void Listing()
    {
        Receive<InstanceList>(list =>
        {
            _detail = $"resetting {list.CorrelationIds.Count} instance(s)";
            Become(Resetting);
            _resets.Begin(list.CorrelationIds);
            AfterReset();
        });
        // A replay never goes on half-way (its instances may be reset already): it pauses and lists again.
        Receive<StepFailed>(failed =>
        {
            _detail = failed.Describe();
            _log.Error(failed.Cause, "Replay {0} of {1}/{2}: {3}", _record.Id, _tenant, _saga.Name, _detail);
            Timers.StartSingleTimer("retry", new Retry(Pause), _services.Runtime.ReplayRetryAfter);
        });
        Common();
    }

    private void Resetting()
    {
        Receive<InstanceReset>(r =>
        {
            _resets.Confirm(r.CorrelationId);
            AfterReset();
        });
        Receive<Stalled>(_ =>
        {
            // An instance that cannot persist (storage trouble) stops; asking again restarts it from its journal.
            var (count, example) = _resets.AskAgain();
            Note($"{count} instance(s) did not confirm within {_services.Runtime.ReplayStallTimeout.TotalSeconds:0}s (e.g. {example}); asking again");
            Timers.StartSingleTimer("stall", Stalled.Instance, _services.Runtime.ReplayStallTimeout);
        });
        Common();
    }

    /// <summary>Stalled is the round making no progress for the stall timeout; once every instance confirmed, the rewind follows.</summary>
    private void AfterReset()
    {
        if (!_resets.Done)
        {
            Timers.StartSingleTimer("stall", Stalled.Instance, _services.Runtime.ReplayStallTimeout);
            return;
        }

        Timers.Cancel("stall");
        DeleteConsumer();
    }

    private void DeleteConsumer()
    {
        Become(Rewinding);
        _detail = "rewinding the consumer";
        _nats.DeleteConsumerAsync(_tenant, _saga.Name, CancellationToken.None)
            .PipeTo(Self, success: _ => ConsumerDeleted.Instance, failure: e => new StepFailed(e, "deleting the saga's consumer"));
    }

    private void Rewinding()
    {
        Receive<ConsumerDeleted>(_ =>
            _checkpoints.Tell(new RecordRewind(new ReplayRewound(_record.Id, _saga.Name, _record.FromSeq - 1, _resets.Confirmed, _services.Clock.Now))));
        Receive<RewindRecorded>(_ => Track());
        Receive<StepFailed>(failed =>
        {
            Note(failed.Describe() + "; retrying");
            Timers.StartSingleTimer("retry", new Retry(DeleteConsumer), _services.Runtime.ReplayRetryAfter);
        });
        Common();
    }

    private void Track()
    {
        _record = _record with { Stage = ReplayStage.Rewound, Instances = Math.Max(_record.Instances, _resets.Confirmed) };
        _detail = null;
        _tracker = new ReplayTracker(_record.TargetSeq);
        Become(Tracking);
        Context.Parent.Tell(new ResumeSaga(_saga.Name, _tracker));
        Timers.StartPeriodicTimer("poll", PollTick.Instance, TimeSpan.Zero, _services.Runtime.ReplayPollInterval);
    }

    private void Tracking()
    {
        Receive<PollTick>(_ => _nats.ConsumerPositionAsync(_tenant, _saga.Name, CancellationToken.None)
            .PipeTo(Self, success: p => new Position(p), failure: e => new StepFailed(e, "reading the consumer's position")));
        Receive<Position>(position =>
        {
            if (position.State is not { } p) return;
            _position = p.AckFloor;
            if (p.AckFloor < _record.TargetSeq && (p.Pending > 0 || p.AckPending > 0)) return;
            _record = _record with { Stage = ReplayStage.Finishing };
            Timers.Cancel("poll");
            Become(Finishing);
            _checkpoints.Tell(new RecordFinish(new ReplayFinished(_record.Id, _tracker?.Snapshot() ?? ReplayCounts.Zero, _services.Clock.Now)));
        });
        Receive<StepFailed>(failed => Note(failed.Describe() + "; retrying")); // with the next poll
        Common();
    }

    private void Finishing()
    {
        Receive<FinishRecorded>(finished =>
        {
            _record = finished.Record;
            _log.Info("Replay {0} of {1}/{2} finished: {3}", _record.Id, _tenant, _saga.Name, ReplaySteps.Describe(_record.Counts ?? ReplayCounts.Zero));
            RunnerMetrics.ReplaysFinished.Add(1, ReplaySteps.Tags(_tenant, _saga.Name, _record.Mode, false));
            Context.Stop(Self);
        });
        Common();
    }

    private void Common()
    {
        Receive<GetReplay>(_ => Sender.Tell(Status()));
        Receive<Retry>(r => r.Step());
        // Late answers to a step already left (a repeated pause, a reset confirmed twice, a poll in flight): nothing to do.
        Receive<object>(_ => { }, m => m is SagaPaused or InstanceReset or Position or PollTick or Stalled or StepFailed);
    }

    private void Note(string detail)
    {
        _detail = detail;
        _log.Warning("Replay {0} of {1}/{2}: {3}", _record.Id, _tenant, _saga.Name, detail);
    }

    private ReplayStatus Status() =>
        // The consumer's ack floor once known, else the furthest event the replay has finished.
        ReplayStatus.Of(_tenant, _nats.Settings.NodeId, _record, counts: _tracker?.Snapshot(),
            position: _position ?? (_tracker is { MaxSeq: > 0 } t ? t.MaxSeq : null), detail: _detail);

    private sealed record ConsumerDeleted
    {
        public static ConsumerDeleted Instance { get; } = new();
    }

    private sealed record Position((ulong AckFloor, ulong Pending, ulong AckPending)? State);

    private sealed record Retry(Action Step);

    private sealed record PollTick
    {
        public static PollTick Instance { get; } = new();
    }
}
