using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using Runner.TestKit;
using Xunit;

namespace Runner.Nats.Tests;

/// <summary>Streams and buckets at three replicas on a real three-server JetStream cluster.</summary>
public sealed class ClusterReplicaSpec(NatsClusterFixture cluster) : IClassFixture<NatsClusterFixture>, IAsyncLifetime
{
    private readonly string _name = NatsServerFixture.UniqueName("c");
    private NatsConnection _connection = null!;
    private NatsJSContext _js = null!;

    public Task InitializeAsync()
    {
        _connection = new NatsConnection(NatsOpts.Default with { Url = cluster.Url });
        _js = new NatsJSContext(_connection);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    private NatsSettings Settings(int replicas) => new()
    {
        Url = cluster.Url,
        Subjects = new Subjects(_name),
        EventsStream = _name.ToUpperInvariant() + "_EVENTS",
        CommandsStream = _name.ToUpperInvariant() + "_COMMANDS",
        DeadLetterStream = _name.ToUpperInvariant() + "_DLQ",
        Replicas = replicas,
    };

    [Fact]
    public async Task Streams_and_buckets_should_be_made_at_three_replicas_accepted_again_and_refused_by_a_node_configured_for_one()
    {
        var settings = Settings(replicas: 3);
        var homes = new NatsKVConfig(_name + "-homes") { History = 5, Storage = NatsKVStorageType.File, NumberOfReplicas = 3 };
        var state = new NatsObjConfig(_name + "-state") { Storage = NatsObjStorageType.File, NumberOfReplicas = 3 };
        await StreamProvisioner.EnsureAsync(_js, settings);
        await StreamProvisioner.EnsureBucketAsync(_js, homes, null);
        await StreamProvisioner.EnsureObjectStoreAsync(_js, state, null);

        foreach (var stream in new[] { settings.EventsStream, settings.CommandsStream, settings.DeadLetterStream, "KV_" + homes.Bucket, "OBJ_" + state.Bucket })
        {
            var info = (await _js.GetStreamAsync(stream)).Info;
            Assert.Equal(3, info.Config.NumReplicas);
            Assert.Equal(2, info.Cluster?.Replicas?.Count ?? 0); // a leader and two followers
        }

        // The next start (validate mode: nothing is created) accepts them as they are.
        await StreamProvisioner.EnsureAsync(_js, settings with { CreateStreams = false });
        await StreamProvisioner.EnsureBucketAsync(_js, homes, "runner.nats.streams.mode = validate");
        await StreamProvisioner.EnsureObjectStoreAsync(_js, state, "runner.nats.streams.mode = validate");

        var stream1 = await Assert.ThrowsAsync<InvalidOperationException>(() => StreamProvisioner.EnsureAsync(_js, Settings(replicas: 1)));
        Assert.Contains("replicas are 3, expected 1", stream1.Message, StringComparison.Ordinal);
        var bucket1 = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StreamProvisioner.EnsureBucketAsync(_js, new NatsKVConfig(homes.Bucket) { History = 5, NumberOfReplicas = 1 }, null));
        Assert.Contains($"KV bucket {homes.Bucket} (stream KV_{homes.Bucket}) exists with settings the runner cannot use: replicas are 3, expected 1",
            bucket1.Message, StringComparison.Ordinal);
    }
}
