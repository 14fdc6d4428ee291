using Akka.Cluster.Sharding;
using Runner.Actors.Protocol;

namespace Runner.Host;

/// <summary>Sharding of tenants: entity id = shard id = tenant id (one tenant shard per tenant).</summary>
internal sealed class TenantMessageExtractor : IMessageExtractor
{
    public string? EntityId(object message) => message switch
    {
        TenantEnvelope e => e.Tenant,
        _ => null,
    };

    public object? EntityMessage(object message) => message is TenantEnvelope e ? e.Message : message;

    public string? ShardId(object message) => EntityId(message);

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
