using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Akka.Configuration;
using Akka.Event;
using Microsoft.Extensions.Hosting;
using NATS.Client.JetStream;
using Runner.Host;
using Runner.Nats;
using Runner.Persistence.Lmdb;
using Runner.Persistence.Lmdb.Internal;

namespace Runner.Benchmarks;

/// <summary>What turns events into commands in a scenario.</summary>
internal interface ISystemUnderTest : IAsyncDisposable
{
    string Name { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>LMDB write transactions committed so far (null without a journal).</summary>
    long? Commits { get; }
}

/// <summary>
/// A Runner node in this process, built exactly as the host builds it (<see cref="RunnerNode.Build(string[], Akka.Configuration.Config, IEnumerable{Runner.Sagas.ISagaDefinition})"/>), with its
/// defaults apart from what the benchmark must set: NATS URL, subject prefix and stream names, remoting port,
/// shard id, data directory, and quieter logs. LMDB durability stays <c>sync</c>.
/// </summary>
internal sealed class RunnerSystem(World world, string dataDir, string extraHocon) : ISystemUnderTest
{
    private IHost? _host;
    private LmdbStore? _store;

    /// <summary>
    /// The stream journal replication appends to (<c>runner.journal.&lt;tenant&gt;</c>): one per nats-server, not per scenario.
    /// </summary>
    public const string ReplicationStream = "RUNNER_JOURNAL";

    public string Name => "runner";

    public long? Commits => _store?.Commits;

    /// <summary>
    /// The HOCON that turns journal replication on or off (what <c>RUNNER_REPLICATION</c> stands for); a node built before
    /// the key existed ignores it.
    /// </summary>
    public static string ReplicationHocon(bool enabled) => "runner.replication.enabled = " + (enabled ? "on" : "off");

    public Config Config { get; } = ConfigurationFactory.ParseString(extraHocon).WithFallback(ConfigurationFactory.ParseString($$"""
        runner.nats.url = "{{world.Url}}"
        runner.admin.port = 0
        runner.nats.subject-prefix = "{{world.Prefix}}"
        runner.nats.streams { events = "{{world.EventsStream}}", commands = "{{world.CommandsStream}}", dead-letters = "{{world.DeadLetterStream}}" }
        runner.node { hostname = "127.0.0.1", port = {{FreePort()}}, shard-id = "{{world.Prefix}}" }
        # Each scenario's node owns its tenants' custody records: buckets of its own, as its streams are.
        runner.custody { homes-bucket = "{{world.Prefix}}-homes", state-bucket = "{{world.Prefix}}-state" }
        akka.persistence.journal.lmdb.data-dir = "{{dataDir}}"
        akka.persistence.snapshot-store.lmdb.data-dir = "{{dataDir}}"
        akka.loglevel = WARNING
        """)).WithFallback(RunnerConfiguration.Defaults());

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _host = RunnerNode.Build(["--Logging:LogLevel:Default=Warning"], Config);
        await _host.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens the node's own LMDB store (shared, reference-counted) to read its commit counter; after the first write.</summary>
    public void AttachStore()
    {
        const string path = "akka.persistence.journal.lmdb";
        _store ??= StoreRegistry.Acquire(LmdbStorageSettings.Create(Config.GetConfig(path), path), NoLogger.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is not null) StoreRegistry.Release(_store);
        _store = null;
        if (_host is null) return;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(cts.Token).ConfigureAwait(false);
        _host.Dispose();
        _host = null;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>
/// The same I/O without Akka or persistence: per tenant one durable pull consumer configured as the runner's
/// (<see cref="NatsEdge.StartAtFirstUnappliedAsync"/>), the same pull batch and parallelism; per event: parse the JSON,
/// publish one command with a deterministic Nats-Msg-Id through <see cref="NatsEdge.PublishCommandAsync"/> and wait
/// for its PubAck, then ack the event.
/// </summary>
internal sealed class RawSystem(World world, IReadOnlyList<string> tenants) : ISystemUnderTest
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private NatsEdge? _edge;
    private long _failures;

    public string Name => "raw";

    public long? Commits => null;

    public long Failures => Interlocked.Read(ref _failures);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = NatsSettings.Create(ConfigurationFactory.ParseString($$"""
            runner.nats.url = "{{world.Url}}"
            runner.nats.client-name = "raw"
            runner.nats.subject-prefix = "{{world.Prefix}}"
            runner.nats.streams { events = "{{world.EventsStream}}", commands = "{{world.CommandsStream}}", dead-letters = "{{world.DeadLetterStream}}" }
            """).WithFallback(RunnerConfiguration.Defaults()));
        _edge = new NatsEdge(settings);
        await _edge.StartAsync(cancellationToken).ConfigureAwait(false); // the same streams as the node creates
        foreach (var tenant in tenants)
        {
            var (consumer, _) = await _edge.StartAtFirstUnappliedAsync(tenant, "raw", null, "start", cancellationToken).ConfigureAwait(false);
            _loops.Add(Task.Run(() => Loop(_edge, tenant, consumer, _stop.Token), CancellationToken.None));
        }
    }

    private async Task Loop(NatsEdge edge, string tenant, INatsJSConsumer consumer, CancellationToken token)
    {
        using var slots = new SemaphoreSlim(edge.Settings.Parallelism);
        try
        {
            var opts = new NatsJSConsumeOpts { MaxMsgs = edge.Settings.PullBatch };
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: opts, cancellationToken: token).ConfigureAwait(false))
            {
                await slots.WaitAsync(token).ConfigureAwait(false);
                _ = Handle(edge, tenant, msg, slots, token);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private async Task Handle(NatsEdge edge, string tenant, INatsJSMsg<byte[]> msg, SemaphoreSlim slots, CancellationToken token)
    {
        try
        {
            var type = msg.Subject[(msg.Subject.LastIndexOf('.') + 1)..];
            var command = OrderFlow.CommandFor(type) ?? throw new InvalidOperationException($"unexpected event {type}");
            var evt = JsonSerializer.Deserialize<RawEvent>(msg.Data, Json) ?? throw new InvalidOperationException("empty event");
            var payload = JsonSerializer.SerializeToUtf8Bytes(new RawCommand(evt.OrderId, evt.Amount), Json);
            var seq = msg.Metadata?.Sequence.Stream ?? 0;
            await edge.PublishCommandAsync(tenant, "raw", evt.OrderId, command, payload, $"{tenant}:raw:{evt.OrderId}:{seq}:0", null, token)
                .ConfigureAwait(false);
            await msg.AckAsync(cancellationToken: token).ConfigureAwait(false);
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // stopping
        }
        catch (Exception)
        {
            Interlocked.Increment(ref _failures);
        }
        finally
        {
            try
            {
                slots.Release();
            }
            catch (ObjectDisposedException)
            {
                // the loop ended while this message was in flight
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // best effort
        }

        if (_edge is not null) await _edge.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed record RawEvent(string OrderId, decimal Amount);

    private sealed record RawCommand(string OrderId, decimal Amount);
}
