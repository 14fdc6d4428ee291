using Akka.Actor;
using Runner.Actors.Protocol;

namespace Runner.Actors.Internal;

/// <summary>
/// The answers of a consumption's instances to the events it delivers. An <c>Ask</c> per event registered a temporary
/// actor under a fresh path and armed a timer for its timeout; here each event gets a plain reply target with no
/// registration, and one timer per consumption answers the overdue ones with <see cref="NotApplied"/> (within a quarter
/// of the timeout, at most a second, after it ran out). The timer runs only while some event waits: an idle tenant's
/// consumptions cost nothing.
/// </summary>
internal sealed class OutcomeReplies : IDisposable
{
    private readonly IActorRefProvider _provider;
    private readonly ActorPath _basePath;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _every;
    private readonly Timer _sweep;
    private readonly object _gate = new();

    // In-flight replies, oldest first (deadlines grow with arrival: one timeout for all); removed as they complete.
    private Reply? _head;
    private Reply? _tail;
    private long _next;
    private bool _armed;
    private bool _disposed;

    public OutcomeReplies(IActorRefProvider provider, TimeSpan timeout)
    {
        _provider = provider;
        _basePath = provider.TempPath();
        _timeout = timeout;
        _every = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _sweep = new Timer(_ => Sweep(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How many events wait for their instance's answer.</summary>
    public int Pending { get; private set; }

    /// <summary>Sends <paramref name="message"/> to <paramref name="target"/> and waits for its outcome or the timeout.</summary>
    public async Task<IEventOutcome> Send(IActorRef target, object message)
    {
        Reply reply;
        lock (_gate)
        {
            if (_disposed) return new NotApplied("the consumption stopped");
            reply = new Reply(this, ++_next, Environment.TickCount64 + (long)_timeout.TotalMilliseconds);
            reply.Previous = _tail;
            if (_tail is null) _head = reply;
            else _tail.Next = reply;
            _tail = reply;
            Pending++;
            if (!_armed)
            {
                _armed = true;
                _sweep.Change(_every, _every);
            }
        }

        try
        {
            target.Tell(message, reply);
            return await reply.Outcome.ConfigureAwait(false);
        }
        finally
        {
            Remove(reply);
        }
    }

    private void Remove(Reply reply)
    {
        lock (_gate)
        {
            if (reply.Removed) return;
            reply.Removed = true;
            if (reply.Previous is null) _head = reply.Next;
            else reply.Previous.Next = reply.Next;
            if (reply.Next is null) _tail = reply.Previous;
            else reply.Next.Previous = reply.Previous;
            reply.Previous = reply.Next = null;
            Pending--;
        }
    }

    private void Sweep()
    {
        lock (_gate)
        {
            if (_disposed) return;
            if (_head is null && _armed)
            {
                // Nothing waits: the timer rests until the next event is sent.
                _armed = false;
                _sweep.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                return;
            }
        }

        var now = Environment.TickCount64;
        AnswerWhile(head => head.Deadline <= now, $"not applied within {_timeout}");
    }

    /// <summary>Stops the timer; replies still in flight are answered as not applied.</summary>
    public void Dispose()
    {
        lock (_gate) _disposed = true;
        _sweep.Dispose();
        AnswerWhile(_ => true, "the consumption stopped");
    }

    /// <summary>Answers the oldest waiting events as not applied, as long as <paramref name="due"/> holds for the oldest.</summary>
    private void AnswerWhile(Func<Reply, bool> due, string reason)
    {
        while (true)
        {
            Reply? answered;
            lock (_gate)
            {
                answered = _head is { } head && due(head) ? head : null;
            }

            if (answered is null) return;
            Remove(answered);
            answered.Complete(new NotApplied(reason));
        }
    }

    /// <summary>The sender of one delivered event: the first outcome told to it completes the wait.</summary>
    private sealed class Reply(OutcomeReplies owner, long id, long deadline) : MinimalActorRef
    {
        private readonly TaskCompletionSource<IEventOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ActorPath? _path;

        public long Deadline { get; } = deadline;

        public Reply? Previous { get; set; }

        public Reply? Next { get; set; }

        public bool Removed { get; set; }

        public Task<IEventOutcome> Outcome => _outcome.Task;

        // Built only when something asks (a dead letter's log line, equality): the hot path never does.
        public override ActorPath Path => _path ??= owner._basePath / ("r" + id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public override IActorRefProvider Provider => owner._provider;

        public void Complete(IEventOutcome outcome) => _outcome.TrySetResult(outcome);

        protected override void TellInternal(object message, IActorRef sender)
        {
            switch (message)
            {
                case IEventOutcome outcome:
                    Complete(outcome);
                    break;
                case Status.Failure failure:
                    Complete(new NotApplied(failure.Cause?.Message ?? "failed"));
                    break;
            }
        }
    }
}
