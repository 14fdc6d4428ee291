using System.Text.Json;
using System.Text.Json.Serialization;

namespace Runner.Actors.Serialization;

/// <summary>
/// Stores a <see cref="ReplayStage"/> by a fixed lower-case name (<c>started</c>, <c>rewound</c>, ...), the form replay records
/// had when the stage was a string: renaming a member never changes what is stored, and old records read back.
/// </summary>
internal sealed class ReplayStageConverter : JsonConverter<ReplayStage>
{
    private static readonly (ReplayStage Stage, string Name)[] Names =
    [
        (ReplayStage.Starting, "starting"),
        (ReplayStage.Started, "started"),
        (ReplayStage.Rewound, "rewound"),
        (ReplayStage.Running, "running"),
        (ReplayStage.Finishing, "finishing"),
        (ReplayStage.Finished, "finished"),
        (ReplayStage.Failed, "failed"),
    ];

    /// <inheritdoc />
    public override ReplayStage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        foreach (var (stage, known) in Names)
        {
            if (string.Equals(name, known, StringComparison.Ordinal)) return stage;
        }

        throw new JsonException($"'{name}' is not a replay stage ({string.Join(", ", Names.Select(n => n.Name))})");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, ReplayStage value, JsonSerializerOptions options)
    {
        foreach (var (stage, name) in Names)
        {
            if (stage != value) continue;
            writer.WriteStringValue(name);
            return;
        }

        throw new JsonException($"replay stage {(int)value} has no stored name");
    }
}
