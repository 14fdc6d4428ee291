using Akka.Actor;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Query;

/// <summary>
/// CurrentEventsByTag and live EventsByTag of the LMDB read journal (Akka's TCK query specs). Offsets are
/// <see cref="Sequence"/> values of one global ordering: exclusive, increasing, shared by every tag and id.
/// </summary>
public sealed class EventsByTagSpec(ITestOutputHelper output) : QuerySpecBase(output)
{
    private async Task<IReadOnlyList<EventEnvelope>> CurrentByTag(string tag, Offset offset) =>
        await RunToEnd(ReadJournal.CurrentEventsByTag(tag, offset));

    private static (string, long, object)[] Keys(IEnumerable<EventEnvelope> envelopes) =>
        envelopes.Select(e => (e.PersistenceId, e.SequenceNr, e.Event)).ToArray();

    /// <summary>Writes, in this global order, events of a, b and c; green ones are interleaved across the three ids.</summary>
    private void WriteFruit()
    {
        var a = Writer("a");
        var b = Writer("b");
        var c = Writer("c");
        Write(a, "hello");
        Write(a, "a green apple");
        Write(b, "a black car");
        Write(a, "something else");
        Write(a, "a green banana");
        Write(b, "a green leaf");
        Write(c, "a green cucumber");
    }

    private static readonly (string, long, object)[] Green =
    [
        ("a", 2L, "a green apple"),
        ("a", 4L, "a green banana"),
        ("b", 2L, "a green leaf"),
        ("c", 1L, "a green cucumber"),
    ];

    [Fact]
    public void ReadJournal_should_implement_the_events_by_tag_queries()
    {
        Assert.IsAssignableFrom<ICurrentEventsByTagQuery>(ReadJournal);
        Assert.IsAssignableFrom<IEventsByTagQuery>(ReadJournal);
    }

    [Fact]
    public async Task CurrentEventsByTag_should_find_existing_events_in_global_order()
    {
        WriteFruit();

        Assert.Equal(Green, Keys(await CurrentByTag("green", Offset.NoOffset())));
        Assert.Equal([("b", 1L, (object)"a black car")], Keys(await CurrentByTag("black", Offset.NoOffset())));
        // A Sequence(0) offset means "from the beginning" as well.
        Assert.Equal(Green, Keys(await CurrentByTag("green", Offset.Sequence(0))));
    }

    [Fact]
    public void CurrentEventsByTag_should_complete_right_after_the_last_event_on_exact_demand()
    {
        var writer = Writer("many");
        var events = Enumerable.Range(1, 150).Select(i => $"blue {i}").ToArray();
        foreach (var e in events) writer.Tell(e);
        ReceiveN(events.Length, QueryTimeout);

        var probe = RunToProbe(ReadJournal.CurrentEventsByTag("blue", Offset.NoOffset()).Select(e => e.Event));
        probe.Request(150);
        Assert.Equal(events, probe.ExpectNextN(150, QueryTimeout));
        probe.ExpectComplete();
    }

    [Fact]
    public void CurrentEventsByTag_should_complete_on_exact_demand_after_a_Sequence_offset()
    {
        WriteFruit();
        var all = RunToProbe(ReadJournal.CurrentEventsByTag("green", Offset.NoOffset()));
        all.Request(4);
        var envelopes = all.ExpectNextN(4).ToList();
        all.ExpectComplete();

        var rest = RunToProbe(ReadJournal.CurrentEventsByTag("green", envelopes[1].Offset));
        rest.Request(2);
        Assert.Equal(Green[2..], Keys(rest.ExpectNextN(2)));
        rest.ExpectComplete();

        RunToProbe(ReadJournal.CurrentEventsByTag("green", envelopes[^1].Offset)).ExpectSubscriptionAndComplete();
    }

    [Fact]
    public void CurrentEventsByTag_should_complete_without_demand_on_an_empty_journal()
    {
        RunToProbe(ReadJournal.CurrentEventsByTag("green", Offset.NoOffset())).ExpectSubscriptionAndComplete();
    }

