using Akka;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Runner.Persistence.Lmdb.Internal;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Query;

/// <summary>
/// Queries running side by side with writers, and queries cancelled half-way. Pages are small (10) so every query
/// spans several read transactions; the environment has 4 reader slots and a 64 KiB initial map, so a read
/// transaction left open would soon exhaust the slots or block the map from growing.
/// </summary>
public sealed class QueryConcurrencySpec(ITestOutputHelper output) : QuerySpecBase(output, """
    akka.persistence.query.journal.lmdb.max-buffer-size = 10
    akka.persistence.journal.lmdb { max-readers = 4, map-size = 64KiB }
    akka.persistence.snapshot-store.lmdb { max-readers = 4, map-size = 64KiB }
    """)
{
    private const int Writers = 8;
    private const int EventsPerWriter = 40;

    private LmdbStore Store => LmdbPersistence.Get(Sys).StoreFor(LmdbPersistence.JournalPath);

    [Fact]
    public async Task Queries_should_each_see_every_event_once_in_order_while_many_writers_write()
    {
        var liveByTag = Enumerable.Range(0, 5).Select(_ => RunLive(ReadJournal.EventsByTag("green", Offset.NoOffset()))).ToList();
        var liveById = Enumerable.Range(0, Writers).Select(w => RunLive(ReadJournal.EventsByPersistenceId($"w{w}", 0, long.MaxValue))).ToList();
        var liveIds = RunLive(ReadJournal.PersistenceIds());

        var writers = Enumerable.Range(0, Writers).Select(w => Writer($"w{w}")).ToList();
        for (var n = 1; n <= EventsPerWriter; n++)
        {
            for (var w = 0; w < Writers; w++) writers[w].Tell($"green w{w} {n}");
        }

        // Current queries while the writes land: each sees a gap-free prefix of every writer, in offset order.
        for (var round = 0; round < 10; round++)
        {
            AssertConsistent(await RunToEnd(ReadJournal.CurrentEventsByTag("green", Offset.NoOffset())), complete: false);
            var ids = await RunToEnd(ReadJournal.CurrentPersistenceIds());
            Assert.Equal(ids.Count, ids.Distinct().Count());
        }

        ReceiveN(Writers * EventsPerWriter, QueryTimeout);

        foreach (var probe in liveByTag)
            AssertConsistent(Enumerable.Range(0, Writers * EventsPerWriter).Select(_ => probe.ExpectMsg<EventEnvelope>(QueryTimeout)).ToList(), complete: true);
        for (var w = 0; w < Writers; w++)
        {
            var seen = Enumerable.Range(0, EventsPerWriter).Select(_ => liveById[w].ExpectMsg<EventEnvelope>(QueryTimeout).SequenceNr);
            Assert.Equal(Enumerable.Range(1, EventsPerWriter).Select(i => (long)i), seen);
        }

        var announced = Enumerable.Range(0, Writers).Select(_ => liveIds.ExpectMsg<string>(QueryTimeout));
        Assert.Equal(Enumerable.Range(0, Writers).Select(w => $"w{w}"), announced.Order(StringComparer.Ordinal));
        AssertConsistent(await RunToEnd(ReadJournal.CurrentEventsByTag("green", Offset.NoOffset())), complete: true);
        liveIds.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

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

        // Growing the map needs every read transaction of the process to be closed; new queries need free reader slots.
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

    /// <summary>Offsets strictly increase, and each writer's events form a gap-free run from 1 (all of them when complete).</summary>
    private static void AssertConsistent(IReadOnlyList<EventEnvelope> envelopes, bool complete)
    {
        var offsets = envelopes.Select(OrderingOf).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
        foreach (var group in envelopes.GroupBy(e => e.PersistenceId))
            Assert.Equal(Enumerable.Range(1, group.Count()).Select(i => (long)i), group.Select(e => e.SequenceNr));
        if (complete) Assert.Equal(Writers * EventsPerWriter, envelopes.Count);
    }
}
