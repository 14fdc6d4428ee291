using System.Globalization;
using Runner.TestKit;

namespace Runner.Host.Tests;

/// <summary>
/// Several node processes of one scenario on 127.0.0.1, each configured by environment only: its own shard id, port
/// and LMDB directory, all seeded by the first port. Ports are handed out in ascending order, so the first node
/// has the lowest address (keep-majority's tie-breaker in a two-node cluster).
/// </summary>
public sealed class ClusterNodes : IAsyncDisposable
{
    private readonly Scenario _s;
    private readonly NatsServerFixture _nats;
    private readonly string _hocon;
    private readonly Queue<int> _ports;
    private readonly int _seedPort;
    private readonly Dictionary<string, Dictionary<string, string>> _env = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProcess> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _finished = new(StringComparer.Ordinal);

    public ClusterNodes(Scenario s, NatsServerFixture nats, string extraHocon = "")
    {
        _s = s;
        _nats = nats;
        _hocon = $$"""
            akka.cluster.split-brain-resolver.stable-after = 3s
            akka.cluster.sharding.rebalance-interval = 500ms
            {{extraHocon}}
            """;
        _ports = new Queue<int>(Enumerable.Range(0, 4).Select(_ => NatsServerFixture.FreePort()).Distinct().Order());
        _seedPort = _ports.Peek();
    }

    /// <summary>Name of the placement bucket of this scenario.</summary>
    public string PlacementBucket => _s.Name + "-placement";

    /// <summary>
    /// Starts node <paramref name="shardId"/> (first start: a new port and data directory; later: the same). <paramref name="overrides"/>
    /// change the node's environment on its first start (a null value removes the variable, e.g. RUNNER_SEED_NODES).
    /// </summary>
    public async Task<NodeProcess> StartAsync(string shardId, string? allowlist = null, bool placementBucket = false,
        IReadOnlyDictionary<string, string?>? overrides = null)
    {
        if (!_env.TryGetValue(shardId, out var env))
        {
            env = NodeEnvironment.For(_s, _nats, _hocon);
            env["RUNNER_SHARD_ID"] = shardId;
            env["RUNNER_PORT"] = _ports.Dequeue().ToString(CultureInfo.InvariantCulture);
            env["RUNNER_SEED_NODES"] = "127.0.0.1:" + _seedPort.ToString(CultureInfo.InvariantCulture);
            env["RUNNER_DATA_DIR"] = Path.Combine(_s.Data.Path, "lmdb-" + shardId);
            if (allowlist is not null) env["RUNNER_TENANT_ALLOWLIST"] = allowlist;
            if (placementBucket) env["RUNNER_TENANT_PLACEMENT_BUCKET"] = PlacementBucket;
            foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
            {
                if (value is null) env.Remove(key);
                else env[key] = value;
            }

            _env[shardId] = env;
        }

        var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(90)).ConfigureAwait(false);
        _running[shardId] = node;
        return node;
    }

    /// <summary>
    /// Waits until <paramref name="shardId"/> sees <paramref name="count"/> members up. A node logs that it started once its
    /// tenants' region runs, which can be before it has joined the others.
    /// </summary>
    public async Task UpAsync(string shardId, int count)
    {
        using var admin = new AdminClient(AdminPort(shardId));
        await admin.UntilAsync("/admin/cluster",
            c => c.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "Up") == count,
            TimeSpan.FromSeconds(60)).ConfigureAwait(false);
    }

    /// <summary>Port of a node's admin endpoint.</summary>
    public int AdminPort(string shardId) => int.Parse(_env[shardId]["RUNNER_ADMIN_PORT"], CultureInfo.InvariantCulture);

    /// <summary>SIGKILL.</summary>
    public async Task KillAsync(string shardId)
    {
        var node = _running[shardId];
        await node.KillAsync().ConfigureAwait(false);
        _finished[shardId] = _finished.GetValueOrDefault(shardId, "") + node.Output + "\n=== killed ===\n";
        _running.Remove(shardId);
        await node.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Every node's output so far, for failure messages.</summary>
    public string Output() => string.Join("\n", _env.Keys.Select(id =>
        $"===== node {id} =====\n{_finished.GetValueOrDefault(id, "")}{(_running.TryGetValue(id, out var n) ? n.Output : "")}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _running.Values) await node.DisposeAsync().ConfigureAwait(false);
        _running.Clear();
    }
}
