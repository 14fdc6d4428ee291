using Akka;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Runner.Persistence.Lmdb.Internal;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Query;

/// <summary>
/// Queries cancelled half-way hold no read transaction: pages are small (10), and the map starts at 64 KiB, so the
/// spec can then force the map to grow, which needs every read transaction of the process closed.
/// </summary>
public sealed class QueryCancellationSpec(ITestOutputHelper output) : QuerySpecBase(output, """
    akka.persistence.query.journal.lmdb.max-buffer-size = 10
    akka.persistence.journal.lmdb.map-size = 64KiB
    akka.persistence.snapshot-store.lmdb.map-size = 64KiB
    """)
{
    private LmdbStore Store => LmdbPersistence.Get(Sys).StoreFor(LmdbPersistence.JournalPath);

    [Fact]
    public void Cancelled_queries_should_leave_no_read_transaction_open()
    {
        var writer = Setup("c", 30);
        Write(writer, Enumerable.Range(1, 30).Select(i => $"green {i}").ToArray());

        // Twenty of each query read part of a page, then their subscriber cancels; ten of the live ones first wait
        // for new events (nothing left to read), the others are cancelled while pages are still buffered.
        var probes = new List<TestSubscriber.Probe<EventEnvelope>>();
        for (var i = 0; i < 20; i++)
        {
            var waiting = i < 10;
            var queries = new (Source<EventEnvelope, NotUsed> Source, bool HasNext)[]
            {
                (ReadJournal.CurrentEventsByPersistenceId("c", 0, long.MaxValue), true),
                (ReadJournal.EventsByPersistenceId("c", 0, long.MaxValue), true),
                (ReadJournal.CurrentEventsByTag("green", Offset.NoOffset()), true),
                (ReadJournal.EventsByTag("green", waiting ? Offset.Sequence(60) : Offset.NoOffset()), !waiting),
            };
            foreach (var (source, hasNext) in queries)
            {
                var probe = RunToProbe(source);
                probe.Request(1);
                if (hasNext) probe.ExpectNext(QueryTimeout);
                probes.Add(probe);
            }
        }

        var ids = RunToProbe(ReadJournal.CurrentPersistenceIds());
        ids.Request(1).ExpectNext("c");
        ids.Cancel();
        foreach (var probe in probes) probe.Cancel();

        AwaitAssert(() => Assert.Equal(0, Store.OpenReadTransactions), QueryTimeout);

        // Growing the map needs every read transaction of the process closed; the store takes it exclusively meanwhile.
        var mapBefore = Store.MapSize;
        Write(writer, new string('x', (int)mapBefore)); // larger than the whole map
        Assert.True(Store.MapSize > mapBefore, $"map {Store.MapSize} did not grow from {mapBefore}");
        for (var i = 0; i < 10; i++)
        {
            var probe = RunToProbe(ReadJournal.CurrentEventsByPersistenceId("c", 61, long.MaxValue));
            probe.Request(1).ExpectNext(QueryTimeout);
            probe.ExpectComplete();
        }
    }
}
