using System.Text;
using Akka.Configuration;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Runner.Nats;
using Runner.TestKit;

namespace Runner.Host.Tests;

/// <summary>A command read back from the command stream.</summary>
public sealed record ReadCommand(string Subject, string CommandType, string MsgId, string Json, ulong Sequence, string Node = "", string Kind = "", string Reason = "",
    string TraceParent = "");

/// <summary>
/// One scenario's world: a unique subject prefix and stream names on the shared nats-server, a data directory,
/// and an in-process Runner node (the real host: Akka.Hosting, cluster sharding, LMDB, NATS).
/// </summary>
public sealed class Scenario : IAsyncDisposable
{
    private readonly NatsServerFixture _nats;
    private readonly NatsConnection _client;

    public Scenario(NatsServerFixture nats, string extraHocon = "")
    {
        _nats = nats;
        Name = NatsServerFixture.UniqueName("s");
        Prefix = Name;
        Data = new TempDirectory("runner-node");
        ExtraHocon = extraHocon;
        _client = new NatsConnection(NatsOpts.Default with { Url = nats.Url, Name = "scenario-" + Name });
        Js = new NatsJSContext(_client);
    }

    public string Name { get; }

    /// <summary>Port of the in-process node's admin endpoint.</summary>
    public int AdminPort { get; } = NatsServerFixture.FreePort();

    public string Prefix { get; }

    public string EventsStream => Name.ToUpperInvariant() + "_EVENTS";

    public string CommandsStream => Name.ToUpperInvariant() + "_COMMANDS";

    public string DeadLetterStream => Name.ToUpperInvariant() + "_DLQ";

    public TempDirectory Data { get; }

    public string ExtraHocon { get; }

    public INatsJSContext Js { get; }

    public IHost? Node { get; private set; }

    /// <summary>The node's configuration (env is not consulted: scenarios run in parallel).</summary>
    public Config NodeConfig(int port) =>
        ConfigurationFactory.ParseString(ExtraHocon).WithFallback(ConfigurationFactory.ParseString($$"""
            runner.nats.url = "{{_nats.Url}}"
            runner.nats.subject-prefix = "{{Prefix}}"
            runner.nats.streams { events = "{{EventsStream}}", commands = "{{CommandsStream}}", dead-letters = "{{DeadLetterStream}}" }
            runner.nats.consumer { min-backoff = 100ms, max-backoff = 1s, checkpoint-interval = 200ms }
            runner.node { port = {{port}}, shard-id = "{{Name}}" }
            runner.admin.port = {{AdminPort}}
            runner.runtime.timer-tick = 100ms
            runner.custody { homes-bucket = "{{Name}}-homes", state-bucket = "{{Name}}-state" }
            akka.persistence.journal.lmdb { data-dir = "{{Data.Path}}", durability = nosync }
            akka.persistence.snapshot-store.lmdb { data-dir = "{{Data.Path}}", durability = nosync }
            akka.loglevel = INFO
            """)).WithFallback(RunnerConfiguration.Defaults());

    public async Task StartNodeAsync(params Runner.Sagas.ISagaDefinition[] extraSagas)
    {
        var builder = RunnerNode.CreateBuilder([], NodeConfig(NatsServerFixture.FreePort()));
        foreach (var saga in extraSagas) builder.WithSaga(saga);
        Node = builder.Build();
        await Node.StartAsync().ConfigureAwait(false);
    }

    public async Task StopNodeAsync()
    {
        if (Node is null) return;
        await Node.StopAsync().ConfigureAwait(false);
        Node.Dispose();
        Node = null;
    }

    public string EventSubject(string tenant, string type) => $"{Prefix}.evt.{tenant}.{type}";

    public async Task PublishAsync(string tenant, string type, string json, string? msgId = null, string? traceParent = null)
    {
        var headers = msgId is null ? null : new NatsHeaders { [RunnerHeaders.MsgId] = msgId };
        if (traceParent is not null) (headers ??= [])[RunnerTracing.TraceParentHeader] = traceParent;
        var ack = await Js.PublishAsync(EventSubject(tenant, type), Encoding.UTF8.GetBytes(json), headers: headers).ConfigureAwait(false);
        ack.EnsureSuccess();
    }

    /// <summary>Reads every message on <paramref name="filter"/> of <paramref name="stream"/> until <paramref name="until"/> holds or time runs out.</summary>
    public async Task<List<ReadCommand>> ReadAsync(string stream, string filter, Func<List<ReadCommand>, bool> until, TimeSpan timeout)
    {
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(NatsServerFixture.UniqueName("read"))
        {
            FilterSubject = filter,
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            InactiveThreshold = TimeSpan.FromMinutes(1),
        }).ConfigureAwait(false);
        var result = new List<ReadCommand>();
        var deadline = DateTime.UtcNow + timeout;
        while (!until(result) && DateTime.UtcNow < deadline)
        {
            await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1000 }).ConfigureAwait(false))
            {
                var subject = msg.Subject;
                result.Add(new ReadCommand(subject, subject[(subject.LastIndexOf('.') + 1)..],
                    msg.Headers is { } h && h.TryGetValue(RunnerHeaders.MsgId, out var id) ? id.ToString() : "", Encoding.UTF8.GetString(msg.Data ?? []),
                    msg.Metadata?.Sequence.Stream ?? 0,
                    msg.Headers is { } hn && hn.TryGetValue(RunnerHeaders.Node, out var node) ? node.ToString() : "",
                    msg.Headers is { } hk && hk.TryGetValue(RunnerHeaders.DeadLetterKind, out var kind) ? kind.ToString() : "",
                    msg.Headers is { } hr && hr.TryGetValue(RunnerHeaders.DeadLetterReason, out var reason) ? reason.ToString() : "",
                    msg.Headers is { } ht && ht.TryGetValue(RunnerTracing.TraceParentHeader, out var trace) ? trace.ToString() : ""));
            }

            if (!until(result)) await Task.Delay(50).ConfigureAwait(false); // polling the stream for the condition
        }

        return result;
    }

    public Task<List<ReadCommand>> CommandsAsync(string tenant, Func<List<ReadCommand>, bool> until, TimeSpan? timeout = null) =>
        ReadAsync(CommandsStream, $"{Prefix}.cmd.{tenant}.>", until, timeout ?? TimeSpan.FromSeconds(30));

    public Task<List<ReadCommand>> DeadLettersAsync(string tokenAfterDlq, Func<List<ReadCommand>, bool> until, TimeSpan? timeout = null) =>
        ReadAsync(DeadLetterStream, $"{Prefix}.dlq.{tokenAfterDlq}.>", until, timeout ?? TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        await StopNodeAsync().ConfigureAwait(false);
        await _client.DisposeAsync().ConfigureAwait(false);
        Data.Dispose();
    }
}
