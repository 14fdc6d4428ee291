using Runner.Sagas.Internal;

namespace Runner.Sagas;

/// <summary>
/// The tenant id rule, <see cref="Pattern"/>. A tenant id is a NATS subject token, an Akka sharding entity id and
/// part of every persistence id, so anything else is rejected at every edge.
/// </summary>
public static class TenantId
{
    /// <summary>The rule: 1 to 63 characters, lowercase letters, digits, <c>_</c> and <c>-</c>, not starting with <c>_</c> or <c>-</c>.</summary>
    public const string Pattern = NameRule.Pattern;

    /// <summary>Whether <paramref name="value"/> is a valid tenant id.</summary>
    public static bool IsValid(string? value) => NameRule.IsValid(value);

    /// <summary>Returns <paramref name="value"/> when it is a valid tenant id.</summary>
    /// <exception cref="ArgumentException">It is not; the message quotes the value, says what is wrong and states the rule.</exception>
    public static string Validate(string? value) => NameRule.Validate(value, "Tenant id", nameof(value));
}
