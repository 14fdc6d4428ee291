using Akka.Actor;
using Runner.Persistence.Lmdb;
using Runner.Placement.Custody;

namespace Runner.Placement.Lmdb;

/// <summary>Custody's <see cref="ITenantStateStore"/> on the node's LMDB store (the journal's and snapshot store's environment).</summary>
public sealed class LmdbTenantStateStore : ITenantStateStore
{
    private readonly LmdbStateStore _store;

    /// <summary>Over <paramref name="store"/>.</summary>
    public LmdbTenantStateStore(LmdbStateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <summary>Over the LMDB store of <paramref name="system"/>.</summary>
    public static LmdbTenantStateStore Of(ActorSystem system) => new(LmdbPersistence.Get(system).StateStore());

    /// <summary>The LMDB selector of a set of tenant keys.</summary>
    public static PersistenceIdSelector Selector(TenantKeySet keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return new PersistenceIdSelector(keys.Exact, keys.Prefixes);
    }

    /// <inheritdoc />
    public Task<byte[]> ExportAsync(string tenant) => _store.ExportAsync(Selector(TenantKeys.MovedOf(tenant)));

    /// <inheritdoc />
    public async Task<TenantImport> ImportAsync(string tenant, byte[] data)
    {
        var summary = await _store.ImportAsync(data, Selector(TenantKeys.AllOf(tenant)), forgetPosition: tenant).ConfigureAwait(false);
        return new TenantImport(summary.PersistenceIds, summary.Events, summary.Snapshots, summary.Bytes);
    }

    /// <inheritdoc />
    /// <remarks>The tenant's replica log position goes with it (<see cref="JournalReplicator"/> keys its log by tenant).</remarks>
    public Task<int> DeleteAsync(string tenant) => _store.DeleteAsync(Selector(TenantKeys.AllOf(tenant)), forgetPosition: tenant);

    /// <inheritdoc />
    public Task FenceAsync(string tenant, string reason) => _store.FenceAsync(Selector(TenantKeys.AllOf(tenant)), reason);

    /// <inheritdoc />
    public Task UnfenceAsync(string tenant) => _store.UnfenceAsync(Selector(TenantKeys.AllOf(tenant)));

    /// <inheritdoc />
    /// <remarks>A tenant's fence covers all its ids at once; its checkpoints' id stands for them.</remarks>
    public bool IsFenced(string tenant) => _store.FenceOf(TenantKeys.Checkpoints(tenant)) is not null;
}
