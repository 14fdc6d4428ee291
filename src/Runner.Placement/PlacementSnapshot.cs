using System.Collections.Immutable;
using Akka.Actor;

namespace Runner.Placement;

/// <summary>A member of the cluster as placement sees it (Up or WeaklyUp members only).</summary>
/// <param name="Address">Its address.</param>
/// <param name="ShardId">Its shard id.</param>
/// <param name="Allowlist">Tenants its allowlist binds to it.</param>
/// <param name="Open">Whether it takes tenants nothing else places.</param>
public sealed record PlacementMember(Address Address, string ShardId, ImmutableHashSet<string> Allowlist, bool Open);

/// <summary>Where a tenant's placement comes from.</summary>
public enum PlacementSource
{
    /// <summary>Nothing places it.</summary>
    None,

    /// <summary>The placement bucket.</summary>
    Bucket,

    /// <summary>A node's allowlist.</summary>
    Allowlist,

    /// <summary>An open node (no allowlist, no bucket).</summary>
    Open,
}

/// <summary>Where a tenant belongs.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="ShardId">The shard id placement names, or null when nothing places it.</param>
/// <param name="Source">Where that comes from.</param>
/// <param name="Member">The member with that shard id, or null when it is not in the cluster.</param>
public sealed record PlacementDecision(string Tenant, string? ShardId, PlacementSource Source, PlacementMember? Member)
{
    /// <summary>Whether the tenant can run now: placed, on a member that is up.</summary>
    public bool CanRun => Member is not null;

    /// <summary>In words, for logs and the admin API.</summary>
    public string Describe() => (ShardId, Member) switch
    {
        (null, _) => $"tenant {Tenant} is placed nowhere (no bucket entry, no allowlist names it, no open node)",
        (_, null) => $"tenant {Tenant} is placed on {ShardId} ({Source.ToString().ToLowerInvariant()}), which is not in the cluster",
        _ => $"tenant {Tenant} is placed on {ShardId} ({Source.ToString().ToLowerInvariant()}) at {Member.Address}",
    };
}

/// <summary>
/// The placement inputs at one moment: the bucket's valid entries and the members that are up. Which wins: a bucket
/// entry for a tenant wins over any allowlist; then an allowlist (several nodes listing one tenant: the lowest
/// address wins, and it is reported); then an open node (the one with the fewest tenants); else nowhere.
/// A tenant whose named node is absent is not placed anywhere else.
/// </summary>
/// <param name="Bucket">Tenant → shard id, as read from the bucket (invalid entries already dropped).</param>
/// <param name="Members">Members that are up.</param>
/// <param name="BucketReady">False while a configured bucket has not been read yet: nothing is placed from a guess.</param>
public sealed record PlacementSnapshot(ImmutableDictionary<string, string> Bucket, ImmutableArray<PlacementMember> Members, bool BucketReady)
{
    /// <summary>No bucket entries, no members.</summary>
    public static PlacementSnapshot Empty { get; } = new(ImmutableDictionary<string, string>.Empty, [], true);

    /// <summary>Resolves a tenant; <paramref name="tenantsOn"/> counts tenants per member (to choose among open nodes).</summary>
    public PlacementDecision Resolve(string tenant, Func<Address, int>? tenantsOn = null)
    {
        if (!BucketReady) return new PlacementDecision(tenant, null, PlacementSource.None, null);
        if (Bucket.TryGetValue(tenant, out var shardId))
            return new PlacementDecision(tenant, shardId, PlacementSource.Bucket, MemberWith(shardId));

        var listing = Members.Where(m => m.Allowlist.Contains(tenant)).OrderBy(m => m.Address, AddressOrder).FirstOrDefault();
        if (listing is not null) return new PlacementDecision(tenant, listing.ShardId, PlacementSource.Allowlist, listing);

        var open = Members.Where(m => m.Open)
            .OrderBy(m => tenantsOn?.Invoke(m.Address) ?? 0)
            .ThenBy(m => m.Address, AddressOrder)
            .FirstOrDefault();
        return open is null
            ? new PlacementDecision(tenant, null, PlacementSource.None, null)
            : new PlacementDecision(tenant, open.ShardId, PlacementSource.Open, open);
    }

    /// <summary>Tenants some input names: bucket keys and allowlists.</summary>
    public ImmutableSortedSet<string> NamedTenants =>
        Bucket.Keys.Concat(Members.SelectMany(m => m.Allowlist)).ToImmutableSortedSet(StringComparer.Ordinal);

    /// <summary>Tenants listed by more than one member's allowlist (the lowest address wins).</summary>
    public IEnumerable<string> Conflicts =>
        Members.SelectMany(m => m.Allowlist).GroupBy(t => t, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key);

    /// <summary>The member with <paramref name="shardId"/> (the lowest address if, wrongly, several share it).</summary>
    public PlacementMember? MemberWith(string shardId) =>
        Members.Where(m => string.Equals(m.ShardId, shardId, StringComparison.Ordinal)).OrderBy(m => m.Address, AddressOrder).FirstOrDefault();

    /// <summary>Deterministic address order.</summary>
    internal static IComparer<Address> AddressOrder => Address.Comparer;
}
