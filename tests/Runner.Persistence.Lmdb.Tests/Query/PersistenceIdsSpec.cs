using Akka.Actor;
using Akka.Persistence.Query;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Query;

/// <summary>CurrentPersistenceIds and live PersistenceIds of the LMDB read journal (Akka's TCK query specs).</summary>
public sealed class PersistenceIdsSpec(ITestOutputHelper output) : QuerySpecBase(output)
{
    [Fact]
    public void ReadJournal_should_implement_the_persistence_ids_queries()
    {
        Assert.IsAssignableFrom<ICurrentPersistenceIdsQuery>(ReadJournal);
        Assert.IsAssignableFrom<IPersistenceIdsQuery>(ReadJournal);
    }

    [Fact]
    public async Task CurrentPersistenceIds_should_complete_empty_on_an_empty_journal()
    {
        Assert.Empty(await RunToEnd(ReadJournal.CurrentPersistenceIds()));
        // Without any demand: an empty result needs none.
        RunToProbe(ReadJournal.CurrentPersistenceIds()).ExpectSubscriptionAndComplete();
    }

    [Fact]
    public void CurrentPersistenceIds_should_complete_right_after_the_last_id_on_exact_demand()
    {
        Setup("a", 1);
        Setup("b", 1);
        Setup("c", 1);

        var probe = RunToProbe(ReadJournal.CurrentPersistenceIds());
        probe.Request(3);
        Assert.Equal(["a", "b", "c"], probe.ExpectNextN(3).Order(StringComparer.Ordinal));
        probe.ExpectComplete();
    }

    [Fact]
    public void CurrentPersistenceIds_should_not_emit_ids_created_after_it_started()
    {
        Setup("a", 1);
        Setup("b", 1);

        var probe = RunToProbe(ReadJournal.CurrentPersistenceIds());
        probe.Request(1);
        var first = probe.ExpectNext();

        Setup("c", 1); // after the query started, before it read past "a"

        probe.Request(5);
        var second = probe.ExpectNext();
        probe.ExpectComplete();
        Assert.Equal(["a", "b"], new[] { first, second }.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CurrentPersistenceIds_should_find_each_existing_id_once()
    {
        Setup("a");
        Setup("b", 1);
        Setup("c", 5);

        var ids = await RunToEnd(ReadJournal.CurrentPersistenceIds());
        Assert.Equal(["a", "b", "c"], ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CurrentPersistenceIds_should_page_through_more_ids_than_its_buffer()
    {
        const int count = 1200; // more than max-buffer-size (500): the query reads several pages
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        var writes = Enumerable.Range(1, count).Select(i => (Akka.Persistence.IPersistentEnvelope)new Akka.Persistence.AtomicWrite(
            new Akka.Persistence.Persistent($"e-{i}", 1, $"pid-{i:D4}", string.Empty, false, TestActor, "writer")));
        journal.Tell(new Akka.Persistence.WriteMessages(writes.ToList(), TestActor, 1));
        ExpectMsg<Akka.Persistence.WriteMessagesSuccessful>(QueryTimeout);
        ReceiveN(count, QueryTimeout);

        var ids = await RunToEnd(ReadJournal.CurrentPersistenceIds());
        Assert.Equal(count, ids.Count);
        Assert.Equal(Enumerable.Range(1, count).Select(i => $"pid-{i:D4}"), ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CurrentPersistenceIds_should_not_see_ids_created_after_it_completed()
    {
        Setup("a", 1);
        var first = await RunToEnd(ReadJournal.CurrentPersistenceIds());
        Setup("b", 1);
        Assert.Equal(["a"], first);
        Assert.Equal(["a", "b"], (await RunToEnd(ReadJournal.CurrentPersistenceIds())).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void PersistenceIds_should_find_existing_and_new_ids_once()
    {
        var a = Setup("a", 2);
        Setup("b", 1);

        var probe = RunLive(ReadJournal.PersistenceIds());
        var existing = new[] { probe.ExpectMsg<string>(QueryTimeout), probe.ExpectMsg<string>(QueryTimeout) };
        Assert.Equal(["a", "b"], existing.Order(StringComparer.Ordinal));

        Setup("c", 1);
        Assert.Equal("c", probe.ExpectMsg<string>(QueryTimeout));

        // More events of a known id do not announce it again.
        Write(a, "a-3");
        Setup("d", 1);
        Assert.Equal("d", probe.ExpectMsg<string>(QueryTimeout));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void PersistenceIds_should_start_on_an_empty_journal_and_see_the_first_id()
    {
        var probe = RunLive(ReadJournal.PersistenceIds());
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Setup("first", 1);
        Assert.Equal("first", probe.ExpectMsg<string>(QueryTimeout));
    }
}
