using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace Runner.Actors.Serialization;

/// <summary>
/// Dedicated serializer of the runner's stored events and snapshots: JSON with explicit, versioned manifests,
/// so that a stored event never depends on a CLR type name or on "whatever JSON does today".
/// </summary>
public sealed class RunnerSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new ReplayStageConverter() },
    };

    private static readonly (string Manifest, Type Type)[] Map =
    [
        ("saga-applied.v1", typeof(SagaApplied)),
        ("outbox-delivered.v1", typeof(OutboxDelivered)),
        ("saga-snapshot.v1", typeof(SagaSnapshot)),
        ("timers-indexed.v1", typeof(TimersIndexed)),
        ("schedule-snapshot.v1", typeof(ScheduleSnapshot)),
        ("checkpoint-advanced.v1", typeof(CheckpointAdvanced)),
        ("checkpoint-snapshot.v1", typeof(CheckpointSnapshot)),
        ("saga-reset.v1", typeof(SagaReset)),
        ("dedupe-forgotten.v1", typeof(DedupeForgotten)),
        ("replay-started.v1", typeof(ReplayStarted)),
        ("replay-rewound.v1", typeof(ReplayRewound)),
        ("replay-finished.v1", typeof(ReplayFinished)),
        ("outbox-overdue.v1", typeof(OutboxOverdue)),
    ];

    private static readonly Dictionary<Type, string> Manifests = Map.ToDictionary(m => m.Type, m => m.Manifest);
    private static readonly Dictionary<string, Type> Types = Map.ToDictionary(m => m.Manifest, m => m.Type, StringComparer.Ordinal);

    /// <inheritdoc />
    public override int Identifier => 7301;

    /// <inheritdoc />
    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var m) ? m : throw new ArgumentException($"RunnerSerializer cannot serialize {o.GetType()}");

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
            throw new System.Runtime.Serialization.SerializationException($"RunnerSerializer does not know manifest '{manifest}'.");
        return JsonSerializer.Deserialize(bytes, type, Options)
               ?? throw new System.Runtime.Serialization.SerializationException($"Empty payload for manifest '{manifest}'.");
    }
}
