using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.TestKit;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>The placement bucket read and followed live against a real nats-server, through a real view on a one-node cluster.</summary>
public sealed class PlacementWatcherSpec : Akka.TestKit.Xunit2.TestKit, IClassFixture<NatsServerFixture>
{
    private readonly NatsServerFixture _nats;

    public PlacementWatcherSpec(NatsServerFixture nats)
        : base(ConfigurationFactory.ParseString("""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.cluster.roles = ["shard-id:n1", "tenant:t9"]
            akka.loglevel = INFO
            """))
    {
        _nats = nats;
        Cluster.Get(Sys).Join(Cluster.Get(Sys).SelfAddress);
    }

    private PlacementSnapshot Placement(IActorRef view)
    {
        view.Tell(PlacementView.GetPlacement.Instance);
        return ExpectMsg<PlacementSnapshot>();
    }

    [Fact]
    public async Task Watcher_should_load_follow_and_ignore_invalid_entries_and_watch_again_after_a_nats_restart()
    {
        var bucket = NatsServerFixture.UniqueName("placement");
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = _nats.Url });
        var js = new NatsJSContext(connection);
        var store = await new NatsKVContext(js).CreateStoreAsync(new NatsKVConfig(bucket));
        await store.PutAsync("t1", "n1");
        await store.PutAsync("Bad.Key", "n1");
        await store.PutAsync("t2", "not a shard id");

        var settings = new PlacementSettings { Bucket = bucket, WatchMinBackoff = TimeSpan.FromMilliseconds(100), WatchMaxBackoff = TimeSpan.FromMilliseconds(500) };
        var view = Sys.ActorOf(PlacementView.Props(usesBucket: true));
        Assert.False(Placement(view).BucketReady);
        Sys.ActorOf(PlacementWatcher.Props(js, settings, view));

        AwaitAssert(() =>
        {
            var s = Placement(view);
            Assert.True(s.BucketReady);
            Assert.Equal(["t1"], s.Bucket.Keys);
            Assert.True(s.Resolve("t1").CanRun);        // n1 is this node, up
            Assert.Equal("n1", s.Resolve("t9").ShardId); // the allowlist role
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));

        await store.PutAsync("t3", "n2");
        await store.DeleteAsync("t1");
        AwaitAssert(() => Assert.Equal(["t3"], Placement(view).Bucket.Keys), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        Assert.False(Placement(view).Resolve("t3").CanRun); // n2 is not in the cluster

        await _nats.RestartAsync();
        var again = await new NatsKVContext(js).GetStoreAsync(bucket);
        await again.PutAsync("t4", "n1");
        AwaitAssert(() => Assert.Equal(["t3", "t4"], Placement(view).Bucket.Keys.Order()), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Watcher_should_create_a_missing_bucket_and_report_it_read_when_empty()
    {
        var bucket = NatsServerFixture.UniqueName("placement");
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = _nats.Url });
        var view = Sys.ActorOf(PlacementView.Props(usesBucket: true));
        Sys.ActorOf(PlacementWatcher.Props(new NatsJSContext(connection), new PlacementSettings { Bucket = bucket }, view));
        AwaitAssert(() => Assert.True(Placement(view).BucketReady), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        Assert.Empty(Placement(view).Bucket);
        await new NatsKVContext(new NatsJSContext(connection)).GetStoreAsync(bucket); // exists now
    }
}
