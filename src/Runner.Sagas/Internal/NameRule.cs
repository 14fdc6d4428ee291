namespace Runner.Sagas.Internal;

/// <summary>
/// The one naming rule shared by tenant ids and saga names, <c>^[a-z0-9][a-z0-9_-]{0,62}$</c>, checked by hand:
/// a regex <c>$</c> also matches before a trailing newline, and these names end up in NATS subjects and
/// persistence ids where a stray newline must never pass.
/// </summary>
internal static class NameRule
{
    public const string Pattern = "^[a-z0-9][a-z0-9_-]{0,62}$";
    public const int MaxLength = 63;
    private const string Explanation = "1 to 63 characters: lowercase letters a-z, digits, '_' and '-', starting with a letter or a digit";

    public static bool IsValid(string? value) => Problem(value) is null;

    public static string Validate(string? value, string what, string paramName)
    {
        var problem = Problem(value);
        if (problem is null) return value!;
        var shown = value is null ? "null" : $"\"{value}\"";
        throw new ArgumentException($"{what} {shown} is invalid ({problem}): it must match {Pattern} ({Explanation}).", paramName);
    }

    /// <summary>Why <paramref name="value"/> breaks the rule, or null when it does not.</summary>
    private static string? Problem(string? value)
    {
        if (value is null) return "it is null";
        if (value.Length == 0) return "it is empty";
        if (value.Length > MaxLength) return $"it has {value.Length} characters";
        if (!IsLowerOrDigit(value[0])) return $"it starts with {Describe(value[0])}";
        for (var i = 1; i < value.Length; i++)
        {
            var c = value[i];
            if (!IsLowerOrDigit(c) && c != '_' && c != '-') return $"{Describe(c)} at position {i}";
        }

        return null;
    }

    private static bool IsLowerOrDigit(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9');

    private static string Describe(char c) => char.IsControl(c) || char.IsWhiteSpace(c)
        ? $"character U+{(int)c:X4}"
        : $"'{c}'";
}
