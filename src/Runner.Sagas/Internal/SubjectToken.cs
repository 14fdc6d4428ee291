namespace Runner.Sagas.Internal;

/// <summary>
/// Event types and command types become the last token of a NATS subject (<c>runner.evt.&lt;tenant&gt;.&lt;type&gt;</c>,
/// <c>runner.cmd.&lt;tenant&gt;.&lt;type&gt;</c>); timer names become part of stored keys. A token must not be able to
/// split a subject or act as a wildcard.
/// </summary>
internal static class SubjectToken
{
    public const string Rule = "1 to 128 characters, letters, digits, '_' and '-' only";

    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 128) return false;
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-') return false;
        }

        return true;
    }

    public static string Validate(string? value, string what, string paramName)
    {
        if (IsValid(value)) return value!;
        var shown = value is null ? "null" : $"\"{value}\"";
        throw new ArgumentException($"{what} {shown} is invalid: it must be {Rule}.", paramName);
    }
}
