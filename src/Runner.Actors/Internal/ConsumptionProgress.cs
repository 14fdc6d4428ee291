namespace Runner.Actors.Internal;

/// <summary>
/// Where one (tenant, saga) consumption stands, kept by its pump as events are delivered and finished: the applied
/// position (every event of the tenant up to it applied and acked; the checkpoint), the lag (events delivered and
/// not finished plus those the consumer reported still undelivered), whether a consumer is running, and when the
/// position last moved. Read by the tenant (checkpoints, stall warnings), the metrics and the admin API.
/// </summary>
internal sealed class ConsumptionProgress(string tenant, string saga, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly SortedSet<ulong> _inFlight = [];
    private ulong _lastDelivered;
    private ulong _pendingAfter;
    private ulong _floor;
    private long _lastProgress = time.GetTimestamp();
    private bool _running;
    private string _consumer = "";
    private string _reason = "not started";

    public string Tenant { get; } = tenant;

    public string Saga { get; } = saga;

    /// <summary>A consumer (re)started at <paramref name="startSeq"/>.</summary>
    public void Started(string consumer, ulong startSeq, string reason)
    {
        lock (_gate)
        {
            _running = true;
            _consumer = consumer;
            _reason = reason;
            if (_inFlight.Count == 0 && startSeq > 0) _lastDelivered = Math.Max(_lastDelivered, startSeq - 1);
            _pendingAfter = 0;
        }
    }

    /// <summary>The consumption stopped delivering (it restarts by itself).</summary>
    public void Interrupted(string reason)
    {
        lock (_gate)
        {
            _running = false;
            _reason = reason;
        }
    }

    /// <summary>An event was delivered; <paramref name="pendingAfter"/> is what the consumer still holds for us after it.</summary>
    public void Delivered(ulong seq, ulong pendingAfter)
    {
        lock (_gate)
        {
            _inFlight.Add(seq);
            if (seq > _lastDelivered) _lastDelivered = seq;
            _pendingAfter = pendingAfter;
        }
    }

    /// <summary>An event is finished (applied or parked, and acked): the applied position may move.</summary>
    public void Finished(ulong seq)
    {
        lock (_gate)
        {
            _inFlight.Remove(seq);
            var floor = _inFlight.Count == 0 ? _lastDelivered : _inFlight.Min - 1;
            if (floor > _floor)
            {
                _floor = floor;
                _lastProgress = time.GetTimestamp();
            }
        }
    }

    /// <summary>The stream sequence up to which every event of the tenant is applied (0 before the first).</summary>
    public ulong Floor
    {
        get
        {
            lock (_gate) return _floor;
        }
    }

    /// <summary>A consistent view now.</summary>
    public ConsumerProgressView View()
    {
        lock (_gate)
        {
            var lag = (ulong)_inFlight.Count + _pendingAfter;
            // Nothing waiting on a running consumer is not a stall: the clock starts when something waits.
            if (_running && lag == 0) _lastProgress = time.GetTimestamp();
            return new ConsumerProgressView(Tenant, Saga, _consumer, _floor, lag, _running, time.GetElapsedTime(_lastProgress), _reason);
        }
    }
}
