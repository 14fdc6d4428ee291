using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Persistence.Lmdb;
using Runner.TestKit;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>Actor systems of the custody and replication specs: each a node with its own LMDB directory.</summary>
internal static class LmdbNodes
{
    /// <summary>An actor system whose journal and snapshot store are LMDB in <paramref name="dataDir"/>; with a cluster provider (never joined) when asked.</summary>
    public static ActorSystem Create(string name, string dataDir, bool clusterProvider = false) =>
        ActorSystem.Create(name, ConfigurationFactory.ParseString((clusterProvider ? """
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }

            """ : "") + $$"""
            akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.lmdb"
            akka.persistence.journal.lmdb { data-dir = "{{dataDir}}", durability = nosync }
            akka.persistence.snapshot-store.lmdb { data-dir = "{{dataDir}}", durability = nosync }
            """).WithFallback(LmdbPersistence.DefaultConfiguration()));
}

/// <summary>
/// A persistent actor that stores strings and answers "ok" (or "failed: ..." when the write is refused), its events,
/// whether it recovered from a snapshot, and takes a snapshot on request (deleting the events it covers).
/// </summary>
internal sealed class StringProbe : ReceivePersistentActor
{
    private readonly List<string> _events = [];
    private bool _fromSnapshot;
    private IActorRef? _snapshotAsker;
    private IActorRef? _asker;

    public StringProbe(string persistenceId)
    {
        PersistenceId = persistenceId;
        Recover<SnapshotOffer>(o =>
        {
            _events.AddRange((string[])o.Snapshot);
            _fromSnapshot = true;
        });
        Recover<string>(_events.Add);
        Command<string>(e =>
        {
            _asker = Sender;
            Persist(e, x =>
            {
                _events.Add(x);
                Sender.Tell("ok");
            });
        });
        Command<Get>(_ => Sender.Tell(_events.ToArray()));
        Command<FromSnapshot>(_ => Sender.Tell(_fromSnapshot));
        Command<Snap>(_ =>
        {
            _snapshotAsker = Sender;
            SaveSnapshot(_events.ToArray());
        });
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<DeleteMessagesSuccess>(_ => _snapshotAsker?.Tell("snapshot"));
    }

    public override string PersistenceId { get; }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _asker?.Tell("failed: " + cause.Message);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    public sealed class Get
    {
        public static Get Instance { get; } = new();
    }

    public sealed class Snap
    {
        public static Snap Instance { get; } = new();
    }

    public sealed class FromSnapshot
    {
        public static FromSnapshot Instance { get; } = new();
    }
}

/// <summary>Runs <paramref name="run"/> when disposed.</summary>
internal sealed class AsyncCleanup(Func<Task> run) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await run();
}

/// <summary>
/// A spec of several nodes against one real nats-server: a connection to it, a name unique to the spec (buckets, streams,
/// subject prefix), and what to dispose of in reverse order at the end.
/// </summary>
public abstract class NodesOnNatsSpec(NatsServerFixture nats, string namePrefix) : IAsyncLifetime
{
    /// <summary>The server.</summary>
    protected NatsServerFixture Nats { get; } = nats;

    /// <summary>Disposed of in reverse order when the spec ends.</summary>
    protected List<IAsyncDisposable> Cleanup { get; } = [];

    /// <summary>Unique to this spec.</summary>
    protected string Name { get; } = NatsServerFixture.UniqueName(namePrefix);

    /// <summary>A connection to the server.</summary>
    protected NatsConnection Connection { get; private set; } = null!;

    /// <summary>JetStream over <see cref="Connection"/>.</summary>
    protected NatsJSContext Js { get; private set; } = null!;

    /// <inheritdoc />
    public Task InitializeAsync()
    {
        Connection = new NatsConnection(NatsOpts.Default with { Url = Nats.Url });
        Js = new NatsJSContext(Connection);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(Cleanup)) await d.DisposeAsync();
        await Connection.DisposeAsync();
    }
}
