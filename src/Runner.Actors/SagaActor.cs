using Runner.Placement;
using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Nats;
using Runner.Sagas;

namespace Runner.Actors;

/// <summary>
/// One saga instance. It runs the saga's pure decision and persists the outcome (state, dedupe marker, outbox
/// entries, timer changes) as one event; only then does the caller hear back, and only once the decision's
/// commands are acknowledged by JetStream (and the delivery recorded), so that the NATS message behind it is
/// acked only when every effect is durable somewhere. Timer changes reach the tenant's schedule index through
/// their event's tag.
/// </summary>
public sealed class SagaActor : PersistentActor, IWithTimers
{
    /// <summary>The span of the decision being persisted (ended when the write is durable or fails).</summary>
    private System.Diagnostics.Activity? _span;

    private readonly string _tenant;
    private readonly ISagaDefinition _saga;
    private readonly string _correlation;
    private readonly RuntimeSettings _settings;
    private readonly IActorRef _publisher;
    private readonly IActorRef _scheduleIndex;
    private readonly IClock _clock;
    // Created on first use: an instance exists for nearly every new correlation id and most never log.
    private ILoggingAdapter? _logger;
    private InstanceTally? _tally;

    private object _state;
    private bool _completed;
    private DateTimeOffset? _completedAt;
    private long _applied;
    private readonly List<OutboxEntry> _outbox = [];
    private readonly Dictionary<string, TimerEntry> _timers = new(StringComparer.Ordinal);
    private readonly DedupeWindow _dedupe;
    private readonly List<(IActorRef ReplyTo, IEventOutcome Outcome)> _waiters = [];
    private bool _publishing;

    /// <summary>
    /// Outbox entries JetStream acknowledged whose delivered marker is being written: not published again meanwhile (an
    /// outbox due or a new decision in that window used to re-send them; JetStream dropped the copy, but each cost a publish).
    /// </summary>
    private readonly HashSet<string> _markingDelivered = new(StringComparer.Ordinal);

    // When the instance last received a message (Environment.TickCount64): the idle check passivates it once that is
    // passivate-after ago. A receive timeout would reschedule a timer on every message, several per event.
    private long _lastActive = Environment.TickCount64;
    private bool _overdue;
    private IActorRef _persisting = ActorRefs.Nobody;

    /// <summary>Creates the instance (tenant id and saga name already validated).</summary>
    public SagaActor(string tenant, ISagaDefinition saga, string correlationId, RuntimeSettings settings, IActorRef publisher,
        IActorRef scheduleIndex, IClock clock)
    {
        _tenant = tenant;
        _saga = saga;
        _correlation = correlationId;
        _settings = settings;
        _publisher = publisher;
        _scheduleIndex = scheduleIndex;
        _clock = clock;
        _state = saga.InitialState();
        _dedupe = new DedupeWindow(settings.DedupeWindow);
        PersistenceId = TenantKeys.Saga(tenant, saga.Name, correlationId);

    }

    /// <inheritdoc />
    protected override bool ReceiveRecover(object message)
    {
        // A switch rather than ReceivePersistentActor's handler registrations: an instance is created for nearly every new
        // correlation id, and building those handlers per instance was a measurable share of the allocations per event.
        switch (message)
        {
            case SnapshotOffer offer:
                RestoreSnapshot((SagaSnapshot)offer.Snapshot);
                return true;
            case SagaApplied e:
                Apply(e);
                return true;
            case OutboxDelivered e:
                Apply(e);
                return true;
            case SagaReset e:
                Apply(e);
                return true;
            case DedupeForgotten e:
                Apply(e);
                return true;
            case OutboxOverdue e:
                _overdue = e.Pending;
                return true;
            default:
                return false;
        }
    }

