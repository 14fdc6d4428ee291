using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Runner.Host.Tests;

/// <summary>HTTP to a node's admin endpoint, for specs: JSON in, status and JSON out.</summary>
public sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(int port, string? token = null)
    {
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(3) };
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative)).ConfigureAwait(false);
        return (response.StatusCode, await ReadAsync(response).ConfigureAwait(false));
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), content).ConfigureAwait(false);
        return (response.StatusCode, await ReadAsync(response).ConfigureAwait(false));
    }

    /// <summary>GET that must answer 200.</summary>
    public async Task<JsonElement> OkAsync(string path)
    {
        var (status, body) = await GetAsync(path).ConfigureAwait(false);
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"GET {path}: {(int)status} {body}");
        return body;
    }

    /// <summary>Starts a replay (202 expected) and returns its id.</summary>
    public async Task<string> StartReplayAsync(string tenant, string saga, string mode, ulong? fromSeq = null, bool dryRun = false)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["tenant_id"] = tenant,
            ["saga_name"] = saga,
            ["mode"] = mode,
            ["from_seq"] = fromSeq,
            ["dry_run"] = dryRun,
        });
        var (status, json) = await PostAsync("/admin/replay", body).ConfigureAwait(false);
        if (status != HttpStatusCode.Accepted) throw new InvalidOperationException($"POST /admin/replay: {(int)status} {json}");
        return json.GetProperty("id").GetString()!;
    }

    /// <summary>Follows a replay until it is done (or fails the spec after <paramref name="timeout"/>).</summary>
    public async Task<JsonElement> WaitReplayAsync(string id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            // The tenant may still be starting (a resumed replay): anything but 200 is asked again until the deadline.
            var (code, status) = await GetAsync("/admin/replay/" + id).ConfigureAwait(false);
            if (code == System.Net.HttpStatusCode.OK && status.GetProperty("done").GetBoolean()) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"replay {id} not done: {(int)code} {status}");
            await Task.Delay(100).ConfigureAwait(false); // polling the endpoint for the condition
        }
    }

    /// <summary>An instance as the endpoint shows it.</summary>
    public Task<JsonElement> SagaAsync(string tenant, string saga, string id) => OkAsync($"/admin/tenants/{tenant}/sagas/{saga}/{Uri.EscapeDataString(id)}");

    /// <summary>Polls <paramref name="path"/> until <paramref name="done"/> holds for its 200 body.</summary>
    public async Task<JsonElement> UntilAsync(string path, Func<JsonElement, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var (status, body) = await GetAsync(path).ConfigureAwait(false);
            if (status == HttpStatusCode.OK && done(body)) return body;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"GET {path} never satisfied the condition; last: {(int)status} {body}");
            await Task.Delay(100).ConfigureAwait(false); // polling the endpoint for the condition
        }
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text)) return default;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            using var doc = JsonDocument.Parse(JsonSerializer.Serialize(text));
            return doc.RootElement.Clone();
        }
    }

    public void Dispose() => _http.Dispose();
}
