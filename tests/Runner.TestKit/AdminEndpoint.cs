using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Runner.TestKit;

/// <summary>HTTP to a node's admin endpoint on 127.0.0.1 (specs and benchmarks): JSON in, status and JSON out.</summary>
public sealed class AdminEndpoint : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>An endpoint on 127.0.0.1:<paramref name="port"/>, with the bearer <paramref name="token"/> when given.</summary>
    public AdminEndpoint(int port, string? token = null, TimeSpan? timeout = null)
    {
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = timeout ?? TimeSpan.FromMinutes(3) };
        if (token is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>GET: the status and the body as JSON (a body that is not JSON comes back as a JSON string).</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative)).ConfigureAwait(false);
        return (response.StatusCode, await ReadAsync(response).ConfigureAwait(false));
    }

    /// <summary>POST of a JSON body: the status and the answer as JSON.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), content).ConfigureAwait(false);
        return (response.StatusCode, await ReadAsync(response).ConfigureAwait(false));
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

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
