using System.Runtime.CompilerServices;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Runner.Nats;

/// <summary>Header names the runner writes on dead letters.</summary>
public static class RunnerHeaders
{
    /// <summary>JetStream's de-duplication id.</summary>
    public const string MsgId = "Nats-Msg-Id";

    /// <summary>Why a message was parked.</summary>
    public const string DeadLetterReason = "Runner-Dlq-Reason";

    /// <summary>Machine-readable kind of the reason (UnknownEventType, MalformedPayload, MissingCorrelation, HandlerFailed, InvalidTenant).</summary>
    public const string DeadLetterKind = "Runner-Dlq-Kind";

    /// <summary>Subject the message arrived on.</summary>
    public const string OriginSubject = "Runner-Origin-Subject";

    /// <summary>Stream sequence of the message in the events stream.</summary>
    public const string OriginSequence = "Runner-Origin-Seq";

    /// <summary>The <c>Nats-Msg-Id</c> the parked message arrived with (the dead letter carries its own).</summary>
    public const string OriginMsgId = "Runner-Origin-Msg-Id";

    /// <summary>
    /// On a redriven event: the one saga that applies it (the saga that parked it); the tenant's other sagas, which saw
    /// the original already, skip it. Absent when the event was parked because no saga handled its type.
    /// </summary>
    public const string RedriveSaga = "Runner-Redrive-Saga";

    /// <summary>On a redriven event: the dead-letter stream sequence it was parked at.</summary>
    public const string RedrivenFrom = "Runner-Redriven-From";

    /// <summary>Whether <paramref name="headers"/> mark a redriven event meant for another saga than <paramref name="saga"/>.</summary>
    public static bool RedrivenForAnother(NatsHeaders? headers, string saga) =>
        headers is not null && headers.TryGetValue(RedriveSaga, out var target) && !string.Equals(target.ToString(), saga, StringComparison.Ordinal);

    /// <summary>The saga a command came from.</summary>
    public const string Saga = "Runner-Saga";

    /// <summary>The saga instance (correlation id) a command came from.</summary>
    public const string Correlation = "Runner-Correlation";

    /// <summary>Shard id of the node that published a command or dead letter.</summary>
    public const string Node = "Runner-Node";
}

/// <summary>
/// The node's NATS connection and JetStream context, and the runner's I/O on them: event consumers as
/// Akka.Streams sources, command and dead-letter publishing with retries.
/// </summary>
public sealed partial class NatsEdge : IRunnerTransport, ITenantEventSource, IAsyncDisposable
{
    private readonly NatsConnection _connection;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _startApi;
    private readonly SemaphoreSlim _standbyApi;

    /// <summary>Connects lazily to <see cref="NatsSettings.Url"/> (the client reconnects by itself).</summary>
    public NatsEdge(NatsSettings settings, ILogger<NatsEdge>? logger = null)
    {
        Settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _startApi = new SemaphoreSlim(settings.ApiConcurrency);
        _standbyApi = new SemaphoreSlim(Math.Max(1, settings.ApiConcurrency / 2));
        _connection = new NatsConnection(settings.ClientOptions());
        _connection.ConnectionOpened += OnConnectionOpened;
        _connection.ConnectionDisconnected += OnConnectionDisconnected;
        JetStream = new NatsJSContext(_connection);
        DeadLetters = new DeadLetters(JetStream, settings);
    }

    /// <summary>The dead-letter stream as operators use it: list, show, redrive, purge.</summary>
    public DeadLetters DeadLetters { get; }

    /// <summary>Settings in force.</summary>
    public NatsSettings Settings { get; }

    /// <summary>The JetStream context.</summary>
    public INatsJSContext JetStream { get; }

    /// <summary>The connection.</summary>
    public INatsConnection Connection => _connection;

    /// <summary>Whether the connection is open now.</summary>
    public bool IsConnected => _connection.ConnectionState == NatsConnectionState.Open;