    [Fact]
    public void EventsByTag_should_keep_the_order_of_events_written_in_one_atomic_write_with_several_tags()
    {
        var live = RunLive(ReadJournal.EventsByTag("green", Offset.NoOffset()));
        WriteAtomically(Writer("aw"), "green black one", "blue green two", "black blue three");

        var green = RunToProbe(ReadJournal.CurrentEventsByTag("green", Offset.NoOffset()));
        var black = RunToProbe(ReadJournal.CurrentEventsByTag("black", Offset.NoOffset()));
        var blue = RunToProbe(ReadJournal.CurrentEventsByTag("blue", Offset.NoOffset()));
        var byTag = new[] { green, black, blue }.Select(p =>
        {
            p.Request(2);
            var two = p.ExpectNextN(2).ToList();
            p.ExpectComplete();
            return two;
        }).ToArray();

        Assert.Equal([("aw", 1L, (object)"green black one"), ("aw", 2L, "blue green two")], Keys(byTag[0]));
        Assert.Equal([("aw", 1L, (object)"green black one"), ("aw", 3L, "black blue three")], Keys(byTag[1]));
        Assert.Equal([("aw", 2L, (object)"blue green two"), ("aw", 3L, "black blue three")], Keys(byTag[2]));

        // One offset per event, the same under each of its tags, increasing in the order of the AtomicWrite.
        var offsets = byTag.SelectMany(t => t).GroupBy(e => e.SequenceNr).OrderBy(g => g.Key)
            .Select(g => Assert.Single(g.Select(OrderingOf).Distinct())).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(3, offsets.Distinct().Count());
        Assert.Equal(["black", "green"], byTag[0][0].Tags.Order(StringComparer.Ordinal));

        ExpectEnvelope(live, "aw", 1, "green black one");
        ExpectEnvelope(live, "aw", 2, "blue green two");
    }

    [Fact]
    public async Task CurrentEventsByTag_should_complete_empty_for_a_tag_nobody_used()
    {
        WriteFruit();
        Assert.Empty(await CurrentByTag("pink", Offset.NoOffset()));
        Assert.Empty(await CurrentByTag("pink", Offset.Sequence(3)));
    }

    [Fact]
    public async Task CurrentEventsByTag_should_give_monotonic_global_offsets_shared_by_all_tags()
    {
        WriteFruit();
        Write(Writer("e"), "a green and black night");

        var green = await CurrentByTag("green", Offset.NoOffset());
        var black = await CurrentByTag("black", Offset.NoOffset());
        var greenOffsets = green.Select(OrderingOf).ToList();
        Assert.Equal(greenOffsets.Order(), greenOffsets);
        Assert.Equal(greenOffsets.Count, greenOffsets.Distinct().Count());

        // The event carrying both tags has one offset, the same in both queries, after everything written before it.
        var both = green[^1];
        Assert.Equal("a green and black night", both.Event);
        Assert.Equal(OrderingOf(both), OrderingOf(black[^1]));
        Assert.True(OrderingOf(black[0]) > OrderingOf(green[0]) && OrderingOf(black[0]) < OrderingOf(green[1]),
            "offsets of different tags interleave as their events were written");
        Assert.True(OrderingOf(both) > greenOffsets[^2]);
    }

    [Fact]
    public async Task CurrentEventsByTag_should_find_events_after_an_offset_exclusive()
    {
        WriteFruit();
        var all = await CurrentByTag("green", Offset.NoOffset());

        var afterSecond = await CurrentByTag("green", all[1].Offset);
        Assert.Equal(Green[2..], Keys(afterSecond));

        var afterLast = await CurrentByTag("green", all[^1].Offset);
        Assert.Empty(afterLast);

        // Any offset between two tagged events starts at the next one.
        var justBefore = await CurrentByTag("green", Offset.Sequence(OrderingOf(all[2]) - 1));
        Assert.Equal(Green[2..], Keys(justBefore));
    }

    [Fact]
    public async Task CurrentEventsByTag_should_not_see_events_written_after_it_started()
    {
        WriteFruit();
        var queue = RunToQueue(ReadJournal.CurrentEventsByTag("green", Offset.NoOffset()));
        Assert.Equal("a green apple", (await Next(queue)).Event);

        Write(Writer("d"), "a green dog");

        var rest = new List<object>();
        for (var i = 0; i < 3; i++) rest.Add((await Next(queue)).Event);
        Assert.Equal(["a green banana", "a green leaf", "a green cucumber"], rest);
        await ExpectEnd(queue);
    }

    [Fact]
    public async Task CurrentEventsByTag_should_page_through_more_events_than_its_buffer()
    {
        var writer = Writer("many");
        var events = Enumerable.Range(1, 1100).Select(i => $"blue {i}").ToArray(); // max-buffer-size is 500
        foreach (var e in events) writer.Tell(e);
        ReceiveN(events.Length, QueryTimeout);

        var envelopes = await CurrentByTag("blue", Offset.NoOffset());
        Assert.Equal(events, envelopes.Select(e => e.Event));
    }

    [Fact]
    public async Task CurrentEventsByTag_should_not_return_deleted_events()
    {
        var a = Writer("a");
        var b = Writer("b");
        Write(a, "a green apple", "a green pear");
        Write(b, "a green leaf");
        Write(a, "a green banana");

        DeleteTo(a, 2);

        Assert.Equal([("b", 1L, (object)"a green leaf"), ("a", 3L, "a green banana")], Keys(await CurrentByTag("green", Offset.NoOffset())));
    }

