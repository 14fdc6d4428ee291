using System.Text.RegularExpressions;

namespace Runner.Nats;

/// <summary>The subject scheme: <c>&lt;prefix&gt;.evt.&lt;tenant&gt;.&lt;EventType&gt;</c> and its siblings.</summary>
public sealed partial class Subjects
{
    /// <summary>Creates the scheme for <paramref name="prefix"/> (one or more NATS tokens).</summary>
    public Subjects(string prefix)
    {
        if (string.IsNullOrWhiteSpace(prefix) || prefix.Split('.').Any(t => !TokenRegex().IsMatch(t)))
            throw new ArgumentException($"Subject prefix '{prefix}' must be dot-separated tokens of letters, digits, '_' or '-'.", nameof(prefix));
        Prefix = prefix;
    }

    /// <summary>The first token(s).</summary>
    public string Prefix { get; }

    /// <summary>All events.</summary>
    public string AllEvents => $"{Prefix}.evt.>";

    /// <summary>All commands.</summary>
    public string AllCommands => $"{Prefix}.cmd.>";

    /// <summary>All dead letters.</summary>
    public string AllDeadLetters => $"{Prefix}.dlq.>";

    /// <summary>Events of one tenant.</summary>
    public string TenantEvents(string tenant) => $"{Prefix}.evt.{tenant}.>";

    /// <summary>Subject of an event.</summary>
    public string Event(string tenant, string eventType) => $"{Prefix}.evt.{tenant}.{eventType}";

    /// <summary>Subject of a command.</summary>
    public string Command(string tenant, string commandType) => $"{Prefix}.cmd.{tenant}.{commandType}";

    /// <summary>Dead-letter subject of a (tenant, saga).</summary>
    public string DeadLetter(string tenant, string saga) => $"{Prefix}.dlq.{tenant}.{saga}";

    /// <summary>Splits an event subject into its tenant and event type tokens (not validated), or false.</summary>
    public bool TryParseEvent(string subject, out string tenant, out string eventType)
    {
        tenant = eventType = string.Empty;
        var head = Prefix + ".evt.";
        if (!subject.StartsWith(head, StringComparison.Ordinal)) return false;
        var rest = subject.AsSpan(head.Length);
        var dot = rest.IndexOf('.');
        if (dot <= 0 || dot == rest.Length - 1) return false;
        tenant = rest[..dot].ToString();
        eventType = rest[(dot + 1)..].ToString();
        return true;
    }

    /// <summary>Splits a dead-letter subject into its tenant and saga tokens (not validated), or false.</summary>
    public bool TryParseDeadLetter(string subject, out string tenant, out string saga)
    {
        tenant = saga = string.Empty;
        var head = Prefix + ".dlq.";
        if (!subject.StartsWith(head, StringComparison.Ordinal)) return false;
        var rest = subject.AsSpan(head.Length);
        var dot = rest.IndexOf('.');
        if (dot <= 0 || dot == rest.Length - 1 || rest[(dot + 1)..].Contains('.')) return false;
        tenant = rest[..dot].ToString();
        saga = rest[(dot + 1)..].ToString();
        return true;
    }

    /// <summary>Whether <paramref name="token"/> is one subject token without wildcards.</summary>
    public static bool IsToken(string? token) => token is { Length: > 0 } && TokenRegex().IsMatch(token);

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex TokenRegex();
}
