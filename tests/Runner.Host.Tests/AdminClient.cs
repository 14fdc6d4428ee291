using System.Net;
using System.Text.Json;
using Runner.TestKit;

namespace Runner.Host.Tests;

/// <summary>HTTP to a node's admin endpoint, for specs: JSON in, status and JSON out.</summary>
public sealed class AdminClient(int port, string? token = null) : IDisposable
{
    private readonly AdminEndpoint _http = new(port, token);

    public Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path) => _http.GetAsync(path);

    public Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json) => _http.PostAsync(path, json);

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

    public void Dispose() => _http.Dispose();
}
