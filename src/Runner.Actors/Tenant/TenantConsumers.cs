using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Nats;
using Runner.Sagas;

namespace Runner.Actors.Tenant;

/// <summary>
/// A tenant's consumption: one <see cref="EventPump"/> per saga definition, started once the tenant's checkpoints are
/// recovered, paused and resumed by replays, its applied positions written as checkpoints, stalls reported, and stopped
/// on a hand-off only after its in-flight events finished. Deliveries go to the tenant, which routes them to instances.
/// </summary>
internal sealed class TenantConsumers : ReceiveActor, IWithTimers
{
    private readonly string _tenant;
    private readonly TenantServices _services;
    private readonly ITenantEventSource _nats;
    private readonly IActorRef _tenantActor;
    private readonly IActorRef _checkpoints;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, PumpHandle> _pumps = new(StringComparer.Ordinal);
    private readonly List<Task> _completions = [];
    private readonly HashSet<string> _paused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _checkpointed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _stallWarned = new(StringComparer.Ordinal);
    private IMaterializer? _materializer;

    public TenantConsumers(string tenant, TenantServices services, IActorRef tenantActor, IActorRef checkpoints)
    {
        _tenant = tenant;
        _services = services;
        _nats = services.Events;
        _tenantActor = tenantActor;
        _checkpoints = checkpoints;
        Waiting();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string tenant, TenantServices services, IActorRef tenantActor, IActorRef checkpoints) =>
        Akka.Actor.Props.Create(() => new TenantConsumers(tenant, services, tenantActor, checkpoints));

    /// <summary>Before the checkpoints are recovered: nothing consumes (a recreated consumer starts after its checkpoint).</summary>
    private void Waiting()
    {
        Receive<CheckpointsRecovered>(recovered =>
        {
            // A saga with a replay in progress stays paused until its replay, resumed by the tenant's admin, lets it consume again.
            foreach (var replay in recovered.ActiveReplays) _paused.Add(replay.Saga);
            foreach (var saga in _services.Catalog.All.Where(s => !_paused.Contains(s.Name))) StartPump(saga, null);
            _log.Info("Tenant {0} consuming for sagas [{1}]{2}", _tenant, string.Join(", ", _pumps.Keys.Order(StringComparer.Ordinal)),
                _paused.Count == 0 ? "" : $"; paused for a replay: [{string.Join(", ", _paused.Order(StringComparer.Ordinal))}]");
            Timers.StartPeriodicTimer("checkpoints", CheckpointTick.Instance, _nats.Settings.CheckpointInterval);
            Become(Consuming);
        });
        Receive<PauseSaga>(pause =>
        {
            _paused.Add(pause.Saga);
            Sender.Tell(new SagaPaused(pause.Saga, true));
        });
        Receive<ResumeSaga>(r => _paused.Remove(r.Saga));
        Receive<StopConsuming>(_ => Stop());
        Receive<SagaPaused>(_ => { });
    }

    private void Consuming()
    {
        Receive<PauseSaga>(OnPause);
        Receive<ResumeSaga>(r =>
        {
            _paused.Remove(r.Saga);
            if (!_pumps.ContainsKey(r.Saga) && _services.Catalog.TryGet(r.Saga, out var saga)) StartPump(saga!, r.Tracker);
        });
        Receive<CheckpointTick>(_ => RecordProgress());
        Receive<StopConsuming>(_ => Stop());
        Receive<CheckpointsRecovered>(_ => { }); // a checkpoint actor restarted: the consumption runs already
        Receive<SagaPaused>(_ => { });
    }

    /// <summary>Stopping: the pumps finish their in-flight events; then the last positions are written and the tenant told.</summary>
    private void Stopping()
    {
        Receive<Stopped>(s =>
        {
            RecordProgress(); // the last applied positions go with the tenant's state
            Timers.Cancel("checkpoints");
            _tenantActor.Tell(new ConsumersStopped(s.Finished));
        });
        Receive<PauseSaga>(pause => Sender.Tell(new SagaPaused(pause.Saga, true)));
        Receive<ResumeSaga>(_ => { });
        Receive<CheckpointTick>(_ => { });
        Receive<StopConsuming>(_ => { });
        Receive<CheckpointsRecovered>(_ => { });
        Receive<SagaPaused>(_ => { });
    }

