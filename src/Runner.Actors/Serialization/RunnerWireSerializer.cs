using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Akka.Actor;
using Akka.Serialization;
using Runner.Actors.Protocol;

namespace Runner.Actors.Serialization;

/// <summary>
/// Serializer of the messages that cross nodes between the admin endpoint and the tenant shard region
/// (<see cref="IRunnerWire"/>): the operator requests, their typed replies and the <see cref="TenantEnvelope"/> that carries a
/// request to the node that runs the tenant. JSON with explicit, versioned manifests, like <see cref="RunnerSerializer"/>;
/// enums travel by name. An envelope carries its message serialized by whichever serializer Akka binds to it, with that
/// serializer's id and manifest.
/// </summary>
public sealed class RunnerWireSerializer : SerializerWithStringManifest
{
    private const string EnvelopeManifest = "tenant-envelope.v1";

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // First match wins: replay stages by their stored names, every other enum by its member name.
        Converters = { new ReplayStageConverter(), new JsonStringEnumConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { HistoryKinds } },
    };

    private static readonly (string Manifest, Type Type)[] Map =
    [
        ("admin-start-replay.v1", typeof(StartReplay)),
        ("admin-get-replay.v1", typeof(GetReplay)),
        ("admin-list-replays.v1", typeof(ListReplays)),
        ("admin-list-sagas.v1", typeof(ListSagas)),
        ("admin-show-saga.v1", typeof(ShowSaga)),
        ("admin-list-timers.v1", typeof(ListTimers)),
        ("admin-refusal.v1", typeof(AdminRefusal)),
        ("admin-replay-accepted.v1", typeof(ReplayAccepted)),
        ("admin-replay-status.v1", typeof(ReplayStatus)),
        ("admin-replay-list.v1", typeof(ReplayList)),
        ("admin-saga-page.v1", typeof(SagaPage)),
        ("admin-saga-detail.v1", typeof(SagaDetail)),
        ("admin-timer-list.v1", typeof(TimerList)),
        (EnvelopeManifest, typeof(TenantEnvelope)),
    ];

    private static readonly Dictionary<Type, string> Manifests = Map.ToDictionary(m => m.Type, m => m.Manifest);
    private static readonly Dictionary<string, Type> Types = Map.ToDictionary(m => m.Manifest, m => m.Type, StringComparer.Ordinal);

    /// <summary>Creates the serializer (Akka does, from <c>akka.actor.serializers</c>).</summary>
    public RunnerWireSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => 7302;

    /// <inheritdoc />
    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var m) ? m : throw new ArgumentException($"RunnerWireSerializer cannot serialize {o.GetType()}");

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        if (obj is not TenantEnvelope envelope) return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);
        var inner = system.Serialization.FindSerializerFor(envelope.Message);
        var wrapped = new WrappedEnvelope(envelope.Tenant, inner.Identifier, Akka.Serialization.Serialization.ManifestFor(inner, envelope.Message),
            inner.ToBinary(envelope.Message));
        return JsonSerializer.SerializeToUtf8Bytes(wrapped, Options);
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
            throw new System.Runtime.Serialization.SerializationException($"RunnerWireSerializer does not know manifest '{manifest}'.");
        if (type == typeof(TenantEnvelope))
        {
            var wrapped = JsonSerializer.Deserialize<WrappedEnvelope>(bytes, Options) ?? throw Empty(manifest);
            return new TenantEnvelope(wrapped.Tenant, system.Serialization.Deserialize(wrapped.Payload, wrapped.SerializerId, wrapped.Manifest));
        }

        var value = JsonSerializer.Deserialize(bytes, type, Options) ?? throw Empty(manifest);
        // The empty requests are singletons in-process; keep them so.
        return value switch
        {
            ListReplays => ListReplays.Instance,
            ListTimers => ListTimers.Instance,
            _ => value,
        };
    }

    private static System.Runtime.Serialization.SerializationException Empty(string manifest) => new($"Empty payload for manifest '{manifest}'.");

    /// <summary>History entries carry their kind as a versioned discriminator (<c>$kind</c>).</summary>
    private static void HistoryKinds(JsonTypeInfo info)
    {
        if (info.Type != typeof(SagaHistoryEntry)) return;
        info.PolymorphismOptions = new JsonPolymorphismOptions
        {
            TypeDiscriminatorPropertyName = "$kind",
            UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization,
            DerivedTypes =
            {
                new JsonDerivedType(typeof(HistoryApplied), "applied.v1"),
                new JsonDerivedType(typeof(HistoryDelivered), "delivered.v1"),
                new JsonDerivedType(typeof(HistoryOutboxOverdue), "outbox-overdue.v1"),
                new JsonDerivedType(typeof(HistoryReset), "reset.v1"),
                new JsonDerivedType(typeof(HistoryDedupeForgotten), "dedupe-forgotten.v1"),
                new JsonDerivedType(typeof(HistoryOther), "other.v1"),
            },
        };
    }

    /// <summary>A <see cref="TenantEnvelope"/> on the wire: its message as its own serializer wrote it.</summary>
    private sealed record WrappedEnvelope(string Tenant, int SerializerId, string Manifest, byte[] Payload);
}
