using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Query;

/// <summary>CurrentEventsByPersistenceId and live EventsByPersistenceId of the LMDB read journal (Akka's TCK query specs).</summary>
public sealed class EventsByPersistenceIdSpec(ITestOutputHelper output) : QuerySpecBase(output)
{
    private async Task<IReadOnlyList<object>> CurrentEvents(string persistenceId, long from, long to) =>
        (await RunToEnd(ReadJournal.CurrentEventsByPersistenceId(persistenceId, from, to))).Select(e => e.Event).ToList();

    [Fact]
    public void ReadJournal_should_implement_the_events_by_persistence_id_queries()
    {
        Assert.IsAssignableFrom<ICurrentEventsByPersistenceIdQuery>(ReadJournal);
        Assert.IsAssignableFrom<IEventsByPersistenceIdQuery>(ReadJournal);
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_find_existing_events_and_complete()
    {
        Setup("a");
        Assert.Equal(["a-1", "a-2", "a-3"], await CurrentEvents("a", 0, long.MaxValue));
    }

    [Fact]
    public void CurrentEventsByPersistenceId_should_complete_right_after_the_last_event_on_exact_demand()
    {
        Setup("a");
        var probe = RunToProbe(ReadJournal.CurrentEventsByPersistenceId("a", 0, long.MaxValue).Select(e => e.Event));
        probe.Request(2).ExpectNext("a-1", "a-2");
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        probe.Request(1).ExpectNext("a-3");
        probe.ExpectComplete();
    }

    [Fact]
    public void CurrentEventsByPersistenceId_should_complete_on_exact_demand_within_from_and_to()
    {
        Setup("b", 5);
        var probe = RunToProbe(ReadJournal.CurrentEventsByPersistenceId("b", 2, 4).Select(e => e.Event));
        probe.Request(3).ExpectNext("b-2", "b-3", "b-4");
        probe.ExpectComplete();
    }

    [Fact]
    public void CurrentEventsByPersistenceId_should_complete_on_exact_demand_after_a_partial_delete()
    {
        var h = Setup("h");
        DeleteTo(h, 2);
        var probe = RunToProbe(ReadJournal.CurrentEventsByPersistenceId("h", 0, long.MaxValue).Select(e => e.Event));
        probe.Request(1).ExpectNext("h-3");
        probe.ExpectComplete();
    }

    [Fact]
    public void CurrentEventsByPersistenceId_should_complete_without_demand_when_nothing_is_left()
    {
        var g = Setup("g");
        DeleteTo(g, 3);
        RunToProbe(ReadJournal.CurrentEventsByPersistenceId("g", 0, long.MaxValue)).ExpectSubscriptionAndComplete();
        RunToProbe(ReadJournal.CurrentEventsByPersistenceId("never", 0, long.MaxValue)).ExpectSubscriptionAndComplete();
        RunToProbe(ReadJournal.CurrentEventsByPersistenceId("g", 3, 2)).ExpectSubscriptionAndComplete();
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_continue_after_the_kept_highest_sequence_number_when_all_was_deleted()
    {
        var g = Setup("g");
        DeleteTo(g, 3);
        Write(g, "g-4"); // the highest sequence number (3) survived the delete: the next event is 4

        var envelopes = await RunToEnd(ReadJournal.CurrentEventsByPersistenceId("g", 0, long.MaxValue));
        Assert.Equal([(4L, (object)"g-4")], envelopes.Select(e => (e.SequenceNr, e.Event)));
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_honour_from_and_to_sequence_numbers()
    {
        Setup("b", 5);
        Assert.Equal(["b-1", "b-2"], await CurrentEvents("b", 0, 2));
        Assert.Equal(["b-2", "b-3", "b-4"], await CurrentEvents("b", 2, 4));
        Assert.Equal(["b-5"], await CurrentEvents("b", 5, 5));
        Assert.Equal(["b-4", "b-5"], await CurrentEvents("b", 4, 100));
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_return_nothing_outside_the_written_range()
    {
        Setup("l");
        Assert.Empty(await CurrentEvents("l", 0, 0));
        Assert.Empty(await CurrentEvents("l", 4, 3));
        Assert.Empty(await CurrentEvents("l", 4, long.MaxValue));
        Assert.Empty(await CurrentEvents("l", 3, 2));
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_return_nothing_for_an_unknown_id()
    {
        Writer("i"); // started, never persisted
        Assert.Empty(await CurrentEvents("i", 0, long.MaxValue));
        Assert.Empty(await CurrentEvents("i", 0, 0));
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_not_see_events_written_after_it_started()
    {
        var writer = Setup("f");
        var queue = RunToQueue(ReadJournal.CurrentEventsByPersistenceId("f", 0, long.MaxValue));
        Assert.Equal("f-1", (await Next(queue)).Event);

        Write(writer, "f-4");

        Assert.Equal("f-2", (await Next(queue)).Event);
        Assert.Equal("f-3", (await Next(queue)).Event);
        await ExpectEnd(queue);
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_not_return_deleted_events()
    {
        var g = Setup("g");
        DeleteTo(g, 3);
        Assert.Empty(await CurrentEvents("g", 0, long.MaxValue));
        Assert.Empty(await CurrentEvents("g", 0, 0));

        var h = Setup("h");
        DeleteTo(h, 2);
        Assert.Equal(["h-3"], await CurrentEvents("h", 0, long.MaxValue));
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_read_more_events_than_its_buffer_in_order()
    {
        var writer = Writer("long");
        var events = Enumerable.Range(1, 1200).Select(i => $"long-{i}").ToArray(); // max-buffer-size is 500
        foreach (var e in events) writer.Tell(e);
        ReceiveN(events.Length, QueryTimeout);

        var envelopes = await RunToEnd(ReadJournal.CurrentEventsByPersistenceId("long", 0, long.MaxValue));
        Assert.Equal(events, envelopes.Select(e => e.Event));
        Assert.Equal(Enumerable.Range(1, 1200).Select(i => (long)i), envelopes.Select(e => e.SequenceNr));
    }

    [Fact]
    public async Task CurrentEventsByPersistenceId_should_carry_persistence_id_sequence_nr_offset_and_timestamp()
    {
        var before = DateTime.UtcNow.Ticks;
        Setup("m");
        var after = DateTime.UtcNow.Ticks;

        var envelopes = await RunToEnd(ReadJournal.CurrentEventsByPersistenceId("m", 0, long.MaxValue));
        Assert.Equal([1L, 2L, 3L], envelopes.Select(e => e.SequenceNr));
        Assert.All(envelopes, e => Assert.Equal("m", e.PersistenceId));
        Assert.All(envelopes, e => Assert.InRange(e.Timestamp, before, after));
        var offsets = envelopes.Select(OrderingOf).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(offsets.Count, offsets.Distinct().Count());
    }

    [Fact]
    public void EventsByPersistenceId_should_find_existing_and_new_events()
    {
        var writer = Setup("c");
        var probe = RunLive(ReadJournal.EventsByPersistenceId("c", 0, long.MaxValue));
        ExpectEnvelope(probe, "c", 1, "c-1");
        ExpectEnvelope(probe, "c", 2, "c-2");
        ExpectEnvelope(probe, "c", 3, "c-3");

        Write(writer, "c-4");
        ExpectEnvelope(probe, "c", 4, "c-4");
        Write(writer, "c-5", "c-6");
        ExpectEnvelope(probe, "c", 5, "c-5");
        ExpectEnvelope(probe, "c", 6, "c-6");
    }

    [Fact]
    public void EventsByPersistenceId_should_complete_when_it_reaches_to_sequence_nr()
    {
        var writer = Setup("d");
        var probe = RunLive(ReadJournal.EventsByPersistenceId("d", 0, 4));
        ExpectEnvelope(probe, "d", 1, "d-1");
        ExpectEnvelope(probe, "d", 2, "d-2");
        ExpectEnvelope(probe, "d", 3, "d-3");
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Write(writer, "d-4", "d-5");
        ExpectEnvelope(probe, "d", 4, "d-4");
        probe.ExpectMsg<Completed>(QueryTimeout);
    }

    [Fact]
    public void EventsByPersistenceId_should_complete_at_once_when_to_sequence_nr_is_already_written()
    {
        Setup("n");
        var probe = RunLive(ReadJournal.EventsByPersistenceId("n", 2, 3));
        ExpectEnvelope(probe, "n", 2, "n-2");
        ExpectEnvelope(probe, "n", 3, "n-3");
        probe.ExpectMsg<Completed>(QueryTimeout);
    }

    [Fact]
    public void EventsByPersistenceId_should_see_the_first_events_of_an_id_not_yet_written()
    {
        var probe = RunLive(ReadJournal.EventsByPersistenceId("late", 0, long.MaxValue));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        var writer = Writer("late");
        Write(writer, "late-1", "late-2");
        ExpectEnvelope(probe, "late", 1, "late-1");
        ExpectEnvelope(probe, "late", 2, "late-2");
    }

    [Fact]
    public void EventsByPersistenceId_should_start_at_from_sequence_nr_and_skip_deleted_events()
    {
        var writer = Setup("o", 4);
        DeleteTo(writer, 2);

        var fromStart = RunLive(ReadJournal.EventsByPersistenceId("o", 0, long.MaxValue));
        ExpectEnvelope(fromStart, "o", 3, "o-3");
        ExpectEnvelope(fromStart, "o", 4, "o-4");

        var fromFour = RunLive(ReadJournal.EventsByPersistenceId("o", 4, long.MaxValue));
        ExpectEnvelope(fromFour, "o", 4, "o-4");

        Write(writer, "o-5");
        ExpectEnvelope(fromStart, "o", 5, "o-5");
        ExpectEnvelope(fromFour, "o", 5, "o-5");
    }

    [Fact]
    public void EventsByPersistenceId_should_only_see_its_own_persistence_id()
    {
        var p = Setup("p", 1);
        var q = Setup("q", 1);
        var probe = RunLive(ReadJournal.EventsByPersistenceId("p", 0, long.MaxValue));
        ExpectEnvelope(probe, "p", 1, "p-1");

        Write(q, "q-2");
        Write(p, "p-2");
        ExpectEnvelope(probe, "p", 2, "p-2");
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }
}
