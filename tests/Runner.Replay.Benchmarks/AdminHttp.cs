using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Runner.TestKit;

namespace Runner.Replay.Benchmarks;

/// <summary>A replay as followed from its POST: the status it ended with and when each stage was first seen.</summary>
/// <param name="Id">The replay id.</param>
/// <param name="Final">The last status read (done, or the last one before the deadline).</param>
/// <param name="Done">Whether it reported <c>"done": true</c>.</param>
/// <param name="Seconds">POST to the first status read that said done.</param>
/// <param name="AcceptSeconds">POST to its 202.</param>
/// <param name="ConsumingSeconds">POST to the first status at or past stage <c>rewound</c> (the saga consumes again), when seen.</param>
/// <param name="RewoundSeen">Whether stage <c>rewound</c> itself was seen (else <see cref="ConsumingSeconds"/> is an upper bound).</param>
internal sealed record ReplayRun(string Id, JsonElement Final, bool Done, double Seconds, double AcceptSeconds, double? ConsumingSeconds, bool RewoundSeen)
{
    public long Count(string name) => Final.TryGetProperty("counts", out var c) && c.TryGetProperty(name, out var v) ? v.GetInt64() : -1;

    public int Instances => Final.TryGetProperty("instances", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : 0;

    public string Stage => Final.TryGetProperty("stage", out var s) ? s.GetString() ?? "" : "";

    /// <summary>The node's own account of the replay: <c>finishedAt − startedAt</c>.</summary>
    public double? NodeSeconds =>
        Final.TryGetProperty("startedAt", out var s) && Final.TryGetProperty("finishedAt", out var f) &&
        s.ValueKind == JsonValueKind.String && f.ValueKind == JsonValueKind.String
            ? (f.GetDateTimeOffset() - s.GetDateTimeOffset()).TotalSeconds
            : null;
}

/// <summary>HTTP to the node's admin endpoint on 127.0.0.1: JSON in, status and JSON out.</summary>
internal sealed class AdminHttp(int port) : IDisposable
{
    /// <summary>How often a replay's status is read (also the resolution of its timings).</summary>
    public static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(50);

    private readonly AdminEndpoint _http = new(port, timeout: TimeSpan.FromSeconds(60));

    public Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path) => _http.GetAsync(path);

    public Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json) => _http.PostAsync(path, json);

    /// <summary>Polls <paramref name="path"/> until its 200 body satisfies <paramref name="ok"/>; false at the deadline.</summary>
    public async Task<bool> UntilAsync(string path, Func<JsonElement, bool> ok, DateTime deadline)
    {
        while (DateTime.UtcNow <= deadline)
        {
            try
            {
                var (status, body) = await GetAsync(path);
                if (status == HttpStatusCode.OK && ok(body)) return true;
            }
            catch (HttpRequestException)
            {
                // the endpoint is not listening yet
            }

            await Task.Delay(100); // polling the endpoint for the condition
        }

        return false;
    }

    /// <summary>
    /// Starts a replay of the tenant's saga and follows it until done (or <paramref name="deadline"/>), reading its status every
    /// <see cref="PollEvery"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The POST was not answered 202.</exception>
    public async Task<ReplayRun> RunReplayAsync(string tenant, string saga, string mode, bool dryRun, DateTime deadline)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["tenant_id"] = tenant,
            ["saga_name"] = saga,
            ["mode"] = mode,
            ["dry_run"] = dryRun,
        });
        var clock = Stopwatch.StartNew();
        var (code, accepted) = await PostAsync("/admin/replay", body);
        if (code != HttpStatusCode.Accepted) throw new InvalidOperationException($"POST /admin/replay {body}: {(int)code} {accepted}");
        var acceptSeconds = clock.Elapsed.TotalSeconds;
        var id = accepted.GetProperty("id").GetString()!;
        double? consuming = null;
        var rewoundSeen = false;
        var last = accepted;
        while (true)
        {
            var (status, json) = await GetAsync("/admin/replay/" + Uri.EscapeDataString(id));
            var at = clock.Elapsed.TotalSeconds;
            if (status == HttpStatusCode.OK)
            {
                last = json;
                var stage = json.GetProperty("stage").GetString();
                if (!dryRun && consuming is null && stage is ("rewound" or "finishing" or "finished"))
                {
                    consuming = at;
                    rewoundSeen = stage == "rewound";
                }

                if (json.GetProperty("done").GetBoolean()) return new ReplayRun(id, json, true, at, acceptSeconds, consuming, rewoundSeen);
            }

            if (DateTime.UtcNow > deadline) return new ReplayRun(id, last, false, at, acceptSeconds, consuming, rewoundSeen);
            await Task.Delay(PollEvery); // polling the replay's status is the measurement
        }
    }

    public void Dispose() => _http.Dispose();
}