    [Fact]
    public async Task CurrentEventsByTag_should_carry_tags_and_timestamps()
    {
        var before = DateTime.UtcNow.Ticks;
        Write(Writer("t"), "a green and blue sky");
        var after = DateTime.UtcNow.Ticks;

        var envelope = Assert.Single(await CurrentByTag("blue", Offset.NoOffset()));
        Assert.Equal(["blue", "green"], envelope.Tags.Order(StringComparer.Ordinal));
        Assert.InRange(envelope.Timestamp, before, after);
        Assert.Equal("a green and blue sky", envelope.Event);
    }

    [Fact]
    public async Task CurrentEventsByTag_should_find_events_tagged_with_the_Tagged_wrapper()
    {
        var writer = Writer("w");
        writer.Tell(new Tagged("plain payload", ["x", "y"]));
        ExpectMsg("plain payload-done");

        var byX = Assert.Single(await CurrentByTag("x", Offset.NoOffset()));
        var byY = Assert.Single(await CurrentByTag("y", Offset.NoOffset()));
        Assert.Equal("plain payload", byX.Event); // the wrapper is not stored
        Assert.Equal(["x", "y"], byX.Tags.Order(StringComparer.Ordinal));
        Assert.Equal(byX.Offset, byY.Offset);

        var byId = Assert.Single(await RunToEnd(ReadJournal.CurrentEventsByPersistenceId("w", 0, long.MaxValue)));
        Assert.Equal("plain payload", byId.Event);
    }

    [Fact]
    public void CurrentEventsByTag_should_reject_offsets_it_does_not_support()
    {
        var error = Assert.Throws<ArgumentException>(() => ReadJournal.CurrentEventsByTag("green", Offset.TimeBasedUuid(Guid.NewGuid())));
        Assert.Contains(nameof(TimeBasedUuid), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EventsByTag_should_find_existing_and_new_events()
    {
        var b = Writer("b");
        var d = Writer("d");
        Write(b, "a black car");

        var probe = RunLive(ReadJournal.EventsByTag("black", Offset.NoOffset()));
        ExpectEnvelope(probe, "b", 1, "a black car");
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Write(d, "a black dog");
        Write(d, "a white swan");
        Write(d, "a black night");
        ExpectEnvelope(probe, "d", 1, "a black dog");
        ExpectEnvelope(probe, "d", 3, "a black night");
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void EventsByTag_should_find_events_after_a_Sequence_offset_exclusive_and_then_new_ones()
    {
        WriteFruit();
        var first = RunLive(ReadJournal.EventsByTag("green", Offset.NoOffset()));
        ExpectEnvelope(first, "a", 2, "a green apple");
        var offset = ExpectEnvelope(first, "a", 4, "a green banana").Offset;

        var second = RunLive(ReadJournal.EventsByTag("green", offset));
        ExpectEnvelope(second, "b", 2, "a green leaf");
        ExpectEnvelope(second, "c", 1, "a green cucumber");
        second.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Write(Writer("c"), "a green pepper");
        var pepper = ExpectEnvelope(second, "c", 2, "a green pepper");
        Assert.True(OrderingOf(pepper) > ((Sequence)offset).Value);
    }

    [Fact]
    public void EventsByTag_should_keep_the_global_order_of_concurrent_writers()
    {
        var probe = RunLive(ReadJournal.EventsByTag("green", Offset.NoOffset()));
        var writers = Enumerable.Range(1, 4).Select(i => Writer($"w{i}")).ToArray();

        // Four writers persist at once; the live query sees each event once, in one increasing offset order.
        for (var n = 1; n <= 25; n++)
            foreach (var w in writers) w.Tell($"green {n}");
        ReceiveN(100, QueryTimeout);

        var seen = Enumerable.Range(0, 100).Select(_ => probe.ExpectMsg<EventEnvelope>(QueryTimeout)).ToList();
        var offsets = seen.Select(OrderingOf).ToList();
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(100, offsets.Distinct().Count());
        foreach (var group in seen.GroupBy(e => e.PersistenceId))
            Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), group.Select(e => e.SequenceNr));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void EventsByTag_should_not_return_events_deleted_before_it_read_them()
    {
        var a = Writer("a");
        Write(a, "a green apple", "a green pear", "a green fig");
        DeleteTo(a, 2);

        var probe = RunLive(ReadJournal.EventsByTag("green", Offset.NoOffset()));
        ExpectEnvelope(probe, "a", 3, "a green fig");
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void EventsByTag_should_see_a_tag_used_for_the_first_time_after_it_started()
    {
        var probe = RunLive(ReadJournal.EventsByTag("blue", Offset.NoOffset()));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        var before = DateTime.UtcNow.Ticks;
        Write(Writer("s"), "a blue sea");
        var after = DateTime.UtcNow.Ticks;
        var envelope = ExpectEnvelope(probe, "s", 1, "a blue sea");
        Assert.Equal(["blue"], envelope.Tags);
        Assert.InRange(envelope.Timestamp, before, after);
    }
}
