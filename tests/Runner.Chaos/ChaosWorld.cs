using System.Globalization;
using System.Net;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.TestKit;

namespace Runner.Chaos;

/// <summary>
/// One scenario's world on 127.0.0.1: its own nats-server (random port, store in a temporary directory), node
/// processes configured by environment only (each with its own ports and LMDB directory, kept across restarts), and a
/// client connection for the load and the reader. Everything it starts it ends by pid; logs go to its directory.
/// </summary>
internal sealed class ChaosWorld : IAsyncDisposable
{
    private readonly ChaosOptions _options;
    private readonly string _hocon;
    private readonly Dictionary<string, Dictionary<string, string>> _env = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProcess> _running = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private int? _seedPort;

    private readonly NatsServerFixture? _nats;

    public ChaosWorld(string name, ChaosOptions options, string extraHocon = "")
        : this(name, options, extraHocon, null)
    {
    }

    /// <summary>A world on a three-server NATS cluster (streams at three replicas).</summary>
    public static async Task<ChaosWorld> ClusteredAsync(string name, ChaosOptions options, string extraHocon, CancellationToken cancellationToken)
    {
        var cluster = await NatsClusterFixture.StartAsync(3, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new ChaosWorld(name, options, "runner.nats.streams.replicas = 3\n" + extraHocon, cluster);
    }

    private ChaosWorld(string name, ChaosOptions options, string extraHocon, NatsClusterFixture? cluster)
    {
        _options = options;
        Name = name;
        Dir = Path.Combine(options.WorkDirectory ?? Path.GetTempPath(), $"runner-chaos-{name}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(Dir);
        _hocon = $$"""
            runner.samples.order.payment-timeout = 1h
            runner.nats.consumer { min-backoff = 100ms, max-backoff = 1s }
            akka.cluster.split-brain-resolver.stable-after = 3s
            {{extraHocon}}
            """;
        Cluster = cluster;
        if (cluster is null) _nats = new NatsServerFixture();
        NatsUrl = cluster?.Urls ?? _nats!.Url;
        Client = new NatsConnection(NatsOpts.Default with
        {
            Url = NatsUrl,
            Name = "chaos-" + name,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(50),
            ReconnectWaitMax = TimeSpan.FromMilliseconds(250),
        });
        Js = new NatsJSContext(Client);
    }

    public string Name { get; }

    public string Dir { get; }

    /// <summary>The single nats-server (not in a clustered world).</summary>
    public NatsServerFixture Nats => _nats ?? throw new InvalidOperationException("this world runs on a NATS cluster");

    /// <summary>The three-server cluster of a clustered world, else null.</summary>
    public NatsClusterFixture? Cluster { get; }

    /// <summary>What nodes get in RUNNER_NATS_URL.</summary>
    public string NatsUrl { get; }

    public NatsConnection Client { get; }

    public INatsJSContext Js { get; }

    public const string EventsStream = "RUNNER_EVENTS";
    public const string CommandsStream = "RUNNER_COMMANDS";
    public const string DeadLetterStream = "RUNNER_DLQ";

    /// <summary>Name of the placement bucket nodes started with <c>placementBucket</c> watch.</summary>
    public const string PlacementBucket = "runner-chaos-placement";

    /// <summary>Nodes running now, in the order they were first started.</summary>
    public IReadOnlyList<string> Running => [.. _order.Where(_running.ContainsKey)];

    public NodeProcess Node(string shardId) => _running[shardId];

    /// <summary>
    /// Starts node <paramref name="shardId"/> (a restart reuses its ports, data directory and environment);
    /// <paramref name="extraEnv"/> adds variables at its first start.
    /// </summary>
    public async Task<NodeProcess> StartNodeAsync(string shardId, bool cluster = false, bool placementBucket = false,
        IReadOnlyDictionary<string, string>? extraEnv = null)
    {
        if (!_env.TryGetValue(shardId, out var env))
        {
            var conf = Path.Combine(Dir, shardId + ".conf");
            await File.WriteAllTextAsync(conf, _hocon).ConfigureAwait(false);
            var port = NatsServerFixture.FreePort();
            env = new Dictionary<string, string>
            {
                ["RUNNER_NATS_URL"] = NatsUrl,
                ["RUNNER_DATA_DIR"] = Path.Combine(Dir, shardId, "lmdb"),
                ["RUNNER_PORT"] = port.ToString(CultureInfo.InvariantCulture),
                ["RUNNER_SHARD_ID"] = shardId,
                ["RUNNER_ADMIN_PORT"] = NatsServerFixture.FreePort().ToString(CultureInfo.InvariantCulture),
                ["RUNNER_CONFIG"] = conf,
                ["RUNNER_LOG_LEVEL"] = "INFO",
            };
            if (cluster)
            {
                _seedPort ??= port;
                env["RUNNER_SEED_NODES"] = "127.0.0.1:" + _seedPort.Value.ToString(CultureInfo.InvariantCulture);
            }

            if (placementBucket) env["RUNNER_TENANT_PLACEMENT_BUCKET"] = PlacementBucket;
            if (_options.Replication is { } replication) env["RUNNER_REPLICATION"] = replication ? "on" : "off";
            foreach (var (key, value) in extraEnv ?? new Dictionary<string, string>()) env[key] = value;
            _env[shardId] = env;
            _order.Add(shardId);
        }

        var node = await NodeProcess.StartAsync(env, TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        _running[shardId] = node;
        return node;
    }

    /// <summary>The node's admin endpoint; requests give up after <paramref name="timeout"/> (3 minutes unless given).</summary>
    public AdminEndpoint Admin(string shardId, TimeSpan? timeout = null) =>
        new(int.Parse(_env[shardId]["RUNNER_ADMIN_PORT"], CultureInfo.InvariantCulture), timeout: timeout ?? TimeSpan.FromMinutes(3));

    /// <summary>SIGKILL by pid; its output goes to its log file.</summary>
    public async Task KillNodeAsync(string shardId)
    {
        var node = _running[shardId];
        await node.KillAsync().ConfigureAwait(false);
        await EndedAsync(shardId, node, "killed with SIGKILL").ConfigureAwait(false);
    }

    /// <summary>Deletes the LMDB directory of a node that is not running: the node and its disk are lost for good.</summary>
    public void DeleteDataDirectory(string shardId)
    {
        if (_running.ContainsKey(shardId)) throw new InvalidOperationException($"node {shardId} is running: kill it before deleting its data");
        Directory.Delete(_env[shardId]["RUNNER_DATA_DIR"], recursive: true);
    }

    /// <summary>Drains the node through its admin endpoint and waits for its exit code.</summary>
    public async Task<(HttpStatusCode Status, int ExitCode)> DrainNodeAsync(string shardId)
    {
        var node = _running[shardId];
        HttpStatusCode status;
        using (var admin = Admin(shardId))
            (status, _) = await admin.PostAsync("/admin/drain?wait=true", "{}").ConfigureAwait(false);
        var exit = await node.ExitCodeAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        await EndedAsync(shardId, node, $"drained (HTTP {(int)status}), exit {exit}").ConfigureAwait(false);
        return (status, exit);
    }

    private async Task EndedAsync(string shardId, NodeProcess node, string how)
    {
        _running.Remove(shardId);
        await File.AppendAllTextAsync(LogOf(shardId), node.Output + $"\n===== {how} =====\n").ConfigureAwait(false);
        await node.DisposeAsync().ConfigureAwait(false);
    }

    private bool _failed;

    public string LogOf(string shardId) => Path.Combine(Dir, shardId + ".log");

    /// <summary>The scenario failed: its directory is kept and the nodes' warnings are printed, so a failure in CI can be read.</summary>
    public void KeepForInspection() => _failed = true;

    private void PrintWarnings()
    {
        foreach (var log in Directory.EnumerateFiles(Dir, "*.log").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadLines(log)
                .Where(l => l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)
                            || l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("=====", StringComparison.Ordinal))
                .TakeLast(40)
                .ToList();
            Console.WriteLine($"chaos: {Path.GetFileName(log)}: last {lines.Count} warning line(s)");
            foreach (var line in lines) Console.WriteLine("  " + (line.Length > 400 ? line[..400] + " ..." : line));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (shardId, node) in _running.ToList())
        {
            await node.KillAsync().ConfigureAwait(false);
            await EndedAsync(shardId, node, "stopped at the end of the scenario").ConfigureAwait(false);
        }

        await Client.DisposeAsync().ConfigureAwait(false);
        if (Cluster is not null)
        {
            for (var i = 0; i < Cluster.Servers.Count; i++)
                await File.WriteAllTextAsync(Path.Combine(Dir, NatsClusterFixture.Name(i) + ".nats.log"), Cluster.Servers[i].Output).ConfigureAwait(false);
        }

        if (_nats is not null) await _nats.DisposeAsync().ConfigureAwait(false);
        if (Cluster is not null) await Cluster.DisposeAsync().ConfigureAwait(false);
        if (_failed) PrintWarnings();
        if (_options.Keep || _failed) Console.WriteLine($"chaos: kept {Dir}");
        else
        {
            try
            {
                Directory.Delete(Dir, recursive: true);
            }
            catch (IOException)
            {
                // best effort
            }
        }
    }
}
