using Akka.Actor;
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
public sealed class CustodyTakeoverSpec(NatsServerFixture nats) : NodesOnNatsSpec(nats, "k"), IClassFixture<NatsServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private CustodySettings Custody => new() { HomesBucket = Name + "-homes", StateBucket = Name + "-state", RequestTimeout = TimeSpan.FromMilliseconds(500) };

    private ReplicationSettings Replication => new() { Enabled = true, Stream = Name.ToUpperInvariant() + "_JOURNAL" };

    private sealed record Node(ActorSystem System, TenantCustodian Custodian);

    private async Task<Node> NodeAsync(string shardId)
    {
        var dir = new TempDirectory("takeover-" + shardId);
        var system = LmdbNodes.Create(shardId, dir.Path, clusterProvider: true);
        var js = new NatsJSContext(Connection);
        var replicator = new JournalReplicator(LmdbPersistence.Get(system).StateStore(), js, Replication, Custody, Name, shardId, NullLogger<JournalReplicator>.Instance);
        await replicator.StartAsync(CancellationToken.None);
        var view = system.ActorOf(Props.Create(() => new FixedView()));
        var custodian = new TenantCustodian(system, LmdbTenantStateStore.Of(system), Connection, js, view, new PlacementSettings(), Custody, shardId, Name,
            NullLogger<TenantCustodian>.Instance, replicator);
        await custodian.StartAsync(CancellationToken.None);
        Cleanup.Add(new AsyncCleanup(async () =>
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
        var probe = node.System.ActorOf(Props.Create(() => new StringProbe(pid)));
        foreach (var e in events) Assert.Equal("ok", await probe.Ask<string>(e, Wait));
        return await probe.Ask<string[]>(StringProbe.Get.Instance, Wait);
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
}
