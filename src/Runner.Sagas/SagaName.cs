using Runner.Sagas.Internal;

namespace Runner.Sagas;

/// <summary>The saga name rule: the same as <see cref="TenantId"/>, <see cref="Pattern"/>.</summary>
public static class SagaName
{
    /// <summary>The rule: 1 to 63 characters, lowercase letters, digits, <c>_</c> and <c>-</c>, not starting with <c>_</c> or <c>-</c>.</summary>
    public const string Pattern = NameRule.Pattern;

    /// <summary>Whether <paramref name="value"/> is a valid saga name.</summary>
    public static bool IsValid(string? value) => NameRule.IsValid(value);

    /// <summary>Returns <paramref name="value"/> when it is a valid saga name.</summary>
    /// <exception cref="ArgumentException">It is not; the message quotes the value, says what is wrong and states the rule.</exception>
    public static string Validate(string? value) => NameRule.Validate(value, "Saga name", nameof(value));
}
