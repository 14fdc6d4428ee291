using Runner.Sagas;

namespace Runner.Placement;

/// <summary>
/// What a node advertises to the cluster as member roles: its shard id (<c>shard-id:&lt;id&gt;</c>), each allowlisted
/// tenant (<c>tenant:&lt;t&gt;</c>), and <c>tenants:open</c> when it has neither an allowlist nor a placement bucket
/// (such a node takes tenants that nothing else places, which keeps a one-node setup working without configuration).
/// </summary>
public static class PlacementRoles
{
    /// <summary>Prefix of the shard id role.</summary>
    public const string ShardIdPrefix = "shard-id:";

    /// <summary>Prefix of an allowlisted tenant's role.</summary>
    public const string TenantPrefix = "tenant:";

    /// <summary>The role of a node that takes unplaced tenants.</summary>
    public const string Open = "tenants:open";

    /// <summary>The roles of a node.</summary>
    public static IReadOnlyList<string> For(string shardId, IEnumerable<string> allowlist, bool open)
    {
        ArgumentNullException.ThrowIfNull(allowlist);
        var roles = new List<string> { ShardIdPrefix + shardId };
        roles.AddRange(allowlist.Select(t => TenantPrefix + t));
        if (open) roles.Add(Open);
        return roles;
    }

    /// <summary>The shard id in <paramref name="roles"/>, or null.</summary>
    public static string? ShardIdOf(IEnumerable<string> roles) =>
        roles.FirstOrDefault(r => r.StartsWith(ShardIdPrefix, StringComparison.Ordinal))?[ShardIdPrefix.Length..];

    /// <summary>The allowlisted tenants in <paramref name="roles"/> (invalid ids are not tenants).</summary>
    public static IEnumerable<string> TenantsOf(IEnumerable<string> roles) =>
        roles.Where(r => r.StartsWith(TenantPrefix, StringComparison.Ordinal)).Select(r => r[TenantPrefix.Length..]).Where(TenantId.IsValid);
}
