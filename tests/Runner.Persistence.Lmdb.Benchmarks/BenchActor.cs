using Akka.Actor;
using Akka.Persistence;

namespace Runner.Persistence.Lmdb.Benchmarks;

/// <summary>
/// Counters a scenario shares with its actors. Completion is observed through tasks rather than asks so that the
/// measuring thread adds no messages of its own.
/// </summary>
internal sealed class ScenarioProbe(long expectedEvents, int expectedActors)
{
    private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _confirmed;
    private long _recoveredEvents;
    private int _recoveredActors;
    private int _failures;
    private volatile bool _cancelled;

    /// <summary>Completes when every expected event has been confirmed by its persist handler.</summary>
    public Task Written => expectedEvents == 0 ? Task.CompletedTask : _written.Task;

    /// <summary>Completes when every actor has finished recovery.</summary>
    public Task Recovered => _recovered.Task;

    public long Confirmed => Interlocked.Read(ref _confirmed);

    public long RecoveredEvents => Interlocked.Read(ref _recoveredEvents);

    public int RecoveredActors => Volatile.Read(ref _recoveredActors);

    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Set when the phase hit its time cap: actors drop the commands still queued.</summary>
    public bool Cancelled => _cancelled;

    public void Cancel() => _cancelled = true;

    public void OnConfirmed()
    {
        if (Interlocked.Increment(ref _confirmed) == expectedEvents) _written.TrySetResult();
    }

    public void OnRecovered(long events)
    {
        Interlocked.Add(ref _recoveredEvents, events);
        if (Interlocked.Increment(ref _recoveredActors) == expectedActors) _recovered.TrySetResult();
    }

    public void OnFailure() => Interlocked.Increment(ref _failures);
}

/// <summary>
/// The persistent actor of every scenario: each <see cref="Write"/> persists the same payload with
/// <c>Persist</c> or <c>PersistAsync</c>; recovery counts the events replayed.
/// </summary>
internal sealed class BenchActor : PersistentActor
{
    private readonly ScenarioProbe _probe;
    private readonly PersistMode _mode;
    private readonly string _payload;
    private readonly Action<string> _onPersisted;
    private long _replayed;

    public BenchActor(string persistenceId, PersistMode mode, string payload, ScenarioProbe probe)
    {
        PersistenceId = persistenceId;
        _mode = mode;
        _payload = payload;
        _probe = probe;
        _onPersisted = _ => _probe.OnConfirmed();
    }

    public override string PersistenceId { get; }

    public static Props Props(string persistenceId, PersistMode mode, string payload, ScenarioProbe probe) =>
        Akka.Actor.Props.Create(() => new BenchActor(persistenceId, mode, payload, probe));

    /// <summary>Persist one event.</summary>
    public sealed class Write
    {
        public static readonly Write Instance = new();

        private Write() { }
    }

    /// <summary>Stop once every pending persist handler has run.</summary>
    public sealed class Finish
    {
        public static readonly Finish Instance = new();

        private Finish() { }
    }

    protected override bool ReceiveRecover(object message)
    {
        switch (message)
        {
            case string:
                _replayed++;
                return true;
            case RecoveryCompleted:
                _probe.OnRecovered(_replayed);
                return true;
            default:
                return true;
        }
    }

    protected override bool ReceiveCommand(object message)
    {
        switch (message)
        {
            case Write when _probe.Cancelled:
                return true;
            case Write when _mode == PersistMode.Persist:
                Persist(_payload, _onPersisted);
                return true;
            case Write:
                PersistAsync(_payload, _onPersisted);
                return true;
            case Finish:
                DeferAsync(message, _ => Context.Stop(Self));
                return true;
            default:
                return false;
        }
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _probe.OnFailure();
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _probe.OnFailure();
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _probe.OnFailure();
        _probe.OnRecovered(_replayed);
        base.OnRecoveryFailure(reason, message);
    }
}
