using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.TestKit;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>The watcher on a placement bucket the configuration cannot use, against a real nats-server.</summary>
public sealed class PlacementWatcherReplicaSpec : Akka.TestKit.Xunit2.TestKit, IClassFixture<NatsServerFixture>
{
    private readonly NatsServerFixture _nats;

    public PlacementWatcherReplicaSpec(NatsServerFixture nats)
        : base(ConfigurationFactory.ParseString("""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            akka.cluster.roles = ["shard-id:n1"]
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
    public async Task Watcher_should_log_the_replica_mismatch_as_an_error_and_place_nothing_until_the_bucket_is_fixed()
    {
        var bucket = NatsServerFixture.UniqueName("placement");
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = _nats.Url });
        var js = new NatsJSContext(connection);
        var kv = new NatsKVContext(js);
        var store = await kv.CreateStoreAsync(new NatsKVConfig(bucket)); // R1
        await store.PutAsync("t1", "n1");

        // A long back-off: exactly one attempt falls inside the log filter's window.
        var settings = new PlacementSettings { Bucket = bucket, Replicas = 3, WatchMinBackoff = TimeSpan.FromSeconds(30), WatchMaxBackoff = TimeSpan.FromSeconds(30) };
        var view = Sys.ActorOf(PlacementView.Props(usesBucket: true));
        await EventFilter.Error(contains: $"JetStream KV bucket {bucket} (stream KV_{bucket}) exists with settings the runner cannot use: replicas are 1, expected 3")
            .ExpectAsync(1, async () =>
            {
                Sys.ActorOf(PlacementWatcher.Props(js, settings, view));
                await Task.CompletedTask;
            }, TimeSpan.FromSeconds(15));
        Assert.False(Placement(view).BucketReady);
        Assert.False(Placement(view).Resolve("t1").CanRun);
    }
}
