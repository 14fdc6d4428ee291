using System.Globalization;
using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.ObjectStore;
using Runner.Persistence.Lmdb;
using Runner.Placement.Custody;
using Runner.Placement.Lmdb;
using Runner.TestKit;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>
/// Journal replication between nodes, each an actor system with its own real LMDB directory, against a real nats-server:
/// writes reach the tenant's replica log before the store, a node without the state rebuilds it from the log (bases and
/// appends), a node whose tenant was opened elsewhere can never append again, and appends a node never stored are dropped.
/// </summary>
public sealed class JournalReplicatorSpec(NatsServerFixture nats) : NodesOnNatsSpec(nats, "r"), IClassFixture<NatsServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private ReplicationSettings Replication(int compactEvery = 1000, TimeSpan? giveUpAfter = null) =>
        new()
        {
            Enabled = true, Stream = Name.ToUpperInvariant() + "_JOURNAL", CompactEvery = compactEvery, AppendTimeout = TimeSpan.FromSeconds(1),
            GiveUpAfter = giveUpAfter ?? TimeSpan.FromSeconds(4),
        };

    private CustodySettings Custody => new() { HomesBucket = Name + "-homes", StateBucket = Name + "-state" };

    private string Subject(string tenant) => ReplicationSettings.Subject(Name, tenant);

    private sealed record Node(ActorSystem System, JournalReplicator Replicator, LmdbStateStore Store, TempDirectory Dir);

    /// <summary>A node: an actor system on LMDB in <paramref name="dir"/> (a new one when null) and a started replicator in front of it.</summary>
    private async Task<Node> NodeAsync(string shardId, int compactEvery = 1000, TempDirectory? dir = null, INatsJSContext? js = null, TimeSpan? giveUpAfter = null)
    {
        dir ??= new TempDirectory("replica-" + shardId);
        var system = LmdbNodes.Create(shardId, dir.Path);
        var store = LmdbPersistence.Get(system).StateStore();
        var replicator = new JournalReplicator(store, js ?? Js, Replication(compactEvery, giveUpAfter), Custody, Name, shardId, NullLogger<JournalReplicator>.Instance);
        await replicator.StartAsync(CancellationToken.None);
        var node = new Node(system, replicator, store, dir);
        Cleanup.Add(new AsyncCleanup(async () =>
        {
            await replicator.DisposeAsync();
            await system.Terminate();
        }));
        Cleanup.Add(new AsyncCleanup(() =>
        {
            dir.Dispose();
            return Task.CompletedTask;
        }));
        return node;
    }

    private static async Task StopAsync(Node node)
    {
        await node.Replicator.DisposeAsync();
        await node.System.Terminate();
    }

    private static IActorRef Instance(Node node, string pid) => node.System.ActorOf(Props.Create(() => new StringProbe(pid)));

    private static async Task PersistAsync(IActorRef probe, params string[] events)
    {
        foreach (var e in events) Assert.Equal("ok", await probe.Ask<string>(e, Wait));
    }

    private static Task<string[]> EventsOf(IActorRef probe) => probe.Ask<string[]>(StringProbe.Get.Instance, Wait);

    private async Task<ulong> MessagesOn(string subject)
    {
        var stream = await Js.GetStreamAsync(Replication().Stream, new StreamInfoRequest { SubjectsFilter = subject });
        return stream.Info.State.Subjects is { } subjects && subjects.TryGetValue(subject, out var count) ? (ulong)count : 0;
    }

    [Fact]
    public async Task A_node_without_the_state_should_rebuild_it_from_the_log_and_the_schedule_index_should_stay_local()
    {
        var a = await NodeAsync("node-a");
        Assert.StartsWith("new replica log", await a.Replicator.OpenAsync("t1", 1, false, CancellationToken.None), StringComparison.Ordinal);
        var order = Instance(a, "saga|t1|order|o1");
        await PersistAsync(order, "placed", "paid", "shipped");
        await PersistAsync(Instance(a, "checkpoint|t1"), "c1");
        await PersistAsync(Instance(a, "schedule|t1"), "s1");
        // The open marker, then one append per persisted event of the saga and the checkpoints; the schedule index is not in the log.
        Assert.Equal(5UL, await MessagesOn(Subject("t1")));

        var b = await NodeAsync("node-b");
        var opened = await b.Replicator.OpenAsync("t1", 2, false, CancellationToken.None);
        Assert.Contains("rebuilt from its replica log: base none, 4 appends", opened, StringComparison.Ordinal);
        Assert.Equal(["placed", "paid", "shipped"], await EventsOf(Instance(b, "saga|t1|order|o1")));
        Assert.Equal(["c1"], await EventsOf(Instance(b, "checkpoint|t1")));
        Assert.Empty(await EventsOf(Instance(b, "schedule|t1")));
    }

    [Fact]
    public async Task A_node_whose_tenant_was_opened_elsewhere_should_be_fenced_at_its_next_write()
    {
        var a = await NodeAsync("node-a");
        await a.Replicator.OpenAsync("t2", 1, false, CancellationToken.None);
        var stale = Instance(a, "saga|t2|order|o1");
        await PersistAsync(stale, "placed");

        var b = await NodeAsync("node-b");
        await b.Replicator.OpenAsync("t2", 2, false, CancellationToken.None);
        var owner = Instance(b, "saga|t2|order|o1");
        await PersistAsync(owner, "paid");

        // The stale owner's write is refused by the log: never stored there nor here, and the tenant is fenced here.
        Assert.StartsWith("failed", await stale.Ask<string>("cancelled", Wait), StringComparison.Ordinal);
        Assert.Contains("another node appended to its replica log", a.Store.FenceOf("saga|t2|order|o1"), StringComparison.Ordinal);
        Assert.Equal(["placed"], await EventsOf(Instance(a, "saga|t2|order|o1")));

        var c = await NodeAsync("node-c");
        await c.Replicator.OpenAsync("t2", 3, false, CancellationToken.None);
        Assert.Equal(["placed", "paid"], await EventsOf(Instance(c, "saga|t2|order|o1")));
    }

    [Fact]
    public async Task An_old_owner_cut_off_from_NATS_while_another_node_took_over_should_never_append_again()
    {
        await using var proxy = new TcpProxy(Nats.Port);
        await using var cutOff = new NatsConnection(NatsOpts.Default with
        {
            Url = proxy.NatsUrl, ReconnectWaitMin = TimeSpan.FromMilliseconds(50), ReconnectWaitMax = TimeSpan.FromMilliseconds(200),
        });
        var a = await NodeAsync("node-a", js: new NatsJSContext(cutOff), giveUpAfter: TimeSpan.FromSeconds(60));
        await a.Replicator.OpenAsync("t6", 1, false, CancellationToken.None);
        var stale = Instance(a, "saga|t6|order|o1");
        await PersistAsync(stale, "placed");

        // node-a loses NATS with a write in flight; node-b takes the tenant over meanwhile and writes.
        proxy.Cut();
        var inFlight = stale.Ask<string>("cancelled", TimeSpan.FromSeconds(60));
        var b = await NodeAsync("node-b");
        await b.Replicator.OpenAsync("t6", 2, false, CancellationToken.None);
        await PersistAsync(Instance(b, "saga|t6|order|o1"), "paid");

        // NATS is back for node-a: its write, sent again, is refused by the log; the tenant is fenced on node-a.
        proxy.Restore();
        Assert.StartsWith("failed", await inFlight, StringComparison.Ordinal);
        Assert.Contains("another node appended to its replica log", a.Store.FenceOf("saga|t6|order|o1"), StringComparison.Ordinal);

        var c = await NodeAsync("node-c");
        await c.Replicator.OpenAsync("t6", 3, false, CancellationToken.None);
        Assert.Equal(["placed", "paid"], await EventsOf(Instance(c, "saga|t6|order|o1")));
    }

    [Fact]
    public async Task An_append_the_store_never_committed_should_be_dropped_when_the_node_opens_the_log_again()
    {
        var dir = new TempDirectory("replica-restart");
        var a = await NodeAsync("node-a", dir: dir);
        await a.Replicator.OpenAsync("t3", 1, false, CancellationToken.None);
        await PersistAsync(Instance(a, "saga|t3|order|o1"), "placed", "paid");
        await StopAsync(a);

        // What a crash between JetStream's acknowledgement and the LMDB commit leaves: an append the node never stored (here a
        // copy of the last one, which would write events 2 again on a rebuild).
        var last = await Js.JSRequestResponseAsync<StreamMsgGetRequest, StreamMsgGetResponse>(
            $"$JS.API.STREAM.MSG.GET.{Replication().Stream}", new StreamMsgGetRequest { LastBySubj = Subject("t3") });
        var phantom = await Js.PublishAsync(Subject("t3"), last.Message!.Data.ToArray(),
            headers: new NatsHeaders { ["Nats-Expected-Last-Subject-Sequence"] = last.Message.Seq.ToString(CultureInfo.InvariantCulture) });
        Assert.Null(phantom.Error);

        var restarted = await NodeAsync("node-a", dir: dir);
        var opened = await restarted.Replicator.OpenAsync("t3", 1, false, CancellationToken.None);
        Assert.Contains("appends after it dropped from the log", opened, StringComparison.Ordinal);
        await PersistAsync(Instance(restarted, "saga|t3|order|o1"), "shipped");

        var b = await NodeAsync("node-b");
        await b.Replicator.OpenAsync("t3", 2, false, CancellationToken.None);
        Assert.Equal(["placed", "paid", "shipped"], await EventsOf(Instance(b, "saga|t3|order|o1")));
    }

    [Fact]
    public async Task Bases_should_compact_the_log_and_carry_snapshots_and_deletions()
    {
        var a = await NodeAsync("node-a", compactEvery: 4);
        await a.Replicator.OpenAsync("t4", 1, false, CancellationToken.None);
        var order = Instance(a, "saga|t4|order|o1");
        await PersistAsync(order, Enumerable.Range(1, 10).Select(i => "e" + i.ToString(CultureInfo.InvariantCulture)).ToArray());
        // A snapshot, then the events before it deleted: both go through the log as well.
        Assert.Equal("snapshot", await order.Ask<string>(StringProbe.Snap.Instance, Wait));
        await PersistAsync(order, "e11");

        var state = a.Replicator.Logs().Single(l => l.Tenant == "t4");
        Assert.NotNull(state.BaseObject);
        var deadline = DateTime.UtcNow + Wait;
        while (await MessagesOn(Subject("t4")) > 8 && DateTime.UtcNow < deadline) await Task.Delay(50); // the last compaction runs behind the writes
        Assert.InRange(await MessagesOn(Subject("t4")), 1UL, 8UL);

        var b = await NodeAsync("node-b");
        Assert.Contains("rebuilt from its replica log: base t4/base/", await b.Replicator.OpenAsync("t4", 2, false, CancellationToken.None), StringComparison.Ordinal);
        var rebuilt = Instance(b, "saga|t4|order|o1");
        Assert.Equal(Enumerable.Range(1, 11).Select(i => "e" + i.ToString(CultureInfo.InvariantCulture)), await EventsOf(rebuilt));
        Assert.True(await rebuilt.Ask<bool>(StringProbe.FromSnapshot.Instance, Wait));

        // Only the latest base is kept.
        var objects = await new NatsObjContext(Js).GetObjectStoreAsync(Custody.StateBucket);
        var bases = new List<string>();
        await foreach (var info in objects.ListAsync()) bases.Add(info.Name);
        Assert.Single(bases, n => n.StartsWith("t4/base/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task State_held_before_replication_should_become_the_logs_base()
    {
        var dir = new TempDirectory("replica-late");
        var system = LmdbNodes.Create("late", dir.Path);
        await PersistAsync(system.ActorOf(Props.Create(() => new StringProbe("saga|t5|order|o1"))), "placed", "paid");
        await system.Terminate();

        var a = await NodeAsync("node-a", dir: dir);
        Assert.Contains("exported as its base", await a.Replicator.OpenAsync("t5", 1, false, CancellationToken.None), StringComparison.Ordinal);
        await PersistAsync(Instance(a, "saga|t5|order|o1"), "shipped");

        var b = await NodeAsync("node-b");
        await b.Replicator.OpenAsync("t5", 2, false, CancellationToken.None);
        Assert.Equal(["placed", "paid", "shipped"], await EventsOf(Instance(b, "saga|t5|order|o1")));
    }
}