    /// <inheritdoc />
    protected override bool ReceiveCommand(object message)
    {
        if (message is not IdleCheck) _lastActive = Environment.TickCount64;
        switch (message)
        {
            case DeliverEvent deliver:
                OnDeliver(deliver);
                return true;
            case TimerDue due:
                OnTimerDue(due);
                return true;
            case CommandsPublished published:
                OnPublished(published);
                return true;
            case OutboxGrace:
                OnOutboxGrace();
                return true;
            case OutboxDue:
                OnOutboxDue();
                return true;
            case GetSagaView:
                Sender.Tell(View());
                return true;
            case GetReplayBasis:
                Sender.Tell(new ReplayBasis(_correlation, _state, _completed, [.. _dedupe.Items]));
                return true;
            case ResetInstance reset:
                OnReset(reset);
                return true;
            case ReportAndStop:
                Sender.Tell(new SagaStopReport(_outbox.Count, _timers.Count));
                Context.Stop(Self);
                return true;
            case IdleCheck:
                if (Environment.TickCount64 - _lastActive >= (long)_settings.PassivateAfter.TotalMilliseconds) MaybePassivate();
                return true;
            case SaveSnapshotSuccess saved:
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                return true;
            case SaveSnapshotFailure failed:
                Logger.Warning(failed.Cause, "Snapshot of {0} failed", PersistenceId);
                return true;
            case DeleteSnapshotsSuccess or DeleteMessagesSuccess:
                return true;
            case DeleteSnapshotsFailure failed:
                Logger.Warning(failed.Cause, "Deleting old snapshots of {0} failed", PersistenceId);
                return true;
            case DeleteMessagesFailure failed:
                Logger.Warning(failed.Cause, "Purging {0} failed", PersistenceId);
                return true;
            default:
                return false;
        }
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public override string PersistenceId { get; }

    private ILoggingAdapter Logger => _logger ??= Context.GetLogger();

    /// <summary>Props for an instance.</summary>
    public static Props Props(string tenant, ISagaDefinition saga, string correlationId, RuntimeSettings settings, IActorRef publisher,
        IActorRef scheduleIndex, IClock clock) =>
        Props(tenant, saga, correlationId, settings, publisher, scheduleIndex, clock, null);

    /// <summary>Props for an instance of a running tenant, counted in <paramref name="tally"/> while it is in memory.</summary>
    internal static Props Props(string tenant, ISagaDefinition saga, string correlationId, RuntimeSettings settings, IActorRef publisher,
        IActorRef scheduleIndex, IClock clock, InstanceTally? tally) =>
        Akka.Actor.Props.CreateBy(new Producer(tenant, saga, correlationId, settings, publisher, scheduleIndex, clock, tally));

    /// <summary>
    /// Creates the instance with its constructor, without reflection: <c>Props.Create(() =&gt; new ...)</c> reads the
    /// expression's arguments and constructs through <c>Activator</c> on every creation, once per new instance here.
    /// </summary>
    private sealed class Producer(string tenant, ISagaDefinition saga, string correlationId, RuntimeSettings settings, IActorRef publisher,
        IActorRef scheduleIndex, IClock clock, InstanceTally? tally) : IIndirectActorProducer
    {
        public Type ActorType => typeof(SagaActor);

        public ActorBase Produce() => new SagaActor(tenant, saga, correlationId, settings, publisher, scheduleIndex, clock) { _tally = tally };

        public void Release(ActorBase actor)
        {
        }
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        _tally?.Started();
        base.PreStart();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _tally?.Stopped();
        // What is still pending is counted again by the next incarnation that recovers it.
        if (_outbox.Count > 0) RunnerMetrics.OutboxPending.Add(-_outbox.Count);
        // Events applied whose commands are not yet acknowledged: their consumers try them again (a duplicate then, which
        // the next incarnation answers once it has published the commands).
        foreach (var (replyTo, _) in _waiters) replyTo.Tell(new NotApplied("the instance stopped before its commands were acknowledged"));
        _waiters.Clear();
        TellPersisting("the instance stopped while its write was in flight");
        base.PostStop();
    }

    /// <inheritdoc />
    protected override void OnReplaySuccess()
    {
        if (_completed && _completedAt is { } at && at + _settings.CompletedRetention < _clock.Now && _outbox.Count == 0)
        {
            // Past retention: forget the instance entirely.
            Logger.Info("Saga {0} completed at {1} is past retention; deleting it", PersistenceId, at);
            DeleteMessages(long.MaxValue);
            DeleteSnapshots(SnapshotSelectionCriteria.Latest);
            _state = _saga.InitialState();
            _completed = false;
            _completedAt = null;
            _dedupe.Clear();
        }

        // Idle for passivate-after is noticed within half that again: one timer per instance, not one per message.
        Timers.StartPeriodicTimer(nameof(IdleCheck), IdleCheck.Instance, IdleCheckInterval(_settings.PassivateAfter));
        PublishPending();
    }

    private void OnDeliver(DeliverEvent d)
    {
        var key = DedupeKey(d.Event);
        if (_dedupe.Contains(key))
        {
            HoldOrReply(Sender, new Duplicate(key));
            return;
        }

        if (_completed)
        {
            Sender.Tell(IgnoredCompleted.Instance);
            return;
        }

        // The decision's span lasts until its write is durable (or it ends without one).
        var span = RunnerTracing.StartApply(_tenant, _saga.Name, _correlation, d.Event.EventType, d.TraceParent ?? RunnerTracing.TraceParentOf(d.Event.Headers));
        Decision decision;
        try
        {
            decision = _saga.Decide(_state, d.Parsed, _clock.Now);
        }
        catch (Exception e)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message);
            span?.Dispose();
            Logger.Error(e, "Saga {0} failed to decide on {1} (stream seq {2})", PersistenceId, d.Event.EventType, d.Event.StreamSequence);
            Sender.Tell(new HandlerFailed($"{_saga.Name} decide threw {e.GetType().Name}: {e.Message}"));
            return;
        }

