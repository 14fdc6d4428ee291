using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Runner.Sagas.Internal;

/// <summary>The JSON options of the saga layer: System.Text.Json web defaults (camelCase, case-insensitive reads).</summary>
internal static class SagaJson
{
    /// <summary>
    /// For incoming events, which come from outside: web defaults, plus every constructor parameter without a
    /// default value is required and non-nullable reference members reject null, so that a missing
    /// <c>amount</c> is a rejected event rather than an order of 0.
    /// </summary>
    public static JsonSerializerOptions Events { get; } = Create(strict: true);

    /// <summary>For state and commands, which the saga writes itself: plain web defaults.</summary>
    public static JsonSerializerOptions Default { get; } = Create(strict: false);

    private static JsonSerializerOptions Create(bool strict)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            RespectNullableAnnotations = strict,
            RespectRequiredConstructorParameters = strict,

            // Explicit, so that saga types still serialize in hosts built with reflection-based JSON off by default.
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.MakeReadOnly();
        return options;
    }
}
