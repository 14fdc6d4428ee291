using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using Runner.TestKit;
using Xunit;

namespace Runner.Nats.Tests;

/// <summary>
/// Streams and buckets whose replicas differ from the setting, and missing ones in validate mode, against a real
/// (single) nats-server: it cannot hold more than one replica, so what exists is made at R1 and the setting says 3.
/// </summary>
public sealed class ReplicaValidationSpec(NatsServerFixture server) : IClassFixture<NatsServerFixture>, IAsyncLifetime
{
    private readonly string _name = NatsServerFixture.UniqueName("r");
    private NatsConnection _connection = null!;
    private NatsJSContext _js = null!;

    public Task InitializeAsync()
    {
        _connection = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        _js = new NatsJSContext(_connection);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    private NatsSettings Settings(int replicas, bool create = true) => new()
    {
        Url = server.Url,
        Subjects = new Subjects(_name),
        EventsStream = _name.ToUpperInvariant() + "_EVENTS",
        CommandsStream = _name.ToUpperInvariant() + "_COMMANDS",
        DeadLetterStream = _name.ToUpperInvariant() + "_DLQ",
        Replicas = replicas,
        CreateStreams = create,
    };

    private static NatsKVConfig Bucket(string name, int replicas) =>
        new(name) { History = 5, Storage = NatsKVStorageType.File, NumberOfReplicas = replicas };

    [Fact]
    public async Task Streams_made_at_one_replica_should_be_refused_when_three_are_configured()
    {
        await StreamProvisioner.EnsureAsync(_js, Settings(replicas: 1));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => StreamProvisioner.EnsureAsync(_js, Settings(replicas: 3)));
        Assert.Contains($"JetStream stream {Settings(1).EventsStream} exists with settings the runner cannot use", e.Message, StringComparison.Ordinal);
        Assert.Contains("replicas are 1, expected 3 (runner.nats.streams.replicas or RUNNER_NATS_REPLICAS)", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await _js.GetStreamAsync(Settings(1).EventsStream)).Info.Config.NumReplicas); // not changed
    }

    [Fact]
    public async Task A_missing_stream_in_validate_mode_should_say_what_the_operator_must_create()
    {
        var settings = Settings(replicas: 3, create: false);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => StreamProvisioner.EnsureAsync(_js, settings));
        Assert.Contains($"JetStream stream {settings.EventsStream} does not exist and runner.nats.streams.mode = validate", e.Message, StringComparison.Ordinal);
        Assert.Contains($"subjects [{_name}.evt.>], 3 replica(s), file storage, duplicate window 10m", e.Message, StringComparison.Ordinal);
        Assert.Contains($"nats stream add {settings.EventsStream} --subjects '{_name}.evt.>' --replicas 3 --storage file --dupe-window 10m", e.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_KV_bucket_made_at_one_replica_should_be_refused_when_three_are_configured()
    {
        var name = _name + "-homes";
        await new NatsKVContext(_js).CreateStoreAsync(new NatsKVConfig(name) { History = 5 });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => StreamProvisioner.EnsureBucketAsync(_js, Bucket(name, 3), null));
        Assert.Equal(
            $"JetStream KV bucket {name} (stream KV_{name}) exists with settings the runner cannot use: replicas are 1, expected 3 " +
            "(runner.nats.streams.replicas or RUNNER_NATS_REPLICAS). Change the bucket or the setting; the runner does not modify existing buckets.",
            e.Message);
    }

    [Fact]
    public async Task A_missing_KV_bucket_should_be_created_with_the_configured_replicas_and_opened_again_as_it_is()
    {
        var name = _name + "-placement";
        var store = await StreamProvisioner.EnsureBucketAsync(_js, Bucket(name, 1), null);
        await store.PutAsync("t1", "n1"u8.ToArray());

        var again = await StreamProvisioner.EnsureBucketAsync(_js, Bucket(name, 1), "runner.nats.streams.mode = validate");
        Assert.Equal("n1"u8.ToArray(), (await again.GetEntryAsync<byte[]>("t1")).Value);
        Assert.Equal(1, (await _js.GetStreamAsync("KV_" + name)).Info.Config.NumReplicas);
    }

    [Fact]
    public async Task A_missing_KV_bucket_in_validate_mode_should_say_what_the_operator_must_create()
    {
        var name = _name + "-missing";
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StreamProvisioner.EnsureBucketAsync(_js, Bucket(name, 3), "runner.nats.streams.mode = validate"));
        Assert.Equal(
            $"JetStream KV bucket {name} (stream KV_{name}, subjects [$KV.{name}.>]) does not exist and runner.nats.streams.mode = validate, " +
            "so the runner does not create it. Create it with 3 replica(s), file storage and history 5, " +
            $"e.g. nats kv add {name} --replicas 3 --storage file --history 5",
            e.Message);
        await Assert.ThrowsAnyAsync<NatsJSApiException>(() => _js.GetStreamAsync("KV_" + name).AsTask()); // nothing was created
    }

    [Fact]
    public async Task An_object_store_made_at_one_replica_should_be_refused_when_three_are_configured_and_a_missing_one_named()
    {
        var name = _name + "-state";
        await new NatsObjContext(_js).CreateObjectStoreAsync(new NatsObjConfig(name));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StreamProvisioner.EnsureObjectStoreAsync(_js, new NatsObjConfig(name) { NumberOfReplicas = 3 }, null));
        Assert.Contains($"JetStream object store {name} (stream OBJ_{name}) exists with settings the runner cannot use: replicas are 1, expected 3",
            e.Message, StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StreamProvisioner.EnsureObjectStoreAsync(_js, new NatsObjConfig(name + "x") { NumberOfReplicas = 3 }, "runner.nats.streams.mode = validate"));
        Assert.Contains($"JetStream object store {name}x (stream OBJ_{name}x, subjects [$O.{name}x.C.>, $O.{name}x.M.>]) does not exist", missing.Message,
            StringComparison.Ordinal);
        Assert.Contains($"nats object add {name}x --replicas 3 --storage file", missing.Message, StringComparison.Ordinal);
    }
}
