using Akka;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit;
using Runner.Persistence.Lmdb.Query;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Query;

/// <summary>
/// Base of the read journal specs: LMDB in a temp directory, the LMDB read journal, a persistent
/// <see cref="QueryTestActor"/> that persists what it is told and replies "{event}-done", and the
/// <see cref="ColorTagger"/> event adapter that tags string events by the colours they mention (as Akka's TCK does).
/// </summary>
public abstract class QuerySpecBase : LmdbSpecBase
{
    private const string AdapterHocon = """
        akka.persistence.journal.lmdb {
          event-adapters { color = "Runner.Persistence.Lmdb.Tests.Query.ColorTagger, Runner.Persistence.Lmdb.Tests" }
          event-adapter-bindings { "System.String" = color }
        }
        """;

    protected QuerySpecBase(ITestOutputHelper output, string extraHocon = "")
        : base(output, extraHocon + "\n" + AdapterHocon)
    {
        Materializer = Sys.Materializer();
        ReadJournal = PersistenceQuery.Get(Sys).ReadJournalFor<LmdbReadJournal>(LmdbReadJournal.Identifier);
    }

    protected static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(10);

    protected ActorMaterializer Materializer { get; }

    protected LmdbReadJournal ReadJournal { get; }

    /// <summary>Starts a writer for <paramref name="persistenceId"/>.</summary>
    protected IActorRef Writer(string persistenceId) => Sys.ActorOf(QueryTestActor.Props(persistenceId));

    /// <summary>Persists each event in turn, waiting for its confirmation.</summary>
    protected void Write(IActorRef writer, params string[] events)
    {
        foreach (var e in events)
        {
            writer.Tell(e);
            ExpectMsg(e + "-done");
        }
    }

    /// <summary>A writer for <paramref name="persistenceId"/> that has persisted "{id}-1".."{id}-{count}".</summary>
    protected IActorRef Setup(string persistenceId, int count = 3)
    {
        var writer = Writer(persistenceId);
        Write(writer, Enumerable.Range(1, count).Select(i => $"{persistenceId}-{i}").ToArray());
        return writer;
    }

    /// <summary>Deletes events up to <paramref name="toSequenceNr"/> through the writer's DeleteMessages.</summary>
    protected void DeleteTo(IActorRef writer, long toSequenceNr)
    {
        writer.Tell(new QueryTestActor.DeleteTo(toSequenceNr));
        ExpectMsg($"{toSequenceNr}-deleted");
    }

    /// <summary>Runs a query into a subscriber probe that requests only what the spec asks for.</summary>
    protected TestSubscriber.Probe<T> RunToProbe<T>(Source<T, NotUsed> source) => source.RunWith(this.SinkProbe<T>(), Materializer);

    /// <summary>Persists <paramref name="events"/> with PersistAll: one AtomicWrite.</summary>
    protected void WriteAtomically(IActorRef writer, params string[] events)
    {
        writer.Tell(new QueryTestActor.PersistBatch(events));
        ExpectMsg(string.Join(",", events) + "-done");
    }

    /// <summary>Runs a finite query to completion.</summary>
    protected async Task<IReadOnlyList<T>> RunToEnd<T>(Source<T, NotUsed> source) =>
        await source.RunWith(Sink.Seq<T>(), Materializer).WaitAsync(QueryTimeout);

    /// <summary>
    /// Runs a query into a queue that holds at most one element ahead of the consumer, so a spec controls how
    /// far the query has read.
    /// </summary>
    protected ISinkQueue<T> RunToQueue<T>(Source<T, NotUsed> source) =>
        source.RunWith(Sink.Queue<T>().WithAttributes(Attributes.CreateInputBuffer(1, 1)), Materializer);

    protected static async Task<T> Next<T>(ISinkQueue<T> queue)
    {
        var next = await queue.PullAsync().WaitAsync(QueryTimeout);
        return next.HasValue ? next.Value : throw new InvalidOperationException("the query completed early");
    }

    protected static async Task ExpectEnd<T>(ISinkQueue<T> queue)
    {
        var next = await queue.PullAsync().WaitAsync(QueryTimeout);
        if (next.HasValue) throw new InvalidOperationException($"expected the query to complete, got {next.Value}");
    }

    /// <summary>Runs a live query into a probe: each element arrives as a message, completion as <see cref="Completed"/>.</summary>
    protected TestProbe RunLive<T>(Source<T, NotUsed> source)
    {
        var probe = CreateTestProbe();
        var killSwitch = source
            .ViaMaterialized(KillSwitches.Single<T>(), Keep.Right)
            .To(Sink.ActorRef<T>(probe.Ref, Completed.Instance, e => new Status.Failure(e)))
            .Run(Materializer);
        _liveQueries.Add(killSwitch);
        return probe;
    }

    private readonly List<UniqueKillSwitch> _liveQueries = [];

    /// <summary>Expects the next envelope on a live query probe and checks who wrote it.</summary>
    protected static EventEnvelope ExpectEnvelope(TestProbe probe, string persistenceId, long sequenceNr, object @event)
    {
        var envelope = probe.ExpectMsg<EventEnvelope>(QueryTimeout);
        Xunit.Assert.Equal((persistenceId, sequenceNr, @event), (envelope.PersistenceId, envelope.SequenceNr, envelope.Event));
        return envelope;
    }

    protected static long OrderingOf(EventEnvelope envelope) => Xunit.Assert.IsType<Sequence>(envelope.Offset).Value;

    protected override void AfterAll()
    {
        foreach (var query in _liveQueries) query.Shutdown();
        base.AfterAll();
    }

    /// <summary>Completion message of <see cref="RunLive{T}"/>.</summary>
    protected sealed class Completed
    {
        public static readonly Completed Instance = new();

        private Completed()
        {
        }
    }
}

/// <summary>Persists strings (tagged by <see cref="ColorTagger"/>) and explicit <see cref="Tagged"/> events.</summary>
public sealed class QueryTestActor : ReceivePersistentActor
{
    public sealed record DeleteTo(long ToSequenceNr);

    public sealed record PersistBatch(IReadOnlyList<string> Events);

    private IActorRef? _deleteRequester;

    public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new QueryTestActor(persistenceId));

    public QueryTestActor(string persistenceId)
    {
        PersistenceId = persistenceId;
        Recover<object>(_ => { });
        Command<string>(s => Persist(s, e => Sender.Tell(e + "-done")));
        Command<Tagged>(t => Persist(t, e => Sender.Tell(e.Payload + "-done")));
        Command<PersistBatch>(b =>
        {
            var left = b.Events.Count;
            PersistAll(b.Events, _ =>
            {
                if (--left == 0) Sender.Tell(string.Join(",", b.Events) + "-done");
            });
        });
        Command<DeleteTo>(d =>
        {
            _deleteRequester = Sender;
            DeleteMessages(d.ToSequenceNr);
        });
        Command<DeleteMessagesSuccess>(s => _deleteRequester?.Tell($"{s.ToSequenceNr}-deleted"));
        Command<DeleteMessagesFailure>(f => _deleteRequester?.Tell(new Status.Failure(f.Cause)));
    }

    public override string PersistenceId { get; }
}

/// <summary>Tags a string event with each colour word it contains.</summary>
public sealed class ColorTagger : IWriteEventAdapter
{
    private static readonly string[] Colors = ["green", "black", "blue"];

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt)
    {
        if (evt is not string s) return evt;
        var words = s.Split(' ');
        var tags = Colors.Where(words.Contains).ToArray();
        return tags.Length == 0 ? evt : new Tagged(evt, tags);
    }
}
