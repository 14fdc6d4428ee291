using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.Placement.Lmdb;
using Runner.Nats;
using Runner.Persistence.Lmdb;
using Runner.Placement.Custody;
using Runner.TestKit;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>
/// The placement and custody buckets take their replicas and creation mode from <c>runner.nats.streams</c>, and refuse
/// a bucket whose replicas differ, against a real (single) nats-server: what exists is made at R1 and the setting says 3.
/// </summary>
public sealed class BucketReplicaSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>, IAsyncLifetime
{
    private readonly string _name = NatsServerFixture.UniqueName("b");
    private NatsConnection _connection = null!;
    private NatsJSContext _js = null!;

    public Task InitializeAsync()
    {
        _connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        _js = new NatsJSContext(_connection);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    private Task MakeAtOneReplica(string bucket) => new NatsKVContext(_js).CreateStoreAsync(new NatsKVConfig(bucket)).AsTask();

    private async Task<bool> ExistsAsync(string stream)
    {
        try
        {
            await _js.GetStreamAsync(stream);
            return true;
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return false;
        }
    }

    [Fact]
    public void Placement_and_custody_settings_should_take_replicas_and_mode_from_the_nats_stream_settings()
    {
        // RUNNER_NATS_REPLICAS is not set where the specs run; its parsing is specified in Runner.Nats.Tests.
        var config = ConfigurationFactory.ParseString("""
            runner.nats.streams { replicas = 3, mode = validate }
            runner.placement.bucket = "placement"
            """).WithFallback(PlacementSettings.DefaultConfiguration());
        var placement = PlacementSettings.Create(config);
        var custody = CustodySettings.Create(config);
        Assert.Equal(NatsSettings.StreamReplicas(config), placement.Replicas);
        Assert.Equal(3, placement.Replicas);
        Assert.Equal(3, custody.Replicas);
        Assert.Equal(3, placement.BucketConfig.NumberOfReplicas);
        Assert.Equal(3, custody.HomesConfig.NumberOfReplicas);
        Assert.Equal(3, custody.StateConfig.NumberOfReplicas);
        Assert.True(placement.ValidateOnly);
        Assert.Equal("runner.nats.streams.mode = validate", placement.BucketNotCreatedBecause);
        Assert.Equal("runner.nats.streams.mode = validate", custody.NotCreatedBecause);

        var defaults = PlacementSettings.Create(PlacementSettings.DefaultConfiguration());
        Assert.Equal(1, defaults.Replicas);
        Assert.Null(defaults.BucketNotCreatedBecause);
        Assert.Null(CustodySettings.Create(PlacementSettings.DefaultConfiguration()).NotCreatedBecause);
    }

    [Fact]
    public void Placement_settings_should_refuse_replicas_out_of_range_as_the_nats_settings_do()
    {
        var config = ConfigurationFactory.ParseString("runner.nats.streams.replicas = 9").WithFallback(PlacementSettings.DefaultConfiguration());
        var e = Assert.Throws<ConfigurationException>(() => PlacementSettings.Create(config));
        Assert.StartsWith("runner.nats.streams.replicas must be a whole number of replicas from 1 to 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_placement_bucket_made_at_one_replica_should_be_refused_when_three_are_configured()
    {
        var bucket = _name + "-placement";
        await MakeAtOneReplica(bucket);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PlacementWatcher.EnsureBucketAsync(_js, new PlacementSettings { Bucket = bucket, Replicas = 3 }));
        Assert.StartsWith($"JetStream KV bucket {bucket} (stream KV_{bucket}) exists with settings the runner cannot use: replicas are 1, expected 3",
            e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_placement_bucket_should_say_what_to_create_and_which_setting_kept_the_runner_from_it()
    {
        var bucket = _name + "-absent";
        var validate = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PlacementWatcher.EnsureBucketAsync(_js, new PlacementSettings { Bucket = bucket, Replicas = 3, ValidateOnly = true }));
        Assert.Contains($"JetStream KV bucket {bucket} (stream KV_{bucket}, subjects [$KV.{bucket}.>]) does not exist and runner.nats.streams.mode = validate",
            validate.Message, StringComparison.Ordinal);
        Assert.Contains($"Create it with 3 replica(s), file storage and history 1, e.g. nats kv add {bucket} --replicas 3 --storage file --history 1",
            validate.Message, StringComparison.Ordinal);

        var off = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PlacementWatcher.EnsureBucketAsync(_js, new PlacementSettings { Bucket = bucket, CreateBucket = false }));
        Assert.Contains("does not exist and runner.placement.create-bucket = off", off.Message, StringComparison.Ordinal);
        Assert.False(await ExistsAsync("KV_" + bucket));

        await PlacementWatcher.EnsureBucketAsync(_js, new PlacementSettings { Bucket = bucket });
        Assert.Equal(1, (await _js.GetStreamAsync("KV_" + bucket)).Info.Config.NumReplicas);
    }

    [Fact]
    public async Task The_custodian_should_refuse_to_start_on_a_homes_bucket_made_at_one_replica_when_three_are_configured()
    {
        var settings = new CustodySettings { HomesBucket = _name + "-homes", StateBucket = _name + "-state", Replicas = 3 };
        await MakeAtOneReplica(settings.HomesBucket);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => StartCustodianAsync(settings));
        Assert.StartsWith(
            $"JetStream KV bucket {settings.HomesBucket} (stream KV_{settings.HomesBucket}) exists with settings the runner cannot use: replicas are 1, expected 3",
            e.Message, StringComparison.Ordinal);
        Assert.False(await ExistsAsync("OBJ_" + settings.StateBucket)); // refused before anything else was made
    }

    [Fact]
    public async Task The_custodian_in_validate_mode_should_refuse_to_start_without_its_buckets_and_say_what_to_create()
    {
        var settings = new CustodySettings { HomesBucket = _name + "-vhomes", StateBucket = _name + "-vstate", ValidateOnly = true };
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => StartCustodianAsync(settings));
        Assert.Contains($"nats kv add {settings.HomesBucket} --replicas 1 --storage file --history 5", e.Message, StringComparison.Ordinal);

        await StreamProvisioner.EnsureBucketAsync(_js, settings.HomesConfig, null);
        var state = await Assert.ThrowsAsync<InvalidOperationException>(() => StartCustodianAsync(settings));
        Assert.Contains($"nats object add {settings.StateBucket} --replicas 1 --storage file", state.Message, StringComparison.Ordinal);

        await StreamProvisioner.EnsureObjectStoreAsync(_js, settings.StateConfig, null);
        await StartCustodianAsync(settings); // what the operator made is accepted
    }

