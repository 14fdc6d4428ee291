using System.Globalization;
using System.Text.Json;
using Runner.TestKit;

namespace Runner.Chaos;

/// <summary>
/// Measures stalls from outside: every 200 ms it reads the node's applied position per tenant (GET /admin/consumers,
/// answered from the node's own bookkeeping) and compares it with the load's acknowledged events. A tenant stalls while
/// it has events published (PubAck received) beyond its applied position and that position does not move; the stall
/// lasts from the first sample that saw it until the sample in which the position moved.
/// </summary>
internal sealed class StallMeter(OrderLoad load, IReadOnlyList<string> tenants)
{
    private readonly Dictionary<string, (ulong Applied, DateTimeOffset Since, bool Waiting)> _state = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _longest = tenants.ToDictionary(t => t, _ => 0.0, StringComparer.Ordinal);

    public int Samples { get; private set; }

    public double MaxStallSeconds => _longest.Values.DefaultIfEmpty(0).Max();

    public string Describe() => string.Join(" ", _longest.Select(kv => $"{kv.Key}={kv.Value.ToString("0.00", CultureInfo.InvariantCulture)}s"));

    public async Task RunAsync(AdminEndpoint admin, CancellationToken ct)
    {
        using (admin)
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    var (_, body) = await admin.GetAsync("/admin/consumers");
                    Sample(body, DateTimeOffset.UtcNow);
                    await Task.Delay(200, ct); // the sampling period
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    private void Sample(JsonElement body, DateTimeOffset now)
    {
        if (!body.TryGetProperty("consumers", out var consumers)) return;
        Samples++;
        var published = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var order in load.Orders)
        {
            for (var e = 0; e < 3; e++)
            {
                var seq = Volatile.Read(ref order.Seqs[e]);
                if (seq > published.GetValueOrDefault(order.Tenant)) published[order.Tenant] = seq;
            }
        }

        foreach (var c in consumers.EnumerateArray())
        {
            var tenant = c.GetProperty("tenant").GetString()!;
            if (!_longest.ContainsKey(tenant) || c.GetProperty("saga").GetString() != "order") continue;
            var applied = c.GetProperty("appliedSeq").GetUInt64();
            var waiting = published.GetValueOrDefault(tenant) > applied;
            if (!_state.TryGetValue(tenant, out var before) || applied != before.Applied || !before.Waiting)
            {
                // Moved (or nothing waited before): a stall, if any, starts now.
                _state[tenant] = (applied, now, waiting);
                continue;
            }

            if (!waiting)
            {
                _state[tenant] = (applied, now, false);
                continue;
            }

            var stalled = (now - before.Since).TotalSeconds;
            if (stalled > _longest[tenant]) _longest[tenant] = stalled;
        }
    }
}
