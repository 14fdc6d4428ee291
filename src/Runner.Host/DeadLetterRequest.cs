using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Runner.Nats;
using Runner.Sagas;

namespace Runner.Host;

/// <summary>
/// Which parked events a dead-letter request covers, how many, and whether it is a dry run: the query of
/// <c>GET /admin/dlq/events</c> (<c>tenant</c>, <c>saga</c>, <c>kind</c>, <c>from_seq</c>, <c>to_seq</c>, <c>seq</c>, <c>limit</c>) or the
/// body of <c>POST /admin/dlq/redrive</c> and <c>/admin/dlq/purge</c> (the same fields and <c>dry_run</c>). Anything else is
/// refused with a message that says what is wrong.
/// </summary>
internal sealed partial record DeadLetterRequest(DeadLetterFilter Filter, int Limit, bool DryRun)
{
    /// <summary>Dead-letter tenant token of events whose subject has an invalid tenant id (the intake parks them).</summary>
    public const string InvalidTenantToken = "_invalid";

    /// <summary>Dead-letter saga token of events no saga handles.</summary>
    public const string UnroutedToken = "_unrouted";

    private static readonly string[] QueryFields = ["tenant", "saga", "kind", "from_seq", "to_seq", "seq", "limit"];
    private static readonly string[] BodyFields = [.. QueryFields, "dry_run"];

    /// <summary>From a query string (a listing: no dry run).</summary>
    /// <exception cref="ArgumentException">A field is unknown or invalid.</exception>
    public static DeadLetterRequest FromQuery(IQueryCollection query, int defaultLimit, int maxLimit)
    {
        ArgumentNullException.ThrowIfNull(query);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in query)
        {
            if (!QueryFields.Contains(name, StringComparer.Ordinal))
                throw new ArgumentException($"unknown parameter '{name}' (parameters: {string.Join(", ", QueryFields)})");
            if (!string.IsNullOrWhiteSpace(value.ToString())) fields[name] = value.ToString().Trim();
        }

        return Make(fields, defaultLimit, maxLimit, dryRun: false);
    }

    /// <summary>From a JSON body (an empty body: every parked event).</summary>
    /// <exception cref="ArgumentException">The body is not such an object.</exception>
    public static async Task<DeadLetterRequest> ReadAsync(Stream body, int defaultLimit, int maxLimit, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, ct).ConfigureAwait(false);
        if (buffer.Length == 0) return Make(new Dictionary<string, string>(StringComparer.Ordinal), defaultLimit, maxLimit, dryRun: false);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"the body must be a JSON object like {Example}: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ArgumentException($"the body must be a JSON object like {Example}");
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            var dryRun = false;
            foreach (var property in root.EnumerateObject())
            {
                if (!BodyFields.Contains(property.Name, StringComparer.Ordinal))
                    throw new ArgumentException($"unknown field '{property.Name}' (fields: {string.Join(", ", BodyFields)})");
                var value = property.Value;
                if (value.ValueKind == JsonValueKind.Null) continue;
                if (property.Name == "dry_run")
                {
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        throw new ArgumentException($"dry_run must be true or false, not {value.GetRawText()}");
                    dryRun = value.GetBoolean();
                }
                else
                {
                    fields[property.Name] = value.ValueKind switch
                    {
                        JsonValueKind.String => value.GetString()!.Trim(),
                        JsonValueKind.Number => value.GetRawText(),
                        _ => throw new ArgumentException($"{property.Name} must be a string or a number, not {value.GetRawText()}"),
                    };
                }
            }

            return Make(fields, defaultLimit, maxLimit, dryRun);
        }
    }

    private const string Example = """{"tenant": "acme", "saga": "order", "kind": "UnexpectedEvent", "from_seq": 1, "to_seq": 100, "limit": 100, "dry_run": true}""";

    private static DeadLetterRequest Make(Dictionary<string, string> fields, int defaultLimit, int maxLimit, bool dryRun)
    {
        var tenant = fields.GetValueOrDefault("tenant");
        if (tenant is not null && tenant != InvalidTenantToken && !TenantId.IsValid(tenant))
            throw new ArgumentException($"tenant '{tenant}' is invalid: it must match {TenantId.Pattern} (or be {InvalidTenantToken})");
        var saga = fields.GetValueOrDefault("saga");
        if (saga is not null && saga != UnroutedToken && !SagaName.IsValid(saga))
            throw new ArgumentException($"saga '{saga}' is invalid: it must match {SagaName.Pattern} (or be {UnroutedToken})");
        var kind = fields.GetValueOrDefault("kind");
        if (kind is not null && !KindRegex().IsMatch(kind))
            throw new ArgumentException($"kind '{kind}' is invalid: a kind is a word such as MalformedPayload or UnexpectedEvent");

        var seq = Sequence(fields, "seq");
        var from = Sequence(fields, "from_seq");
        var to = Sequence(fields, "to_seq");
        if (seq is not null && (from is not null || to is not null)) throw new ArgumentException("seq names one sequence: give it or from_seq/to_seq, not both");
        if (seq is not null) from = to = seq;
        if (to < (from ?? 1)) throw new ArgumentException($"to_seq {to} is before from_seq {from ?? 1}: the range is empty");

        var limit = defaultLimit;
        if (fields.TryGetValue("limit", out var l) && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit))
            throw new ArgumentException($"limit must be between 1 and {maxLimit}, not {l}");

        return new DeadLetterRequest(new DeadLetterFilter { Tenant = tenant, Saga = saga, Kind = kind, FromSeq = from ?? 1, ToSeq = to }, limit, dryRun);
    }

    /// <summary>A dead-letter stream sequence (1 or more), or null when absent.</summary>
    public static ulong? Sequence(IReadOnlyDictionary<string, string> fields, string name)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (!fields.TryGetValue(name, out var text)) return null;
        return ParseSequence(text) ?? throw new ArgumentException($"{name} must be a dead-letter stream sequence (an integer of at least 1), not '{text}'");
    }

    /// <summary>A sequence of 1 or more, or null.</summary>
    public static ulong? ParseSequence(string text) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 1 ? v : null;

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,62}$")]
    private static partial Regex KindRegex();
}
