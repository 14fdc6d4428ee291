using System.Text.Json;
using Runner.Actors.Protocol;
using Runner.Sagas;

namespace Runner.Host;

/// <summary>
/// The body of <c>POST /admin/replay</c>: <c>{"tenant_id": "acme", "saga_name": "order", "mode": "checkpoint_only",
/// "from_seq": 1, "dry_run": false}</c> (<c>from_seq</c> and <c>dry_run</c> optional). Anything else is refused with a
/// message that says what is wrong.
/// </summary>
internal sealed record ReplayRequest(string Tenant, string Saga, string Mode, ulong? FromSeq, bool DryRun)
{
    private static readonly string[] Fields = ["tenant_id", "saga_name", "mode", "from_seq", "dry_run"];

    /// <exception cref="ArgumentException">The body is not such an object.</exception>
    public static async Task<ReplayRequest> ReadAsync(Stream body, CancellationToken ct)
    {
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(body, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"the body must be a JSON object like {Example}: {e.Message}", nameof(body), e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ArgumentException($"the body must be a JSON object like {Example}", nameof(body));
            foreach (var property in root.EnumerateObject())
            {
                if (!Fields.Contains(property.Name, StringComparer.Ordinal))
                    throw new ArgumentException($"unknown field '{property.Name}' (fields: {string.Join(", ", Fields)})", nameof(body));
            }

            var tenant = RequiredString(root, "tenant_id");
            if (!TenantId.IsValid(tenant)) throw new ArgumentException($"tenant_id '{tenant}' is invalid: it must match {TenantId.Pattern}", nameof(body));
            var saga = RequiredString(root, "saga_name");
            var mode = RequiredString(root, "mode");
            if (!ReplayModes.IsValid(mode)) throw new ArgumentException($"mode must be one of {string.Join(", ", ReplayModes.All)}, not '{mode}'", nameof(body));

            ulong? from = null;
            if (root.TryGetProperty("from_seq", out var f) && f.ValueKind != JsonValueKind.Null)
            {
                if (f.ValueKind != JsonValueKind.Number || !f.TryGetUInt64(out var v) || v < 1)
                    throw new ArgumentException($"from_seq must be a stream sequence (an integer of at least 1), not {f.GetRawText()}", nameof(body));
                from = v;
            }

            var dryRun = false;
            if (root.TryGetProperty("dry_run", out var d) && d.ValueKind != JsonValueKind.Null)
            {
                if (d.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw new ArgumentException($"dry_run must be true or false, not {d.GetRawText()}", nameof(body));
                dryRun = d.GetBoolean();
            }

            return new ReplayRequest(tenant, saga, mode, from, dryRun);
        }
    }

    private const string Example = """{"tenant_id": "acme", "saga_name": "order", "mode": "checkpoint_only", "from_seq": 1, "dry_run": true}""";

    private static string RequiredString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            throw new ArgumentException($"{name} is required", nameof(root));
        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            throw new ArgumentException($"{name} must be a non-empty string, not {value.GetRawText()}", nameof(root));
        return value.GetString()!;
    }
}
