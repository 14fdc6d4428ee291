using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// The store keeps the ids of recently used persistence ids only (<c>name-cache-size</c>): a node that has seen millions
/// of saga instances must not hold every one. A persistence id no longer kept is found in LMDB again under the same id,
/// so its events replay and its sequence goes on.
/// </summary>
public sealed class JournalNameCacheSpec(ITestOutputHelper output)
    : JournalSpecBase(output, """
        akka.persistence.journal.lmdb.name-cache-size = 4
        akka.persistence.snapshot-store.lmdb.name-cache-size = 4
        """)
{
    [Fact]
    public void Journal_should_keep_a_bounded_number_of_persistence_ids_in_memory_and_find_the_others_in_lmdb()
    {
        var pids = Enumerable.Range(0, 20).Select(i => $"p-names-{i}").ToArray();
        foreach (var pid in pids) WriteEvents(pid, 1, 2);

        // Two generations of at most 4 names each.
        Assert.InRange(Store.CachedPids, 1, 8);

        foreach (var pid in pids)
        {
            var (events, highest) = Replay(pid);
            AssertPayloads(events, 1, 2);
            Assert.Equal(2, highest);
        }

        // The first one was dropped from memory long ago: its next event goes on its own sequence, under its own id.
        WriteEvents(pids[0], 3, 3);
        var (again, last) = Replay(pids[0]);
        AssertPayloads(again, 1, 2, 3);
        Assert.Equal(3, last);
        Assert.InRange(Store.CachedPids, 1, 8);
    }
}
