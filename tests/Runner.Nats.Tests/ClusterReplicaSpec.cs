using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using Runner.TestKit;
using Xunit;

namespace Runner.Nats.Tests;

/// <summary>Streams and buckets at three replicas on a real three-server JetStream cluster.</summary>
public sealed class ClusterReplicaSpec : IAsyncLifetime
{
    private readonly string _name = NatsServerFixture.UniqueName("c");
    private NatsClusterFixture _cluster = null!;
    private NatsConnection _connection = null!;
    private NatsJSContext _js = null!;

    public async Task InitializeAsync()
    {
        _cluster = await NatsClusterFixture.StartAsync();
        _connection = new NatsConnection(NatsOpts.Default with { Url = _cluster.Urls });
        _js = new NatsJSContext(_connection);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    private NatsSettings Settings(int replicas) => new()
    {
        Url = _cluster.Urls,
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

    [Fact]
    public async Task A_consumption_whose_consumer_server_is_killed_should_go_on_from_its_checkpoint_on_a_live_server()
    {
        var settings = Settings(replicas: 3) with { ApiTimeout = TimeSpan.FromSeconds(1) };
        await StreamProvisioner.EnsureAsync(_js, settings);
        await using var edge = new NatsEdge(settings);
        await edge.StartAsync();
        for (var i = 1; i <= 5; i++) await _js.PublishAsync(settings.Subjects.Event("t1", "OrderPlaced"), new byte[] { (byte)i });

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        ulong applied = 0;
        var starts = new List<ConsumerStart>();
        var seen = new List<ulong>();
        var consume = Task.Run(async () =>
        {
            await foreach (var msg in edge.ConsumeInOrderAsync("t1", "order", _ => Task.FromResult<ulong?>(Volatile.Read(ref applied)), s => { lock (starts) starts.Add(s); }, stop.Token))
            {
                var seq = msg.Metadata!.Value.Sequence.Stream;
                lock (seen) seen.Add(seq);
                await msg.AckAsync();
                Volatile.Write(ref applied, Math.Max(Volatile.Read(ref applied), seq));
                if (seen.Count == 10) return;
            }
        });

        await WaitUntilAsync(() => Volatile.Read(ref applied) == 5, stop.Token);
        var info = await _js.GetConsumerAsync(settings.EventsStream, NatsEdge.ConsumerName("t1", "order"));
        var host = _cluster.IndexOf(info.Info.Cluster?.Leader);
        Assert.True(host >= 0, "the consumer's server is known");
        await _cluster.Kill(host);

        // Published while its server is down: the consumption goes silent, finds the consumer unreachable and moves on.
        for (var i = 6; i <= 10; i++)
        {
            while (true)
            {
                try
                {
                    await _js.PublishAsync(settings.Subjects.Event("t1", "OrderPlaced"), new byte[] { (byte)i }, cancellationToken: stop.Token);
                    break;
                }
                catch (NatsException) when (!stop.IsCancellationRequested)
                {
                    // the stream elects a leader when the killed server led it; the same event again
                }
            }
        }

        await consume.WaitAsync(stop.Token);
        lock (seen) Assert.Equal(seen.Order().ToList(), seen); // in stream order
        Assert.Equal(10, seen.Distinct().Count());
        lock (starts) Assert.Contains(starts, s => s.Consumer.StartsWith(NatsEdge.ConsumerName("t1", "order") + "-", StringComparison.Ordinal) && s.StartSeq == 6);
    }

    [Fact]
    public async Task A_consumption_should_switch_to_a_standby_on_another_server_when_its_consumer_server_is_killed_and_skip_what_it_applied()
    {
        var settings = Settings(replicas: 3) with { StandbyCheckInterval = TimeSpan.FromMilliseconds(200) };
        await StreamProvisioner.EnsureAsync(_js, settings);
        await using var edge = new NatsEdge(settings);
        await edge.StartAsync();
        for (var i = 1; i <= 5; i++) await _js.PublishAsync(settings.Subjects.Event("t1", "OrderPlaced"), new byte[] { (byte)i });

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        ulong applied = 0;
        var starts = new List<ConsumerStart>();
        var seen = new List<ulong>();
        var consume = Task.Run(async () =>
        {
            await foreach (var msg in edge.ConsumeInOrderAsync("t1", "order", _ => Task.FromResult<ulong?>(Volatile.Read(ref applied)), s => { lock (starts) starts.Add(s); }, stop.Token))
            {
                var seq = msg.Metadata!.Value.Sequence.Stream;
                lock (seen) seen.Add(seq);
                await msg.AckAsync();
                Volatile.Write(ref applied, Math.Max(Volatile.Read(ref applied), seq));
                if (seen.Count == 10) return;
            }
        });

        // One standby on each of the two other servers, made at the checkpoint.
        await WaitUntilAsync(() => Volatile.Read(ref applied) == 5 && edge.Standbys("t1", "order").Count == 2 && edge.Standbys("t1", "order").All(s => s.StartSeq == 6),
            stop.Token);
        var standbys = edge.Standbys("t1", "order");
        var active = edge.ActiveServer("t1", "order");
        Assert.NotNull(active);
        Assert.DoesNotContain(standbys, s => s.Server == active);
        Assert.NotEqual(standbys[0].Server, standbys[1].Server);
        await _cluster.Kill(_cluster.IndexOf(active));

        for (var i = 6; i <= 10; i++) await PublishRetryingAsync(settings.Subjects.Event("t1", "OrderPlaced"), (byte)i, stop.Token);

        await consume.WaitAsync(stop.Token);
        lock (seen) Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], seen.Select(s => (int)s)); // in stream order, each once
        lock (starts)
        {
            // The first switch goes to one of the standbys seen before the kill, after what was applied; a later one (the
            // stream electing a leader may silence the new consumer for a moment) goes to a standby made since.
            var switched = starts.First(s => s.Reason.Contains("switched to standby", StringComparison.Ordinal));
            Assert.Contains(standbys, s => s.Consumer == switched.Consumer);
            Assert.Equal(6ul, switched.StartSeq);
        }

        Assert.NotEqual(active, edge.ActiveServer("t1", "order"));
    }

    [Fact]
    public async Task A_replicated_stream_should_wait_for_its_servers_while_the_cluster_forms()
    {
        // Two of three servers up: JetStream has no place for a third replica until the last one joins.
        await using var forming = await NatsClusterFixture.StartAsync(running: 2);
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = forming.Urls });
        var js = new NatsJSContext(connection);
        var refused = await Assert.ThrowsAsync<NatsJSApiException>(async () =>
            await js.CreateStreamAsync(new NATS.Client.JetStream.Models.StreamConfig(_name + "_PROBE", [_name + ".probe"]) { NumReplicas = 3 }));
        Assert.Equal(10005, refused.Error.ErrCode);

        var settings = Settings(replicas: 3);
        var ensuring = StreamProvisioner.EnsureAsync(js, settings);
        Assert.False(ensuring.IsCompleted, "it waits for a third server");
        forming.Restart(2);
        await ensuring.WaitAsync(settings.PlacementWait);
        var info = await js.GetStreamAsync(settings.EventsStream);
        Assert.Equal(3, info.Info.Config.NumReplicas);
    }

    private async Task PublishRetryingAsync(string subject, byte value, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await _js.PublishAsync(subject, new[] { value }, cancellationToken: cancellationToken);
                return;
            }
            catch (NatsException) when (!cancellationToken.IsCancellationRequested)
            {
                // the stream elects a leader when the killed server led it; the same event again
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition()) await Task.Delay(50, cancellationToken); // polling a condition the consumption sets
    }
}
