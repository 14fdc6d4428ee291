using Akka.Actor;
using Akka.Persistence;
using Xunit;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// What one actor system wrote is what the next one (same data directory, store closed and reopened) recovers:
/// a map grown far beyond the configured map-size reopens, and the highest sequence number survives deletes.
/// </summary>
public sealed class JournalReopenSpec : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ActorSystem NewSystem(string name) =>
        TestSystems.Create(name, LmdbSpecBase.Config(_dir.Path, "akka.persistence.journal.lmdb { map-size = 64KiB }"));

    [Fact]
    public async Task Journal_should_recover_a_grown_map_and_the_highest_sequence_number_after_reopening()
    {
        var payloads = Enumerable.Range(1, 40).Select(i => Bytes(i, 64 * 1024)).ToArray();

        var first = NewSystem("first");
        try
        {
            var big = first.ActorOf(Props.Create(() => new Log("p-big")));
            Assert.Equal(40L, await big.Ask<long>(new PersistBatch(payloads), Timeout));

            var deleted = first.ActorOf(Props.Create(() => new Log("p-deleted")));
            Assert.Equal(3L, await deleted.Ask<long>(new PersistBatch([[1], [2], [3]]), Timeout));
            Assert.IsType<DeleteMessagesSuccess>(await deleted.Ask<object>(new DeleteTo(long.MaxValue), Timeout));
            Assert.True(LmdbPersistence.Get(first).StoreFor(LmdbPersistence.JournalPath).MapSize > 40 * 64 * 1024);
        }
        finally
        {
            await first.Terminate();
        }

        var second = NewSystem("second");
        try
        {
            var big = second.ActorOf(Props.Create(() => new Log("p-big")));
            var state = await big.Ask<LogState>(GetLogState.Instance, Timeout);
            Assert.Equal(40, state.LastSequenceNr);
            Assert.Equal(40, state.Events.Count);
            for (var i = 0; i < payloads.Length; i++) Assert.Equal(payloads[i], state.Events[i]);

            var deleted = second.ActorOf(Props.Create(() => new Log("p-deleted")));
            state = await deleted.Ask<LogState>(GetLogState.Instance, Timeout);
            Assert.Empty(state.Events);
            Assert.Equal(3, state.LastSequenceNr);

            // The next event continues the sequence instead of reusing 1.
            Assert.Equal(4L, await deleted.Ask<long>(new PersistBatch([[4]]), Timeout));
        }
        finally
        {
            await second.Terminate();
        }
    }

    private static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private sealed record PersistBatch(byte[][] Events);

    private sealed record DeleteTo(long SequenceNr);

    private sealed class GetLogState
    {
        public static readonly GetLogState Instance = new();
    }

    private sealed record LogState(long LastSequenceNr, IReadOnlyList<byte[]> Events);

    private sealed class Log : ReceivePersistentActor
    {
        private readonly List<byte[]> _events = [];
        private IActorRef _deleteRequester = ActorRefs.Nobody;

        public Log(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<byte[]>(_events.Add);
            Command<GetLogState>(_ => Sender.Tell(new LogState(LastSequenceNr, _events.ToList())));
            Command<PersistBatch>(batch =>
            {
                var left = batch.Events.Length;
                var sender = Sender;
                PersistAll(batch.Events, e =>
                {
                    _events.Add(e);
                    if (--left == 0) sender.Tell(LastSequenceNr);
                });
            });
            Command<DeleteTo>(d =>
            {
                _deleteRequester = Sender;
                DeleteMessages(d.SequenceNr);
            });
            Command<DeleteMessagesSuccess>(m => _deleteRequester.Tell(m));
            Command<DeleteMessagesFailure>(m => _deleteRequester.Tell(m));
        }

        public override string PersistenceId { get; }
    }
}
