namespace Runner.Actors.Protocol;

/// <summary>A message for the tenant shard <paramref name="Tenant"/> (the sharding entity and shard id are both the tenant id).</summary>
public sealed record TenantEnvelope(string Tenant, object Message);
