using Akka;
using Akka.Streams;
using Akka.Streams.Stage;

namespace Runner.Persistence.Lmdb.Query;

/// <summary>One page of a query: its elements, and whether the query has nothing after them.</summary>
internal readonly record struct Page<T>(IReadOnlyList<T> Items, bool Last);

/// <summary>
/// The cursor of one materialized query. It is created when the stream starts, which is where a current query fixes
/// its upper bound; every <see cref="Read"/> runs one short read transaction and moves the cursor past what it returns.
/// </summary>
internal interface IPageReader<T>
{
    Page<T> Read();
}

/// <summary>
/// Source of a read-journal query that holds at most one page in memory. A current query reads its next page as soon
/// as the buffered one is emptied, so it completes right after its last element, on exactly the demand that element
/// needed. A live query waits for the store's next commit (or the refresh interval) when a read comes back empty.
/// </summary>
internal sealed class PagedSource<T> : GraphStage<SourceShape<T>>
{
    private readonly string _name;
    private readonly Func<IPageReader<T>> _open;
    private readonly Func<Task>? _whenWritten;
    private readonly TimeSpan _refresh;

    /// <param name="name">Stage name shown in stream errors.</param>
    /// <param name="open">Creates the query's cursor when the stream starts.</param>
    /// <param name="whenWritten">Null for a current query; for a live one, the store's signal of its next commit.</param>
    /// <param name="refresh">Longest wait of a live query between two reads that found nothing.</param>
    public PagedSource(string name, Func<IPageReader<T>> open, Func<Task>? whenWritten, TimeSpan refresh)
    {
        _name = name;
        _open = open;
        _whenWritten = whenWritten;
        _refresh = refresh;
        Out = new Outlet<T>(name + ".out");
        Shape = new SourceShape<T>(Out);
    }

    public Outlet<T> Out { get; }

    public override SourceShape<T> Shape { get; }

    protected override Attributes InitialAttributes => Attributes.CreateName(_name);

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : TimerGraphStageLogic
    {
        private const string RefreshTimer = "refresh";
        private readonly PagedSource<T> _stage;
        private readonly Queue<T> _buffer = new();
        private IPageReader<T> _reader = null!;
        private Action<NotUsed> _wake = null!;
        private bool _last;
        private bool _waiting;
        private Task? _signal;
        private Task? _watched;

        public Logic(PagedSource<T> stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage.Out, onPull: Deliver);
        }

        private bool Live => _stage._whenWritten is not null;

        public override void PreStart()
        {
            _wake = GetAsyncCallback<NotUsed>(_ => Wake());
            _reader = _stage._open();
            if (Live) return;

            // A current query with nothing to return completes without waiting for demand.
            Fill();
            if (_buffer.Count == 0 && _last) CompleteStage();
        }

        private void Deliver()
        {
            if (_buffer.Count == 0 && !_last) Fill();
            if (_buffer.Count > 0)
            {
                Push(_stage.Out, _buffer.Dequeue());
                // Learn now, not on the next pull, whether that was the last element of a current query.
                if (_buffer.Count == 0 && !_last && !Live) Fill();
            }

            if (_buffer.Count > 0) return;
            if (_last) CompleteStage();
            else if (IsAvailable(_stage.Out)) WaitForWrites();
        }

        private void Fill()
        {
            // The signal is taken before the read, so a commit that lands after the read still wakes the query.
            if (Live) _signal = _stage._whenWritten!();
            var page = _reader.Read();
            foreach (var item in page.Items) _buffer.Enqueue(item);
            _last = page.Last || (!Live && page.Items.Count == 0);
        }

        private void WaitForWrites()
        {
            if (_waiting) return;
            _waiting = true;
            ScheduleOnce(RefreshTimer, _stage._refresh);
            if (_signal is { } signal && !ReferenceEquals(signal, _watched))
            {
                // One continuation per commit signal, however many refresh intervals pass before the next commit.
                _watched = signal;
                var wake = _wake;
                signal.ContinueWith(_ => wake(NotUsed.Instance), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        private void Wake()
        {
            if (!_waiting) return;
            _waiting = false;
            CancelTimer(RefreshTimer);
            if (IsAvailable(_stage.Out)) Deliver();
        }

        protected override void OnTimer(object timerKey) => Wake();
    }
}
