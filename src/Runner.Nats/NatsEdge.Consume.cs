using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Runner.Nats;

/// <summary>Where a (tenant, saga) consumption (re)started.</summary>
/// <param name="Consumer">The durable consumer's name.</param>
/// <param name="StartSeq">The first stream sequence it delivers (its first unapplied event, or the next undelivered one when reused).</param>
/// <param name="Rewound">Whether the consumer was (re)created at <paramref name="StartSeq"/>; false when it was reused as it was.</param>
/// <param name="AckFloor">The consumer's ack floor before the start (0 when it did not exist).</param>
/// <param name="AckPending">Messages it had delivered and not yet seen acked.</param>
/// <param name="Reason">Why it (re)started: start, reconnected, or the error that ended the previous run.</param>
public sealed record ConsumerStart(string Consumer, ulong StartSeq, bool Rewound, ulong AckFloor, int AckPending, string Reason);

public sealed partial class NatsEdge
{
    private CancellationTokenSource _reconnects = new();
    private int _connectionsOpened;

    /// <summary>A token cancelled the next time the connection is re-established after it was lost.</summary>
    public CancellationToken NextReconnect => Volatile.Read(ref _reconnects).Token;

    private ValueTask OnConnectionOpened(object? sender, NatsEventArgs args)
    {
        if (Interlocked.Increment(ref _connectionsOpened) == 1) return ValueTask.CompletedTask;
        LogReconnected(_logger, args.Message);
        // Not disposed: consumers and publishes may still link to its token; it holds no timer.
        Interlocked.Exchange(ref _reconnects, new CancellationTokenSource()).Cancel();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The events of a (tenant, saga) in stream order, from its first unapplied event: every (re)start of consumption
    /// (the first, after an error, after a reconnect) goes through <see cref="StartAtFirstUnappliedAsync"/>, so events
    /// that were delivered and not acked come back before any newer one instead of after JetStream's AckWait. Errors
    /// restart it with backoff; a reconnect restarts it at once. It ends only when <paramref name="cancellationToken"/>
    /// fires.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="saga">The saga.</param>
    /// <param name="checkpoint">The tenant's durable checkpoint of the saga, asked on every (re)start.</param>
    /// <param name="started">Told where each (re)start began.</param>
    /// <param name="cancellationToken">Stops the consumption.</param>
    public async IAsyncEnumerable<INatsJSMsg<byte[]>> ConsumeInOrderAsync(string tenant, string saga, Func<ulong?> checkpoint,
        Action<ConsumerStart>? started, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var name = ConsumerName(tenant, saga);
        var delay = Settings.MinBackoff;
        var reason = "start";
        var opts = new NatsJSConsumeOpts
        {
            MaxMsgs = Settings.PullBatch,
            Expires = Settings.PullExpires,
            // The client's own limit: heartbeats at most every 30 s.
            IdleHeartbeat = TimeSpan.FromTicks(Math.Min(Settings.PullExpires.Ticks / 2, TimeSpan.FromSeconds(30).Ticks)),
        };
        while (!cancellationToken.IsCancellationRequested)
        {
            var reconnect = NextReconnect;
            INatsJSConsumer? consumer = null;
            try
            {
                ConsumerStart start;
                (consumer, start) = await StartAtFirstUnappliedAsync(tenant, saga, checkpoint(), reason, cancellationToken).ConfigureAwait(false);
                started?.Invoke(start);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                LogConsumerStartFailed(_logger, e, name, delay);
                reason = "error: " + e.Message;
            }

            if (consumer is not null)
            {
                using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, reconnect);
                var messages = consumer.ConsumeAsync<byte[]>(opts: opts, cancellationToken: run.Token).GetAsyncEnumerator(run.Token);
                try
                {
                    while (true)
                    {
                        INatsJSMsg<byte[]>? next = null;
                        try
                        {
                            if (await messages.MoveNextAsync().ConfigureAwait(false)) next = messages.Current;
                        }
                        catch (OperationCanceledException) when (run.IsCancellationRequested)
                        {
                            // Stopped, or the connection came back: restarted below.
                        }
                        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                        {
                            reason = "error: " + e.Message;
                            LogConsumeFailed(_logger, e, name);
                        }

                        if (next is null) break;
                        delay = Settings.MinBackoff;
                        yield return next;
                    }
                }
                finally
                {
                    await messages.DisposeAsync().ConfigureAwait(false);
                }

                if (cancellationToken.IsCancellationRequested) yield break;
                if (reconnect.IsCancellationRequested)
                {
                    // The server may have forgotten our pull requests and holds deliveries we never received: start again
                    // at the first unapplied event, now.
                    reason = "reconnected";
                    continue;
                }
            }

            await DelayOrReconnectAsync(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(Settings.MaxBackoff.Ticks, delay.Ticks * 2));
        }
    }

