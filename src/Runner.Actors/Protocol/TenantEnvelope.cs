using Runner.Actors.Serialization;

namespace Runner.Actors.Protocol;

/// <summary>
/// A message for the tenant shard <paramref name="Tenant"/> (the sharding entity and shard id are both the tenant id). It
/// crosses nodes when the tenant runs elsewhere: <see cref="RunnerWireSerializer"/> writes it with its message serialized
/// by the message's own serializer.
/// </summary>
public sealed record TenantEnvelope(string Tenant, object Message) : IRunnerWire;
