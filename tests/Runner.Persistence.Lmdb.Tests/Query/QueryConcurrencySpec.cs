using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Query;

/// <summary>Many queries running side by side with many writers; pages are small (10), so every query spans many read transactions.</summary>
public sealed class QueryConcurrencySpec(ITestOutputHelper output)
    : QuerySpecBase(output, "akka.persistence.query.journal.lmdb.max-buffer-size = 10")
{
    private const int Writers = 8;
    private const int EventsPerWriter = 40;

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