    [Fact]
    public async Task Homes_opened_by_bucket_name_alone_should_never_create_the_bucket()
    {
        var bucket = _name + "-nohomes";
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new TenantHomes(_js, bucket).GetAsync("t1"));
        Assert.Contains($"JetStream KV bucket {bucket} of tenant homes does not exist yet", e.Message, StringComparison.Ordinal);
        Assert.False(await ExistsAsync("KV_" + bucket));

        await new TenantHomes(_js, new CustodySettings { HomesBucket = bucket }).StoreAsync();
        Assert.Equal((null, 0UL), await new TenantHomes(_js, bucket).GetAsync("t1"));
    }

    /// <summary>Starts (and disposes) a custodian on an actor system with LMDB in a temporary directory.</summary>
    private async Task StartCustodianAsync(CustodySettings settings)
    {
        using var dir = new TempDirectory("custody-replicas");
        var system = ActorSystem.Create("replicas", ConfigurationFactory.ParseString($$"""
            akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.lmdb"
            akka.persistence.journal.lmdb { data-dir = "{{dir.Path}}", durability = nosync }
            akka.persistence.snapshot-store.lmdb { data-dir = "{{dir.Path}}", durability = nosync }
            """).WithFallback(LmdbPersistence.DefaultConfiguration()));
        try
        {
            // Starting asks no one for placement: no view is needed.
            var custodian = new TenantCustodian(system, LmdbTenantStateStore.Of(system), _connection, _js, ActorRefs.Nobody, new PlacementSettings(), settings, "node-a", _name,
                NullLogger<TenantCustodian>.Instance);
            try
            {
                await custodian.StartAsync(CancellationToken.None);
            }
            finally
            {
                await custodian.DisposeAsync();
            }
        }
        finally
        {
            await system.Terminate();
        }
    }
}
