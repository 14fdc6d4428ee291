using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Query;

/// <summary>
/// Queries that read several pages (max-buffer-size 10 here): a current query still completes right after its last
/// element when that element ends a full page, and a live one pages through what exists before it waits.
/// </summary>
public sealed class QueryPagingSpec(ITestOutputHelper output)
    : QuerySpecBase(output, "akka.persistence.query.journal.lmdb.max-buffer-size = 10")
{
    [Theory]
    [InlineData(20)] // ends on a full page
    [InlineData(25)]
    public void CurrentPersistenceIds_should_complete_on_exact_demand_across_pages(int count)
    {
        for (var i = 1; i <= count; i++) Setup($"pid-{i:D2}", 1);

        var probe = RunToProbe(ReadJournal.CurrentPersistenceIds());
        probe.Request(count);
        Assert.Equal(Enumerable.Range(1, count).Select(i => $"pid-{i:D2}"), probe.ExpectNextN(count));
        probe.ExpectComplete();
    }

    [Theory]
    [InlineData(20)]
    [InlineData(25)]
    public void CurrentEventsByPersistenceId_should_complete_on_exact_demand_across_pages(int count)
    {
        Setup("p", count);

        var probe = RunToProbe(ReadJournal.CurrentEventsByPersistenceId("p", 0, long.MaxValue).Select(e => e.SequenceNr));
        probe.Request(count);
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), probe.ExpectNextN(count));
        probe.ExpectComplete();
    }

    [Theory]
    [InlineData(20)]
    [InlineData(25)]
    public void CurrentEventsByTag_should_complete_on_exact_demand_across_pages(int count)
    {
        var writer = Writer("t");
        Write(writer, Enumerable.Range(1, count).Select(i => $"green {i}").ToArray());
        Write(Writer("other"), "black 1"); // a higher ordering under another tag: the bound is not the tag's last event

        var probe = RunToProbe(ReadJournal.CurrentEventsByTag("green", Offset.NoOffset()).Select(e => e.Event));
        probe.Request(count);
        Assert.Equal(Enumerable.Range(1, count).Select(i => (object)$"green {i}"), probe.ExpectNextN(count));
        probe.ExpectComplete();
    }

    [Fact]
    public void Live_queries_should_page_through_existing_events_and_then_see_new_ones()
    {
        var writer = Setup("l", 25);
        var byId = RunLive(ReadJournal.EventsByPersistenceId("l", 0, long.MaxValue));
        var byTag = RunLive(ReadJournal.EventsByTag("green", Offset.NoOffset()));
        var ids = RunLive(ReadJournal.PersistenceIds());
        for (var i = 1; i <= 25; i++) ExpectEnvelope(byId, "l", i, $"l-{i}");
        Assert.Equal("l", ids.ExpectMsg<string>(QueryTimeout));

        Write(writer, "l green 26");
        ExpectEnvelope(byId, "l", 26, "l green 26");
        ExpectEnvelope(byTag, "l", 26, "l green 26");
        Setup("m", 1);
        Assert.Equal("m", ids.ExpectMsg<string>(QueryTimeout));
    }
}
