using System.Text.Json;
using System.Text.Json.Serialization;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.Nats;

namespace Runner.Placement.Custody;

/// <summary>A tenant's home record (the value of its key in the homes bucket).</summary>
/// <param name="ShardId">The node that holds the state (active) or held it last (released).</param>
/// <param name="Epoch">The fencing token: it grows with every change of owner or status.</param>
/// <param name="Status"><c>active</c> (the owner runs or may run it) or <c>released</c> (state exported, anyone placed may take it).</param>
/// <param name="ReleasedTo">For released: the node placement named at release time.</param>
/// <param name="StateObject">For released: the object holding the exported state.</param>
/// <param name="At">When written.</param>
/// <param name="Reason">Why (moves, operator overrides).</param>
public sealed record TenantHome(
    [property: JsonPropertyName("shardId")] string ShardId,
    [property: JsonPropertyName("epoch")] long Epoch,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("releasedTo")] string? ReleasedTo,
    [property: JsonPropertyName("object")] string? StateObject,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("reason")] string? Reason)
{
    /// <summary>Status of an owned tenant.</summary>
    public const string Active = "active";

    /// <summary>Status of a tenant whose state waits in the object store.</summary>
    public const string Released = "released";

    /// <summary>Whether <paramref name="shardId"/> is the active owner.</summary>
    public bool IsActiveOn(string shardId) => Status == Active && ShardId == shardId;

    internal byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this);

    internal static TenantHome? FromBytes(byte[]? bytes)
    {
        if (bytes is null || bytes.Length == 0) return null;
        try
        {
            return JsonSerializer.Deserialize<TenantHome>(bytes);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The homes bucket: reads and compare-and-set writes of home records.</summary>
public sealed class TenantHomes
{
    private readonly INatsJSContext _js;
    private readonly CustodySettings? _settings;
    private INatsKVStore? _store;

    /// <summary>
    /// Access to the homes bucket of <paramref name="settings"/>, created when missing with its replicas
    /// (<c>runner.nats.streams.replicas</c>) unless <c>runner.nats.streams.mode = validate</c>; an existing bucket with
    /// other replicas is refused.
    /// </summary>
    public TenantHomes(INatsJSContext js, CustodySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _js = js;
        _settings = settings;
        Bucket = settings.HomesBucket;
    }

    /// <summary>
    /// Access to an existing homes bucket <paramref name="bucket"/>, which is never created here (it would not know
    /// the replicas); a node with custody creates it at start. Prefer <see cref="TenantHomes(INatsJSContext, CustodySettings)"/>.
    /// </summary>
    public TenantHomes(INatsJSContext js, string bucket)
    {
        _js = js;
        Bucket = bucket;
    }

    /// <summary>The bucket.</summary>
    public string Bucket { get; }

    /// <summary>
    /// Opens the bucket: created (history 5, file storage, the configured replicas) when missing and allowed, its
    /// replicas validated; without settings, opened only.
    /// </summary>
    /// <exception cref="InvalidOperationException">The bucket is missing and may not be created, or its replicas differ.</exception>
    public async Task<INatsKVStore> StoreAsync(CancellationToken cancellationToken = default)
    {
        if (_store is { } s) return s;
        if (_settings is { } settings)
        {
            _store = await StreamProvisioner.EnsureBucketAsync(_js, settings.HomesConfig, settings.NotCreatedBecause, settings.Placement, cancellationToken).ConfigureAwait(false);
            return _store;
        }

        try
        {
            _store = await new NatsKVContext(_js).GetStoreAsync(Bucket, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            throw new InvalidOperationException(
                $"JetStream KV bucket {Bucket} of tenant homes does not exist yet: a runner node with custody creates it when it starts.", e);
        }

        return _store;
    }

    /// <summary>The record and its revision, or (null, 0) when the tenant has none.</summary>
    public async Task<(TenantHome? Home, ulong Revision)> GetAsync(string tenant, CancellationToken cancellationToken = default)
    {
        var store = await StoreAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var entry = await store.GetEntryAsync<byte[]>(tenant, cancellationToken: cancellationToken).ConfigureAwait(false);
            return (TenantHome.FromBytes(entry.Value), entry.Revision);
        }
        catch (NatsKVKeyDeletedException e)
        {
            return (null, e.Revision);
        }
        catch (NatsKVKeyNotFoundException)
        {
            return (null, 0);
        }
    }

    /// <summary>
    /// Writes <paramref name="home"/> if the entry is still at <paramref name="revision"/> (0 = must not exist).
    /// Returns false when someone else changed it first.
    /// </summary>
    public async Task<bool> CompareAndSetAsync(string tenant, TenantHome home, ulong revision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(home);
        var store = await StoreAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (revision == 0) await store.CreateAsync(tenant, home.ToBytes(), cancellationToken: cancellationToken).ConfigureAwait(false);
            else await store.UpdateAsync(tenant, home.ToBytes(), revision, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NatsKVCreateException)
        {
            return false;
        }
        catch (NatsKVWrongLastRevisionException)
        {
            return false;
        }
    }

    /// <summary>
    /// The operator's override for a tenant whose owner is unreachable: makes <paramref name="shardId"/> the active
    /// owner with a new epoch, without the old owner's state. The tenant restarts there from the events stream alone:
    /// saga state, dedupe markers, outbox entries and timers held by the old owner are lost (commands it had decided
    /// but not published are not published; events after its checkpoint are applied to fresh instances). The old
    /// owner, if it comes back, is fenced and never writes for the tenant again.
    /// </summary>
    public async Task<TenantHome> OverrideAsync(string tenant, string shardId, string reason, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var (home, revision) = await GetAsync(tenant, cancellationToken).ConfigureAwait(false);
            var next = new TenantHome(shardId, (home?.Epoch ?? 0) + 1, TenantHome.Active, null, null, DateTimeOffset.UtcNow, "override: " + reason);
            if (await CompareAndSetAsync(tenant, next, revision, cancellationToken).ConfigureAwait(false)) return next;
        }
    }
}