        if (decision.Unexpected is { } unexpected)
        {
            // Nothing is applied or recorded (no dedupe marker): the consumer parks the event with the reason.
            span?.SetTag("runner.outcome", "not accepted");
            span?.Dispose();
            Sender.Tell(new NotAccepted(unexpected));
            return;
        }

        if (_settings.Faults.DrawFailure())
        {
            // As a failed journal write: nothing stored, the instance stops, its next incarnation recovers.
            span?.Dispose();
            Logger.Warning("Saga {0}: injected fault, {1} (stream seq {2}) not applied", PersistenceId, d.Event.EventType, d.Event.StreamSequence);
            StopForRecovery(Sender, "injected fault: the journal write failed");
            return;
        }

        var applied = ToApplied(key, d.Event.StreamSequence, d.Event.EventType, decision,
            RunnerTracing.Propagate(span, d.TraceParent ?? RunnerTracing.TraceParentOf(d.Event.Headers)));
        var replyTo = Sender;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _persisting = replyTo;
        _span = span;
        Persist(Tag(applied), _ =>
        {
            span?.Dispose();
            _span = null;
            _persisting = ActorRefs.Nobody;
            RunnerMetrics.PersistLatency.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                new KeyValuePair<string, object?>("saga", _saga.Name));
            Apply(applied);
            var outcome = new Applied(LastSequenceNr, applied.Outbox.Length);
            var answerTo = replyTo;
            if (_settings.Faults.DrawSlow())
            {
                // Applied now, answered late: past the processing timeout the consumer tries again and meets the dedupe marker.
                Context.System.Scheduler.ScheduleTellOnce(_settings.Faults.SlowApplyDelay, replyTo, outcome, Self);
                answerTo = ActorRefs.Nobody;
            }

            AfterPersist(applied, answerTo, outcome);
        });
    }

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, cause.Message);
        _span?.Dispose();
        _span = null;
        // The instance stops (its state in memory may be ahead of the journal); the consumer tries the event again.
        Context.Parent.Tell(Passivate.Instance);
        TellPersisting($"the journal write failed: {cause.Message}");
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <inheritdoc />
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Context.Parent.Tell(Passivate.Instance);
        base.OnRecoveryFailure(reason, message);
    }

    /// <summary>
    /// Stops this incarnation through its tenant (as passivation does), so that messages for the instance arriving
    /// meanwhile wait for a fresh incarnation recovered from the journal instead of reaching a stopped actor.
    /// </summary>
    private void StopForRecovery(IActorRef replyTo, string reason)
    {
        // The tenant hears first, so that whatever its consumer sends next already waits for the new incarnation.
        Context.Parent.Tell(Passivate.Instance);
        replyTo.Tell(new NotApplied(reason));
        Context.Stop(Self);
    }

    /// <inheritdoc />
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        TellPersisting($"the journal rejected the write: {cause.Message}");
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    private void TellPersisting(string reason)
    {
        if (_persisting.IsNobody()) return;
        _persisting.Tell(new NotApplied(reason));
        _persisting = ActorRefs.Nobody;
    }

    private void OnReset(ResetInstance r)
    {
        // Only ever sent while the saga's consumer is paused for a replay, so no event of it is in flight here.
        var replyTo = Sender;
        if (!r.Full)
        {
            Persist(new DedupeForgotten(r.ReplayId, _clock.Now), e =>
            {
                Apply(e);
                replyTo.Tell(new InstanceReset(_correlation));
            });
            return;
        }

        var reset = new SagaReset(r.ReplayId, _clock.Now);
        // Tagged: the schedule index follows the tag and drops the instance's timers.
        Persist(new Tagged(reset, [TenantKeys.TimersTag(_tenant)]), _ =>
        {
            Apply(reset);
            // The state before the reset is deleted; the reset event stays as the first of the new history (and the
            // sequence numbers go on from it, so re-decided commands get new Nats-Msg-Ids).
            var before = LastSequenceNr - 1;
            if (before > 0)
            {
                DeleteMessages(before);
                DeleteSnapshots(new SnapshotSelectionCriteria(before));
            }

            ReleaseWaiters();
            replyTo.Tell(new InstanceReset(_correlation));
        });
    }

    private void OnTimerDue(TimerDue due)
    {
        if (!_timers.TryGetValue(due.Timer, out var timer) || timer.DueAt != due.DueAt)
        {
            // Stale index entry (fired, cancelled or rescheduled): tell the index what is true.
            IndexTimers();
            return;
        }

        var now = _clock.Now;
        if (now < timer.DueAt) return;

        var key = $"timer:{timer.Name}:{timer.DueAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}";
        SagaApplied applied;
        if (timer.SkipIfMissed && now - timer.DueAt > _settings.MissedFireTolerance)
        {
            Logger.Info("Timer {0} of {1} was due at {2}; missed-fire policy skip drops it", timer.Name, PersistenceId, timer.DueAt);
            applied = new SagaApplied(key, 0, "skip:" + timer.Name, null, [], [], [timer.Name], false, now);
        }
        else
        {
            Decision? decision;
            try
            {
                decision = _saga.OnTimer(_state, timer.Name, now);
            }
            catch (Exception e)
            {
                Logger.Error(e, "Saga {0} failed on timer {1}; the timer is dropped", PersistenceId, timer.Name);
                decision = null;
            }

            if (decision is null)
            {
                applied = new SagaApplied(key, 0, "failed:" + timer.Name, null, [], [], [timer.Name], false, now);
            }
            else if (decision.Unexpected is { } unexpected)
            {
                Logger.Warning("Saga {0}: timer {1} is not accepted in the current state ({2}); it is dropped", PersistenceId, timer.Name, unexpected);
                applied = new SagaApplied(key, 0, "unexpected:" + timer.Name, null, [], [], [timer.Name], false, now);
            }
            else
            {
                // The fired timer is gone unless the handler scheduled it again (cancel applies before schedule).
                applied = ToApplied(key, 0, "timer:" + timer.Name, decision);
                if (!applied.Cancelled.Contains(timer.Name)) applied = applied with { Cancelled = applied.Cancelled.Add(timer.Name) };
            }
        }

        Persist(Tag(applied), _ =>
        {
            Apply(applied);
            AfterPersist(applied, ActorRefs.Nobody, new Applied(LastSequenceNr));
        });
    }

    private void OnPublished(CommandsPublished published)
    {
        _publishing = false;
        var delivered = published.MsgIds.Where(id => !_markingDelivered.Contains(id) && _outbox.Exists(o => o.MsgId == id)).ToImmutableArray();
        if (delivered.IsEmpty)
        {
            PublishPending();
            ReleaseWaiters();
            return;
        }

        // PersistAsync: a lost "delivered" marker only means a re-publish, which JetStream de-duplicates by Nats-Msg-Id.
        _markingDelivered.UnionWith(delivered);
        PersistAsync(new OutboxDelivered(delivered), e =>
        {
            Apply(e);
            _markingDelivered.ExceptWith(e.MsgIds);
            PublishPending();
            ReleaseWaiters();
        });
    }

    private SagaApplied ToApplied(string key, ulong streamSeq, string trigger, Decision decision, string? traceParent = null)
    {
        var seqNr = LastSequenceNr + 1;
        var outbox = decision.Commands
            .Select((c, i) => new OutboxEntry($"{_tenant}:{_saga.Name}:{_correlation}:{seqNr}:{i}", c.CommandType, _saga.SerializeCommand(c), traceParent))
            .ToImmutableArray();
        var scheduled = decision.Schedule
            .Select(t => new TimerEntry(t.Name, t.DueAt, t.Policy == MissedFirePolicy.Skip))
            .ToImmutableArray();
        var state = decision.StateChanged ? _saga.SerializeState(decision.State) : null;
        var cancelled = decision.Complete ? _timers.Keys.Concat(decision.Cancel).Distinct().ToImmutableArray() : decision.Cancel;
        return new SagaApplied(key, streamSeq, trigger, state, outbox, decision.Complete ? [] : scheduled, cancelled, decision.Complete, _clock.Now);
    }

    private void Apply(SagaApplied e)
    {
        _applied++;
        _dedupe.Add(e.DedupeKey);
        if (e.State is not null) _state = _saga.DeserializeState(e.State);
        _outbox.AddRange(e.Outbox);
        if (!e.Outbox.IsEmpty) RunnerMetrics.OutboxPending.Add(e.Outbox.Length);
        foreach (var name in e.Cancelled) _timers.Remove(name);
        foreach (var t in e.Scheduled) _timers[t.Name] = t;
        if (e.Completed)
        {
            _completed = true;
            _completedAt = e.At;
            _timers.Clear();
        }
    }

    private void Apply(SagaReset e)
    {
        _state = _saga.InitialState();
        if (_outbox.Count > 0) RunnerMetrics.OutboxPending.Add(-_outbox.Count);
        _outbox.Clear();
        _timers.Clear();
        _dedupe.Clear();
        _completed = false;
        _completedAt = null;
        _applied = 0;
    }

    private void Apply(DedupeForgotten e) => _dedupe.Clear();

    private void Apply(OutboxDelivered e)
    {
        // A decision's outbox holds a few entries: a scan, not a set per event.
        var removed = _outbox.RemoveAll(o => e.MsgIds.Contains(o.MsgId, StringComparer.Ordinal));
        if (removed > 0) RunnerMetrics.OutboxPending.Add(-removed);
    }

    private void AfterPersist(SagaApplied e, IActorRef replyTo, IEventOutcome outcome)
    {
        PublishPending();
        if (!replyTo.IsNobody()) HoldOrReply(replyTo, outcome);
        if (LastSequenceNr % _settings.SnapshotEvery == 0) SaveSnapshot(Snapshot());
    }

    /// <summary>Corrects the index's in-memory view of this instance (after a stale <see cref="TimerDue"/>).</summary>
    private void IndexTimers() =>
        _scheduleIndex.Tell(new TimersIndexed(_saga.Name, _correlation, _timers.Values.ToImmutableArray()));

    /// <summary>
    /// Timer changes are tagged <c>timers|&lt;tenant&gt;</c>: the tenant's schedule index follows that tag through the read
    /// journal, so the index is as durable as the event itself without a second write on the event's path.
    /// </summary>
    private object Tag(SagaApplied e) =>
        e.Scheduled.IsEmpty && e.Cancelled.IsEmpty && !e.Completed ? e : new Tagged(e, [TenantKeys.TimersTag(_tenant)]);

    private void PublishPending()
    {
        if (_publishing || _outbox.Count == 0) return;
        var pending = _markingDelivered.Count == 0 ? [.. _outbox] : _outbox.Where(o => !_markingDelivered.Contains(o.MsgId)).ToImmutableArray();
        if (pending.IsEmpty) return;
        _publishing = true;
        _publisher.Tell(new PublishCommands(_saga.Name, _correlation, pending));
    }

    /// <summary>
    /// Answers for an applied event once its commands are acknowledged, or at once when the instance has recorded that it
    /// has commands to publish (the schedule index then wakes it after a crash or a move). Otherwise the answer waits, at
    /// most <see cref="RuntimeSettings.OutboxAckAfter"/>: a commands stream without a leader must not hold up the events.
    /// </summary>
    private void HoldOrReply(IActorRef replyTo, IEventOutcome outcome)
    {
        if (_outbox.Count == 0 || _overdue)
        {
            replyTo.Tell(outcome);
            return;
        }

        _waiters.Add((replyTo, outcome));
        if (!Timers.IsTimerActive(nameof(OutboxGrace))) Timers.StartSingleTimer(nameof(OutboxGrace), OutboxGrace.Instance, _settings.OutboxAckAfter);
    }

    private void ReleaseWaiters()
    {
        if (_outbox.Count > 0) return;
        foreach (var (replyTo, outcome) in _waiters) replyTo.Tell(outcome);
        _waiters.Clear();
        if (_overdue) RecordOutboxOverdue(false);
    }

    /// <summary>Commands still unacknowledged after the grace time: record that (durably, tagged for the index), then answer.</summary>
    private void OnOutboxGrace()
    {
        if (_outbox.Count == 0 || _waiters.Count == 0 || _overdue) return;
        RecordOutboxOverdue(true);
    }

    /// <summary>The schedule index knows this instance has commands to publish: publish them (or tell the index there are none).</summary>
    private void OnOutboxDue()
    {
        if (_outbox.Count > 0) PublishPending();
        else RecordOutboxOverdue(false);
    }

    private void RecordOutboxOverdue(bool pending)
    {
        _overdue = pending;
        PersistAsync(new Tagged(new OutboxOverdue(pending, _clock.Now), [TenantKeys.TimersTag(_tenant)]), _ =>
        {
            if (!pending) return;
            // Durable now: the events waiting for these commands are answered and acked; the commands go out when acknowledged.
            foreach (var (replyTo, outcome) in _waiters) replyTo.Tell(outcome);
            _waiters.Clear();
        });
    }

    private void MaybePassivate()
    {
        if (_outbox.Count == 0 && _waiters.Count == 0) Context.Parent.Tell(Passivate.Instance);
    }

    private static TimeSpan IdleCheckInterval(TimeSpan passivateAfter) =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, passivateAfter.Ticks / 2));

    private sealed record IdleCheck
    {
        public static IdleCheck Instance { get; } = new();
    }

    private sealed record OutboxGrace
    {
        public static OutboxGrace Instance { get; } = new();
    }

    private SagaSnapshot Snapshot() => new(
        _saga.SerializeState(_state),
        [.. _outbox],
        [.. _timers.Values],
        [.. _dedupe.Items],
        _completed,
        _completedAt,
        _applied);

    private void RestoreSnapshot(SagaSnapshot s)
    {
        _state = _saga.DeserializeState(s.State);
        if (_outbox.Count > 0) RunnerMetrics.OutboxPending.Add(-_outbox.Count);
        _outbox.Clear();
        _outbox.AddRange(s.Outbox);
        if (_outbox.Count > 0) RunnerMetrics.OutboxPending.Add(_outbox.Count);
        _timers.Clear();
        foreach (var t in s.Timers) _timers[t.Name] = t;
        _dedupe.Clear();
        foreach (var k in s.Dedupe) _dedupe.Add(k);
        _completed = s.Completed;
        _completedAt = s.CompletedAt;
        _applied = s.Applied;
    }

    private SagaView View() => new(_saga.Name, _correlation, LastSequenceNr, _state, _completed, [.. _outbox], [.. _timers.Values], _dedupe.Count)
    {
        CompletedAt = _completedAt,
    };

    /// <summary>The dedupe marker of an event: its <c>Nats-Msg-Id</c>, else its stream sequence.</summary>
    internal static string DedupeKey(IncomingEvent e) =>
        string.IsNullOrEmpty(e.MessageId) ? "seq:" + e.StreamSequence.ToString(CultureInfo.InvariantCulture) : "id:" + e.MessageId;
}