    private void Stop()
    {
        // Stop pulling; events already pulled finish (persisted, commands acknowledged, NATS message acked).
        foreach (var pump in _pumps.Values) pump.Stop();
        var all = Task.WhenAll(_completions);
        Task.WhenAny(all, Task.Delay(_nats.Settings.ProcessingTimeout * 2))
            .ContinueWith(t => new Stopped(t.Result == all), TaskScheduler.Default)
            .PipeTo(Self);
        Become(Stopping);
    }

    private void StartPump(ISagaDefinition saga, ReplayTracker? tracker)
    {
        _materializer ??= Context.Materializer();
        var pump = new EventPump(_tenant, saga, _services, _nats, _tenantActor, _log, tracker).Run(_materializer, _checkpoints);
        var completion = pump.Completion;
        _pumps[saga.Name] = pump;
        // A position not beyond the saga's checkpoint is not written again (the checkpoint actor keeps the furthest).
        _checkpointed.Remove(saga.Name);
        RunnerMetrics.Track(pump.Progress);
        // Consumers stopped by replays are done; a hand-off waits only for the ones that may still run.
        _completions.RemoveAll(t => t.IsCompleted);
        _completions.Add(completion);
        _tenantActor.Tell(new ConsumerCount(_pumps.Count));
        var sagaName = saga.Name;
        var log = _log;
        var tenant = _tenant;
        completion.ContinueWith(t =>
        {
            if (t.IsFaulted) log.Error(t.Exception, "Consumer of {0}/{1} stopped with an error", tenant, sagaName);
        }, TaskScheduler.Default);
    }

    private void OnPause(PauseSaga pause)
    {
        _paused.Add(pause.Saga);
        if (!_pumps.Remove(pause.Saga, out var pump))
        {
            Sender.Tell(new SagaPaused(pause.Saga, true));
            return;
        }

        // The replay owns the saga's checkpoint now: this consumption's position is not written any more.
        RunnerMetrics.Untrack(pump.Progress);
        _tenantActor.Tell(new ConsumerCount(_pumps.Count));

        // Its in-flight events finish (persisted, commands acknowledged, acked) before the consumer counts as stopped.
        pump.Stop();
        var saga = pause.Saga;
        Task.WhenAny(pump.Completion, Task.Delay(_nats.Settings.ProcessingTimeout * 2))
            .ContinueWith(t => new SagaPaused(saga, t.Result == pump.Completion), TaskScheduler.Default)
            .PipeTo(Sender);
    }

    /// <summary>
    /// Writes each consumption's applied position as its checkpoint when it moved (the checkpoint, not the consumer, is
    /// the truth a recreated consumer starts after), and warns about a consumption with events waiting, or no running
    /// consumer, whose position has not moved for longer than <c>runner.nats.consumer.stall-warning-after</c>.
    /// </summary>
    private void RecordProgress()
    {
        var now = DateTime.UtcNow;
        var stallAfter = _nats.Settings.StallWarningAfter;
        foreach (var (saga, pump) in _pumps)
        {
            var floor = pump.Progress.Floor;
            if (floor > _checkpointed.GetValueOrDefault(saga))
            {
                _checkpointed[saga] = floor;
                _checkpoints.Tell(new CheckpointAdvanced(saga, floor));
            }

            var view = pump.Progress.View();
            if (view.SinceProgress < stallAfter)
            {
                if (_stallWarned.Remove(saga)) _log.Info("Tenant {0}, saga {1}: consuming again after a stall (applied up to stream seq {2})", _tenant, saga, floor);
                continue;
            }

            if (_stallWarned.TryGetValue(saga, out var warned) && now - warned < stallAfter) continue;
            _stallWarned[saga] = now;
            _log.Warning("Tenant {0}, saga {1} stalled: {2}", _tenant, saga, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"applied nothing for {view.SinceProgress.TotalSeconds:0}s with {view.Lag} event(s) waiting; consumer {view.Consumer} {(view.Running ? "running" : "not running")} ({view.Reason}); applied up to stream seq {floor}"));
        }
    }

    protected override void PostStop()
    {
        foreach (var pump in _pumps.Values)
        {
            pump.Stop();
            RunnerMetrics.Untrack(pump.Progress);
        }

        _pumps.Clear();
        base.PostStop();
    }

    private sealed record Stopped(bool Finished);

    private sealed record CheckpointTick
    {
        public static CheckpointTick Instance { get; } = new();
    }
}