    /// <summary>Connects and creates or validates the streams.</summary>
    /// <exception cref="NatsConnectException">
    /// The first connection failed (refused credentials, an untrusted certificate, no server): once, without retrying, with
    /// the server and the auth mode named and no secret in the message.
    /// </exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _connection.ConnectAsync().ConfigureAwait(false);
        }
        catch (NatsException e)
        {
            throw NatsConnectException.From(Settings, e);
        }

        await StreamProvisioner.EnsureAsync(JetStream, Settings, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Durable consumer name of a (tenant, saga).</summary>
    public static string ConsumerName(string tenant, string saga) => $"runner-{tenant}-{saga}";

    /// <summary>Deletes the durable consumer(s) of a (tenant, saga) if they exist (replay rewinds by recreating one).</summary>
    public async Task<bool> DeleteConsumerAsync(string tenant, string saga, CancellationToken cancellationToken)
    {
        var active = ActiveConsumer(tenant, saga);
        DropStandbys(Key(tenant, saga));
        var deleted = await DeleteIfExistsAsync(active, cancellationToken).ConfigureAwait(false);
        // After a failover the canonical name may still hold an old consumer; its own inactivity threshold ends it otherwise.
        if (active != ConsumerName(tenant, saga)) await DeleteQuietlyAsync(ConsumerName(tenant, saga), cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    private async Task<bool> DeleteIfExistsAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await JetStream.DeleteConsumerAsync(Settings.EventsStream, name, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return false;
        }
    }

    /// <summary>The first and last sequence of the events stream now (0, 0 when it is empty).</summary>
    public async Task<(ulong First, ulong Last)> EventsRangeAsync(CancellationToken cancellationToken)
    {
        var stream = await JetStream.GetStreamAsync(Settings.EventsStream, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (stream.Info.State.FirstSeq, stream.Info.State.LastSeq);
    }

    /// <summary>
    /// Reads (without acking or moving any runner consumer) the tenant's events from <paramref name="fromSeq"/> up to
    /// <paramref name="toSeq"/> through a consumer of its own that is deleted afterwards (replay dry runs).
    /// </summary>
    public async IAsyncEnumerable<INatsJSMsg<byte[]>> ReadTenantEventsAsync(string tenant, ulong fromSeq, ulong toSeq, string readerName,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (fromSeq > toSeq) yield break;
        var consumer = await JetStream.CreateOrUpdateConsumerAsync(Settings.EventsStream, new ConsumerConfig(readerName)
        {
            FilterSubject = Settings.Subjects.TenantEvents(tenant),
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = Math.Max(1, fromSeq),
            InactiveThreshold = Settings.ReaderInactiveThreshold,
            MemStorage = true,
            Description = $"runner replay reader of tenant {tenant}",
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                var any = false;
                await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = Settings.PullBatch }, cancellationToken: cancellationToken)
                                   .ConfigureAwait(false))
                {
                    any = true;
                    if ((msg.Metadata?.Sequence.Stream ?? 0) > toSeq) yield break;
                    yield return msg;
                }

                if (any) continue;
                await consumer.RefreshAsync(cancellationToken).ConfigureAwait(false);
                if (consumer.Info.NumPending == 0) yield break;
            }
        }
        finally
        {
            try
            {
                await JetStream.DeleteConsumerAsync(Settings.EventsStream, readerName, CancellationToken.None).ConfigureAwait(false);
            }
            catch (NatsJSApiException)
            {
                // Gone already; its inactivity threshold removes it otherwise.
            }
        }
    }

    /// <summary>The stream sequence up to which the (tenant, saga) consumer has every message acked, or null.</summary>
    public async Task<ulong?> AckFloorAsync(string tenant, string saga, CancellationToken cancellationToken) =>
        (await ConsumerStateAsync(tenant, saga, cancellationToken).ConfigureAwait(false))?.AckFloor;

    /// <summary>The (tenant, saga) consumer's ack floor, not yet delivered and delivered-but-unacked counts, or null when it does not exist.</summary>
    public async Task<(ulong AckFloor, ulong Pending, ulong AckPending)?> ConsumerPositionAsync(string tenant, string saga, CancellationToken cancellationToken)
    {
        try
        {
            var consumer = await JetStream.GetConsumerAsync(Settings.EventsStream, ActiveConsumer(tenant, saga), cancellationToken).ConfigureAwait(false);
            return (consumer.Info.AckFloor?.StreamSeq ?? 0, consumer.Info.NumPending, (ulong)Math.Max(0, consumer.Info.NumAckPending));
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return null;
        }
    }

    /// <summary>The (tenant, saga) consumer's ack floor and lag (messages not yet delivered plus delivered but unacked), or null.</summary>
    public async Task<(ulong AckFloor, ulong Lag)?> ConsumerStateAsync(string tenant, string saga, CancellationToken cancellationToken) =>
        await ConsumerPositionAsync(tenant, saga, cancellationToken).ConfigureAwait(false) is { } p ? (p.AckFloor, p.Pending + p.AckPending) : null;

    /// <summary>
    /// Publishes a command with a deterministic <c>Nats-Msg-Id</c> and waits for the PubAck, retrying with backoff
    /// until it is acknowledged or <paramref name="cancellationToken"/> fires. A duplicate PubAck counts as success.
    /// </summary>
    public async Task PublishCommandAsync(string tenant, string saga, string correlation, string commandType, byte[] payload, string msgId,
        string? traceParent, CancellationToken cancellationToken)
    {
        var subject = Settings.Subjects.Command(tenant, commandType);
        using var span = RunnerTracing.StartPublish(subject, msgId, traceParent);
        var headers = new NatsHeaders
        {
            [RunnerHeaders.Saga] = saga,
            [RunnerHeaders.Correlation] = correlation,
        };
        if (Settings.NodeId.Length > 0) headers[RunnerHeaders.Node] = Settings.NodeId;
        if (RunnerTracing.Propagate(span, traceParent) is { } parent) headers[RunnerTracing.TraceParentHeader] = parent;
        await PublishWithRetryAsync(subject, payload, msgId, headers, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Parks a message on <c>&lt;prefix&gt;.dlq.&lt;tenant&gt;.&lt;saga&gt;</c> with the reason and its origin.</summary>
    public Task PublishDeadLetterAsync(string tenant, string saga, string kind, string reason, string originSubject, ulong originSequence,
        byte[] payload, NatsHeaders? originHeaders, CancellationToken cancellationToken)
    {
        var headers = new NatsHeaders();
        if (originHeaders is not null)
        {
            foreach (var (k, v) in originHeaders)
            {
                if (!string.Equals(k, RunnerHeaders.MsgId, StringComparison.OrdinalIgnoreCase)) headers[k] = v;
                else headers[RunnerHeaders.OriginMsgId] = v;
            }
        }

        if (Settings.NodeId.Length > 0) headers[RunnerHeaders.Node] = Settings.NodeId;
        headers[RunnerHeaders.DeadLetterKind] = kind;
        headers[RunnerHeaders.DeadLetterReason] = reason.ReplaceLineEndings(" ");
        headers[RunnerHeaders.OriginSubject] = originSubject;
        headers[RunnerHeaders.OriginSequence] = originSequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var msgId = $"dlq:{tenant}:{saga}:{originSequence}";
        return PublishWithRetryAsync(Settings.Subjects.DeadLetter(tenant, saga), payload, msgId, headers, cancellationToken);
    }

    private async Task PublishWithRetryAsync(string subject, byte[] payload, string msgId, NatsHeaders headers, CancellationToken cancellationToken)
    {
        var delay = Settings.PublishMinBackoff;
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // An attempt made on a connection that is then lost waits for no PubAck: a reconnect ends it, and it is tried
            // again at once (the same Nats-Msg-Id, so JetStream keeps one copy if the first one was stored after all).
            var reconnect = NextReconnect;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, reconnect);
                timeout.CancelAfter(Settings.PublishTimeout);
                var ack = await JetStream.PublishAsync(subject, payload, opts: new NatsJSPubOpts { MsgId = msgId }, headers: headers,
                    cancellationToken: timeout.Token).ConfigureAwait(false);
                // A duplicate means JetStream already holds this Nats-Msg-Id inside the duplicate window: the re-publish of
                // a recovered outbox entry reached its goal. (NATS.Net's EnsureSuccess throws on it; retrying would never end.)
                if (ack.Error is null && ack.Duplicate) return;
                ack.EnsureSuccess();
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not ArgumentException)
            {
                if (reconnect.IsCancellationRequested) continue;
                // Logged on the first failure and then every tenth, so an outage is visible without flooding the log.
                if (attempt % 10 == 1) LogPublishRetry(_logger, e, subject, msgId, attempt, delay);
                await DelayOrReconnectAsync(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(Settings.PublishMaxBackoff.Ticks, delay.Ticks * 2));
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _connection.ConnectionOpened -= OnConnectionOpened;
        _connection.ConnectionDisconnected -= OnConnectionDisconnected;
        return _connection.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "NATS connection lost ({Detail}; {Security}): not ready until it is back, reconnecting")]
    private static partial void LogDisconnected(ILogger logger, string detail, string security);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing {Subject} ({MsgId}) failed (attempt {Attempt}); retrying in {Delay}")]
    private static partial void LogPublishRetry(ILogger logger, Exception exception, string subject, string msgId, int attempt, TimeSpan delay);
}