    /// <summary>
    /// Makes the durable consumer of a (tenant, saga) deliver its first unapplied event next. A consumer with nothing
    /// delivered-but-unacked and no pull request waiting (nothing can come back out of order) is kept as it is.
    /// Otherwise it is deleted and created again at its ack floor + 1 (or after <paramref name="checkpoint"/>, the
    /// tenant's durable checkpoint, when that is further or the consumer is gone): JetStream would hand out newer
    /// events at once and redeliver the unacked ones only after AckWait, so an instance could see its events out of
    /// order. Events after the floor that were applied already are recognised by their dedupe markers.
    /// </summary>
    public async Task<(INatsJSConsumer Consumer, ConsumerStart Start)> StartAtFirstUnappliedAsync(string tenant, string saga, ulong? checkpoint,
        string reason, CancellationToken cancellationToken)
    {
        var name = ConsumerName(tenant, saga);
        INatsJSConsumer? existing = null;
        try
        {
            existing = await JetStream.GetConsumerAsync(Settings.EventsStream, name, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            // Created below.
        }

        var info = existing?.Info;
        var floor = info?.AckFloor?.StreamSeq ?? 0;
        if (existing is not null && info is { NumAckPending: 0, NumWaiting: 0 } && Matches(info.Config, tenant))
        {
            var next = (info.Delivered?.StreamSeq ?? 0) + 1;
            LogConsumerReused(_logger, name, next, reason);
            return (existing, new ConsumerStart(name, next, false, floor, 0, reason));
        }

        var start = Math.Max(floor, checkpoint ?? 0) + 1;
        if (existing is not null) await JetStream.DeleteConsumerAsync(Settings.EventsStream, name, cancellationToken).ConfigureAwait(false);
        var created = await JetStream.CreateOrUpdateConsumerAsync(Settings.EventsStream, ConsumerConfigFor(tenant, saga, start), cancellationToken)
            .ConfigureAwait(false);
        var pending = info?.NumAckPending ?? 0;
        if (existing is not null) LogConsumerRewound(_logger, name, start, reason, pending, info!.Delivered?.StreamSeq ?? 0, floor);
        return (created, new ConsumerStart(name, start, existing is not null, floor, pending, reason));
    }

    /// <summary>Waits <paramref name="delay"/>, or less when the connection comes back or <paramref name="cancellationToken"/> fires.</summary>
    private async Task DelayOrReconnectAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, NextReconnect);
        try
        {
            await Task.Delay(delay, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped, or reconnected: the caller goes on at once.
        }
    }

    private ConsumerConfig ConsumerConfigFor(string tenant, string saga, ulong start) => new(ConsumerName(tenant, saga))
    {
        FilterSubject = Settings.Subjects.TenantEvents(tenant),
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        AckWait = Settings.AckWait,
        MaxAckPending = MaxAckPending,
        MaxDeliver = -1,
        DeliverPolicy = start > 1 ? ConsumerConfigDeliverPolicy.ByStartSequence : ConsumerConfigDeliverPolicy.All,
        OptStartSeq = start > 1 ? start : 0,
        Description = $"runner events of tenant {tenant} for saga {saga}",
    };

    private long MaxAckPending => Math.Max(Settings.Parallelism * 4, Settings.PullBatch);

    /// <summary>Whether an existing consumer has the configuration this node would give it (else it is recreated).</summary>
    private bool Matches(ConsumerConfig config, string tenant) =>
        config.FilterSubject == Settings.Subjects.TenantEvents(tenant)
        && config.AckPolicy == ConsumerConfigAckPolicy.Explicit
        && config.AckWait == Settings.AckWait
        && config.MaxAckPending == MaxAckPending;

    [LoggerMessage(Level = LogLevel.Information, Message = "NATS connection re-established ({Detail}): consumers restart at their first unapplied event")]
    private static partial void LogReconnected(ILogger logger, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumer {Consumer} could not start; trying again in {Delay} or on reconnect")]
    private static partial void LogConsumerStartFailed(ILogger logger, Exception exception, string consumer, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumer {Consumer} stopped delivering; restarting it at its first unapplied event")]
    private static partial void LogConsumeFailed(ILogger logger, Exception exception, string consumer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Consumer {Consumer} resumes at stream seq {Next} as it was ({Reason}): nothing unacked")]
    private static partial void LogConsumerReused(ILogger logger, string consumer, ulong next, string reason);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Consumer {Consumer} recreated at stream seq {Start} ({Reason}): {AckPending} event(s) were delivered and not acked (delivered up to {Delivered}, ack floor {Floor}); they come back first, in order")]
    private static partial void LogConsumerRewound(ILogger logger, string consumer, ulong start, string reason, int ackPending, ulong delivered, ulong floor);
}
