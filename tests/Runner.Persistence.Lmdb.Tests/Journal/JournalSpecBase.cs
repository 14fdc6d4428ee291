using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Runner.Persistence.Lmdb.Internal;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// Drives the LMDB journal actor with the Akka.Persistence journal protocol, as the TCK does: every spec gets a
/// fresh data directory, and helpers to write, replay and delete with the acknowledgements checked.
/// </summary>
public abstract class JournalSpecBase : LmdbSpecBase
{
    private static int _instanceIds;

    protected JournalSpecBase(ITestOutputHelper output, string extraHocon = "")
        : base(output, extraHocon)
    {
    }

    protected JournalSpecBase(ITestOutputHelper output, TempDirectory dir, string extraHocon = "")
        : base(output, dir, extraHocon)
    {
    }

    /// <summary>The journal actor (the default plugin, i.e. LMDB).</summary>
    protected IActorRef Journal => global::Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);

    /// <summary>The store behind the journal (internals are visible to this project).</summary>
    internal LmdbStore Store => LmdbPersistence.Get(Sys).StoreFor(LmdbPersistence.JournalPath);

    protected string WriterGuid { get; } = Guid.NewGuid().ToString();

    /// <summary>A distinct actor instance id per write, like distinct incarnations of persistent actors.</summary>
    protected static int NextInstanceId() => Interlocked.Increment(ref _instanceIds);

    protected Persistent Event(string pid, long seq, object? payload = null, string manifest = "", long timestamp = 0) =>
        new(payload ?? $"a-{seq}", seq, pid, manifest, false, ActorRefs.NoSender, WriterGuid, timestamp);

    protected static AtomicWrite Atomic(params IPersistentRepresentation[] events) =>
        new(events.ToImmutableList());

    /// <summary>Writes one single-event AtomicWrite per sequence number in [from, to] and expects success for each.</summary>
    protected void WriteEvents(string pid, long from, long to)
    {
        var writes = new List<AtomicWrite>();
        for (var seq = from; seq <= to; seq++) writes.Add(Atomic(Event(pid, seq)));
        WriteSuccessfully(writes);
    }

    /// <summary>Sends one WriteMessages and expects WriteMessagesSuccessful then WriteMessageSuccess for every event, in order.</summary>
    protected IReadOnlyList<IPersistentRepresentation> WriteSuccessfully(IReadOnlyList<AtomicWrite> writes)
    {
        var probe = CreateTestProbe();
        var instance = NextInstanceId();
        Journal.Tell(new WriteMessages(writes, probe.Ref, instance));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        var acked = new List<IPersistentRepresentation>();
        foreach (var write in writes)
        {
            foreach (var expected in (IImmutableList<IPersistentRepresentation>)write.Payload)
            {
                var success = probe.ExpectMsg<WriteMessageSuccess>();
                Assert.Equal(instance, success.ActorInstanceId);
                Assert.Equal(expected.PersistenceId, success.Persistent.PersistenceId);
                Assert.Equal(expected.SequenceNr, success.Persistent.SequenceNr);
                acked.Add(success.Persistent);
            }
        }

        return acked;
    }

    /// <summary>Replays and returns the replayed events plus the highest sequence number of RecoverySuccess.</summary>
    protected (IReadOnlyList<IPersistentRepresentation> Events, long Highest) Replay(string pid, long from = 1, long to = long.MaxValue, long max = long.MaxValue)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new ReplayMessages(from, to, max, pid, probe.Ref));
        var events = new List<IPersistentRepresentation>();
        while (true)
        {
            var msg = probe.ExpectMsg<object>(TimeSpan.FromSeconds(10));
            switch (msg)
            {
                case ReplayedMessage r:
                    events.Add(r.Persistent);
                    break;
                case RecoverySuccess s:
                    return (events, s.HighestSequenceNr);
                case ReplayMessagesFailure f:
                    throw new Xunit.Sdk.XunitException($"replay of {pid} failed: {f.Cause}");
                default:
                    throw new Xunit.Sdk.XunitException($"unexpected reply to ReplayMessages: {msg}");
            }
        }
    }

    /// <summary>Highest sequence number as the journal reports it before a replay (ReplayMessages with max 0).</summary>
    protected long ReadHighestSequenceNr(string pid) => Replay(pid, 0, long.MaxValue, 0).Highest;

    protected void DeleteTo(string pid, long toSequenceNr)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new DeleteMessagesTo(pid, toSequenceNr, probe.Ref));
        probe.ExpectMsg<DeleteMessagesSuccess>(m => m.ToSequenceNr == toSequenceNr);
    }

    protected static void AssertPayloads(IEnumerable<IPersistentRepresentation> events, params long[] seqs)
    {
        var list = events.ToList();
        Assert.Equal(seqs, list.Select(e => e.SequenceNr));
        Assert.Equal(seqs.Select(s => $"a-{s}"), list.Select(e => e.Payload as string));
    }
}
