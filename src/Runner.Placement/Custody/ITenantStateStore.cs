namespace Runner.Placement.Custody;

/// <summary>
/// Where a node keeps its tenants' state, as custody needs it: exported to move a tenant, imported where it moves to,
/// deleted after it left, and fenced so a node that no longer owns a tenant cannot write to it.
/// <c>Runner.Placement.Lmdb</c> implements it on the node's LMDB store.
/// </summary>
public interface ITenantStateStore
{
    /// <summary>What travels with the tenant (<see cref="TenantKeys.MovedOf"/>), in a self-checking format.</summary>
    Task<byte[]> ExportAsync(string tenant);

    /// <summary>
    /// Verifies <paramref name="data"/> before touching anything, then replaces everything of the tenant
    /// (<see cref="TenantKeys.AllOf"/>) with it in one transaction.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is corrupt or of an unknown format; nothing was changed.</exception>
    Task<TenantImport> ImportAsync(string tenant, byte[] data);

    /// <summary>Deletes everything of the tenant; returns how many persistence ids had data.</summary>
    Task<int> DeleteAsync(string tenant);

    /// <summary>From when the task completes, every write of the tenant is refused, durably, until unfenced.</summary>
    Task FenceAsync(string tenant, string reason);

    /// <summary>Lifts the tenant's fence.</summary>
    Task UnfenceAsync(string tenant);

    /// <summary>Whether the tenant is fenced here.</summary>
    bool IsFenced(string tenant);
}

/// <summary>What an import wrote.</summary>
/// <param name="PersistenceIds">Persistence ids imported.</param>
/// <param name="Events">Journal events written.</param>
/// <param name="Snapshots">Snapshots written.</param>
/// <param name="Bytes">Size of the imported data.</param>
public sealed record TenantImport(int PersistenceIds, int Events, int Snapshots, long Bytes);
