using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using Runner.Placement.Lmdb;
using Runner.Persistence.Lmdb;
using Runner.Placement.Custody;
using Runner.TestKit;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>
/// Custody between nodes, each an actor system with its own real LMDB directory, against a real nats-server: the
/// compare-and-set home record, the operator override and the fence it puts on the old owner, a corrupt state object.
/// </summary>
public sealed class TenantCustodianSpec(NatsServerFixture nats) : NodesOnNatsSpec(nats, "c"), IClassFixture<NatsServerFixture>
{
    private CustodySettings Settings => new() { HomesBucket = Name + "-homes", StateBucket = Name + "-state", RequestTimeout = TimeSpan.FromSeconds(1) };

    /// <summary>A node: actor system with LMDB in a temp dir, a placement view answering a fixed snapshot, a started custodian.</summary>
    private async Task<(ActorSystem System, TenantCustodian Custodian)> NodeAsync(string shardId, Func<PlacementSnapshot>? placement = null)
    {
        var dir = new TempDirectory("custody-" + shardId);
        var system = LmdbNodes.Create(shardId, dir.Path);
        var view = system.ActorOf(Props.Create(() => new FixedView(placement ?? (() => PlacementSnapshot.Empty))));
        var custodian = new TenantCustodian(system, LmdbTenantStateStore.Of(system), Connection, new NatsJSContext(Connection), view, new PlacementSettings(), Settings, shardId, Name,
            NullLogger<TenantCustodian>.Instance);
        await custodian.StartAsync(CancellationToken.None);
        Cleanup.Add(new AsyncCleanup(async () =>
        {
            await custodian.DisposeAsync();
            await system.Terminate();
            dir.Dispose();
        }));
        return (system, custodian);
    }

    [Fact]
    public async Task Acquire_should_create_the_home_on_first_start_and_refuse_another_node_while_it_is_held()
    {
        var (_, a) = await NodeAsync("node-a");
        var (_, b) = await NodeAsync("node-b");
        Assert.True((await a.AcquireAsync("t1", CancellationToken.None)).Granted);
        var refused = await b.AcquireAsync("t1", CancellationToken.None);
        Assert.False(refused.Granted);
        Assert.Contains("held by node-a (epoch 1)", refused.Detail, StringComparison.Ordinal);
        Assert.True((await a.AcquireAsync("t1", CancellationToken.None)).Granted); // again, e.g. after a restart
    }

    [Fact]
    public async Task An_operator_override_should_move_ownership_without_state_and_fence_the_old_owner()
    {
        var (systemA, a) = await NodeAsync("node-a");
        var (_, b) = await NodeAsync("node-b");
        Assert.True((await a.AcquireAsync("t2", CancellationToken.None)).Granted);

        var home = await a.Homes.OverrideAsync("t2", "node-b", "node-a lost its disk");
        Assert.Equal((2L, "override: node-a lost its disk"), (home.Epoch, home.Reason));
        Assert.True((await b.AcquireAsync("t2", CancellationToken.None)).Granted);

        // The stale owner learns it from the homes bucket: its journal refuses the tenant's writes from now on.
        var state = LmdbPersistence.Get(systemA).StateStore();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (state.FenceOf("saga|t2|order|o1") is null && DateTime.UtcNow < deadline) await Task.Delay(50); // waiting for the watch
        Assert.Equal("owned by node-b (epoch 2)", state.FenceOf("saga|t2|order|o1"));
        Assert.False((await a.AcquireAsync("t2", CancellationToken.None)).Granted);
    }

    [Fact]
    public async Task A_corrupt_state_object_should_keep_the_tenant_stopped_and_the_record_released()
    {
        var (_, b) = await NodeAsync("node-b");
        var objects = await new NatsObjContext(new NatsJSContext(Connection)).GetObjectStoreAsync(Settings.StateBucket);
        await objects.PutAsync("t3/2", "not a tenant state"u8.ToArray());
        var released = new TenantHome("node-a", 2, TenantHome.Released, "node-b", "t3/2", DateTimeOffset.UtcNow, "test");
        Assert.True(await b.Homes.CompareAndSetAsync("t3", released, 0));

        var decision = await b.AcquireAsync("t3", CancellationToken.None);
        Assert.False(decision.Granted);
        Assert.Contains("cannot be read", decision.Detail, StringComparison.Ordinal);
        Assert.Equal(TenantHome.Released, (await b.Homes.GetAsync("t3")).Home!.Status);
    }

    [Fact]
    public async Task Two_nodes_racing_for_a_released_tenant_should_not_both_win()
    {
        var (systemA, a) = await NodeAsync("node-a");
        Assert.True((await a.AcquireAsync("t4", CancellationToken.None)).Granted);
        var data = await LmdbTenantStateStore.Of(systemA).ExportAsync("t4");
        var objects = await new NatsObjContext(new NatsJSContext(Connection)).GetObjectStoreAsync(Settings.StateBucket);
        await objects.PutAsync("t4/2", data);
        var (_, revision) = await a.Homes.GetAsync("t4");
        Assert.True(await a.Homes.CompareAndSetAsync("t4", new TenantHome("node-a", 2, TenantHome.Released, "node-b", "t4/2", DateTimeOffset.UtcNow, "test"), revision));

        var (_, b) = await NodeAsync("node-b");
        var (_, c) = await NodeAsync("node-c");
        var results = await Task.WhenAll(b.AcquireAsync("t4", CancellationToken.None), c.AcquireAsync("t4", CancellationToken.None));
        Assert.Single(results, r => r.Granted);
        var owner = (await a.Homes.GetAsync("t4")).Home!;
        Assert.Equal((TenantHome.Active, 3L), (owner.Status, owner.Epoch));
    }

    private sealed class FixedView : ReceiveActor
    {
        public FixedView(Func<PlacementSnapshot> snapshot) => Receive<PlacementView.GetPlacement>(_ => Sender.Tell(snapshot()));
    }
}
