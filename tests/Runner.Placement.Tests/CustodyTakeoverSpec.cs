using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Persistence.Lmdb;
using Runner.Placement.Custody;
using Runner.Placement.Lmdb;
using Runner.TestKit;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>
/// Custody with journal replication, between actor systems that never join one cluster (so every other node counts as
/// gone), each with its own LMDB, against a real nats-server: a tenant whose owner left is taken over with its state from
/// the replica log, a move goes through the log, and a tenant that has no log is not taken over.
/// </summary>
public sealed class CustodyTakeoverSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly string _name = NatsServerFixture.UniqueName("k");
    private NatsConnection _connection = null!;

    public Task InitializeAsync()
    {
        _connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_cleanup)) await d.DisposeAsync();
        await _connection.DisposeAsync();
    }

    private CustodySettings Custody => new() { HomesBucket = _name + "-homes", StateBucket = _name + "-state", RequestTimeout = TimeSpan.FromMilliseconds(500) };

    private ReplicationSettings Replication => new() { Enabled = true, Stream = _name.ToUpperInvariant() + "_JOURNAL" };

    private sealed record Node(ActorSystem System, TenantCustodian Custodian);

    private async Task<Node> NodeAsync(string shardId)
    {
        var dir = new TempDirectory("takeover-" + shardId);
        var system = ActorSystem.Create(shardId, ConfigurationFactory.ParseString($$"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.lmdb"
            akka.persistence.journal.lmdb { data-dir = "{{dir.Path}}", durability = nosync }
            akka.persistence.snapshot-store.lmdb { data-dir = "{{dir.Path}}", durability = nosync }
            """).WithFallback(LmdbPersistence.DefaultConfiguration()));
        var js = new NatsJSContext(_connection);
        var replicator = new JournalReplicator(LmdbPersistence.Get(system).StateStore(), js, Replication, Custody, _name, shardId, NullLogger<JournalReplicator>.Instance);
        await replicator.StartAsync(CancellationToken.None);
        var view = system.ActorOf(Props.Create(() => new FixedView()));
        var custodian = new TenantCustodian(system, LmdbTenantStateStore.Of(system), _connection, js, view, new PlacementSettings(), Custody, shardId, _name,
            NullLogger<TenantCustodian>.Instance, replicator);
        await custodian.StartAsync(CancellationToken.None);
        _cleanup.Add(new Cleanup(async () =>
        {
            await custodian.DisposeAsync();
            await replicator.DisposeAsync();
            await system.Terminate();
            dir.Dispose();
        }));
        return new Node(system, custodian);
    }

    private static async Task<string[]> PersistAndReadAsync(Node node, string pid, params string[] events)
    {
        var probe = node.System.ActorOf(Props.Create(() => new Probe(pid)));
        foreach (var e in events) Assert.Equal("ok", await probe.Ask<string>(e, Wait));
        return await probe.Ask<string[]>(Probe.Get.Instance, Wait);
    }

    [Fact]
    public async Task A_tenant_whose_owner_left_the_cluster_should_be_taken_over_with_its_state()
    {
        var a = await NodeAsync("node-a");
        Assert.True((await a.Custodian.AcquireAsync("t1", CancellationToken.None)).Granted);
        await PersistAndReadAsync(a, "saga|t1|order|o1", "placed", "paid");

        // node-a is no member of node-b's cluster: gone, as after the split-brain resolver downed it.
        var b = await NodeAsync("node-b");
        var taken = await b.Custodian.AcquireAsync("t1", CancellationToken.None);
        Assert.True(taken.Granted, taken.Detail);
        Assert.Contains("taken over from node-a (left the cluster); rebuilt from its replica log", taken.Detail, StringComparison.Ordinal);
        Assert.Equal(["placed", "paid", "shipped"], await PersistAndReadAsync(b, "saga|t1|order|o1", "shipped"));
        var home = (await b.Custodian.Homes.GetAsync("t1")).Home!;
        Assert.Equal(("node-b", 2L, TenantHome.Active), (home.ShardId, home.Epoch, home.Status));
    }

    [Fact]
    public async Task A_tenant_without_a_replica_log_should_not_be_taken_over()
    {
        var b = await NodeAsync("node-b");
        // Its owner ran it without replication: the home record exists, the log does not.
        Assert.True(await b.Custodian.Homes.CompareAndSetAsync("t2", new TenantHome("node-x", 3, TenantHome.Active, null, null, DateTimeOffset.UtcNow, "test"), 0));
        var refused = await b.Custodian.AcquireAsync("t2", CancellationToken.None);
        Assert.False(refused.Granted);
        Assert.Contains("which left the cluster, and it has no replica log", refused.Detail, StringComparison.Ordinal);
        Assert.Equal(("node-x", 3L), ((await b.Custodian.Homes.GetAsync("t2")).Home!.ShardId, (await b.Custodian.Homes.GetAsync("t2")).Home!.Epoch));
    }

    [Fact]
    public async Task A_tenant_released_into_its_log_should_be_rebuilt_by_the_next_owner()
    {
        var a = await NodeAsync("node-a");
        Assert.True((await a.Custodian.AcquireAsync("t3", CancellationToken.None)).Granted);
        await PersistAndReadAsync(a, "saga|t3|order|o1", "placed");
        // What a release into the log leaves: the home released without a state object.
        var (home, revision) = await a.Custodian.Homes.GetAsync("t3");
        Assert.True(await a.Custodian.Homes.CompareAndSetAsync("t3",
            new TenantHome("node-a", home!.Epoch + 1, TenantHome.Released, "node-b", null, DateTimeOffset.UtcNow, "placed on node-b"), revision));

        var b = await NodeAsync("node-b");
        var moved = await b.Custodian.AcquireAsync("t3", CancellationToken.None);
        Assert.True(moved.Granted, moved.Detail);
        Assert.Contains("moved from node-a; rebuilt from its replica log", moved.Detail, StringComparison.Ordinal);
        Assert.Equal(["placed", "paid"], await PersistAndReadAsync(b, "saga|t3|order|o1", "paid"));
    }

    private sealed class FixedView : ReceiveActor
    {
        public FixedView() => Receive<PlacementView.GetPlacement>(_ => Sender.Tell(PlacementSnapshot.Empty));
    }

    /// <summary>A persistent actor that stores strings and answers "ok", or its events.</summary>
    private sealed class Probe : ReceivePersistentActor
    {
        private readonly List<string> _events = [];

        public Probe(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<string>(_events.Add);
            Command<string>(e => Persist(e, x =>
            {
                _events.Add(x);
                Sender.Tell("ok");
            }));
            Command<Get>(_ => Sender.Tell(_events.ToArray()));
        }

        public override string PersistenceId { get; }

        public sealed class Get
        {
            public static Get Instance { get; } = new();
        }
    }

    private sealed class Cleanup(Func<Task> run) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await run();
    }
}
