using System.Collections.Concurrent;
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
    private readonly ConcurrentDictionary<string, string> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _served = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _moving = new(StringComparer.Ordinal);
    private CancellationTokenSource _reconnects = new();
    private int _connectionsOpened;

    /// <summary>A token cancelled the next time the connection is re-established after it was lost.</summary>
    public CancellationToken NextReconnect => Volatile.Read(ref _reconnects).Token;

    private ValueTask OnConnectionOpened(object? sender, NatsEventArgs args)
    {
        _connectedServer = _connection.ServerInfo?.Name;
        if (Interlocked.Increment(ref _connectionsOpened) == 1) return ValueTask.CompletedTask;
        LogReconnected(_logger, Settings.Security.Redact(args.Message));
        // Not disposed: consumers and publishes may still link to its token; it holds no timer.
        Interlocked.Exchange(ref _reconnects, new CancellationTokenSource()).Cancel();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The events of a (tenant, saga) in stream order, from its first unapplied event: every (re)start of consumption
    /// (the first, after an error, after a reconnect) goes through <see cref="StartAtFirstUnappliedAsync"/>, so events
    /// that were delivered and not acked come back before any newer one instead of after JetStream's AckWait. Errors
    /// restart it with backoff; a reconnect restarts it at once, and so does silence: no message and no idle heartbeat
    /// for twice <see cref="NatsSettings.IdleHeartbeat"/> (the consumer's server is gone, or the pull was lost when the
    /// consumer or stream changed leader), a leadership change or no responders. It ends only when
    /// <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="saga">The saga.</param>
    /// <param name="checkpoint">The tenant's durable checkpoint of the saga, asked on every (re)start.</param>
    /// <param name="started">Told where each (re)start began.</param>
    /// <param name="cancellationToken">Stops the consumption.</param>
    /// <param name="interrupted">Told when delivery stopped and why (it restarts by itself).</param>
    public async IAsyncEnumerable<INatsJSMsg<byte[]>> ConsumeInOrderAsync(string tenant, string saga, Func<CancellationToken, Task<ulong?>> checkpoint,
        Action<ConsumerStart>? started, [EnumeratorCancellation] CancellationToken cancellationToken, Action<string>? interrupted = null)
    {
        var key = Key(tenant, saga);
        var delay = Settings.MinBackoff;
        var reason = "start";
        INatsJSConsumer? resume = null;
        ulong lastDelivery = 0; // the consumer's delivery sequence of the last message yielded (0: unknown)
        using var keeping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var keeper = KeepStandbyAsync(tenant, saga, checkpoint, keeping.Token);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var reconnect = NextReconnect;
                INatsJSConsumer? consumer = null;
                ulong skipTo = 0; // after a switch to a standby: events up to here are applied already and only acked
                // After a reconnect too: deliveries lost with the old connection show as a gap only when the next message comes,
            // and none comes while the events stream elects a leader; a standby delivers them again at once.
            var restart = reason != "start";
                if (restart && TakeStandby(key) is { } standby)
                {
                    // Its standby is on another server and needs no JetStream API call to pull from: no waiting for leaders.
                    consumer = standby.Consumer;
                    resume = null;
                    skipTo = await checkpoint(cancellationToken).ConfigureAwait(false) ?? 0;
                    lastDelivery = 0;
                    LogSwitchedToStandby(_logger, key, reason, consumer.Info.Name, standby.Server, skipTo);
                    started?.Invoke(new ConsumerStart(consumer.Info.Name, Math.Max(standby.Start, skipTo + 1), true, 0, 0,
                        $"{reason}; switched to standby consumer {consumer.Info.Name}"));
                }

                var resumed = resume is not null;
                if (consumer is not null)
                {
                    // Switched above.
                }
                else if (resume is not null)
                {
                    // After a reconnect the consumer (on a server that is still up, most likely) is pulled from again without any
                    // JetStream API call: those need a metadata leader, which the lost server may have been. Deliveries lost with
                    // the old connection show as a gap in the delivery sequence, and then it restarts at its first unapplied event.
                    consumer = resume;
                    resume = null;
                    started?.Invoke(new ConsumerStart(consumer.Info.Name, 0, false, 0, 0, reason + "; pulled again as it was"));
                }
                else
                {
                    try
                    {
                        ConsumerStart start;
                        (consumer, start) = await StartAtFirstUnappliedAsync(tenant, saga, await checkpoint(cancellationToken).ConfigureAwait(false), reason, cancellationToken).ConfigureAwait(false);
                        NoteActive(key, consumer);
                        lastDelivery = 0;
                        started?.Invoke(start);
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                    {
                        LogConsumerStartFailed(_logger, e, ActiveConsumer(tenant, saga), delay);
                        reason = "error: " + e.Message;
                        interrupted?.Invoke("could not start: " + e.Message);
                    }
                }

                if (consumer is not null)
                {
                    using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, reconnect);
                    string? silence = null;
                    var opts = new NatsJSConsumeOpts
                    {
                        MaxMsgs = Settings.PullBatch,
                        Expires = Settings.PullExpires,
                        IdleHeartbeat = Settings.IdleHeartbeat,
                        NotificationHandler = (notification, _) =>
                        {
                            // The client would pull again on the same consumer; a lost server or moved leader needs a fresh start.
                            var why = notification switch
                            {
                                NatsJSTimeoutNotification => $"no message or heartbeat for {Settings.IdleHeartbeat * 2}",
                                NatsJSLeadershipChangeNotification => "the consumer changed leader",
                                NatsJSNoRespondersNotification => "no server answered the pull",
                                _ => null,
                            };
                            if (why is not null && Interlocked.CompareExchange(ref silence, why, null) is null)
                            {
                                NoteClusterChange();
                                run.Cancel();
                            }

                            return Task.CompletedTask;
                        },
                    };
                    var messages = consumer.ConsumeAsync<byte[]>(opts: opts, cancellationToken: run.Token).GetAsyncEnumerator(run.Token);
                    string? gap = null;
                    var delivered = 0;
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
                                // Stopped, reconnected or silent: restarted below.
                            }
                            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                            {
                                reason = "error: " + e.Message;
                                LogConsumeFailed(_logger, e, key);
                            }

                            if (next is null) break;
                            var delivery = next.Metadata?.Sequence.Consumer ?? 0;
                            if (lastDelivery > 0 && delivery > lastDelivery + 1)
                            {
                                // Delivered to a connection that is gone: they would come back only after AckWait, behind this one.
                                gap = $"deliveries {lastDelivery + 1}..{delivery - 1} were lost with the connection";
                                break;
                            }

                            lastDelivery = delivery;
                            if (skipTo > 0 && (next.Metadata?.Sequence.Stream ?? 0) <= skipTo)
                            {
                                // A standby starts at or before the checkpoint it was made at: what was applied since is only acked.
                                if (!await TryAckAsync(next, run.Token).ConfigureAwait(false)) break;
                                continue;
                            }

                            delivered++;
                            delay = Settings.MinBackoff;
                            yield return next;
                        }
                    }
                    finally
                    {
                        await messages.DisposeAsync().ConfigureAwait(false);
                    }

                    if (cancellationToken.IsCancellationRequested) yield break;
                    if (gap is not null)
                    {
                        reason = gap;
                        interrupted?.Invoke(gap);
                        LogConsumerSilent(_logger, consumer.Info.Name, gap);
                        continue;
                    }

                    interrupted?.Invoke(Volatile.Read(ref silence) ?? (reconnect.IsCancellationRequested ? "reconnected" : reason));
                    if (reconnect.IsCancellationRequested && !(resumed && delivered == 0 && Volatile.Read(ref silence) is not null))
                    {
                        // Pulled again as it was first; a consumer whose own server is gone falls silent and goes the long way.
                        resume = consumer;
                        reason = "reconnected";
                        continue;
                    }

                    if (reconnect.IsCancellationRequested || Volatile.Read(ref silence) is not null)
                    {
                        // The server may have forgotten our pull requests and holds deliveries we never received: start again
                        // at the first unapplied event, now.
                        reason = Volatile.Read(ref silence) is { } why && !reconnect.IsCancellationRequested ? why : "reconnected";
                        if (!reconnect.IsCancellationRequested) LogConsumerSilent(_logger, consumer.Info.Name, reason);
                        continue;
                    }
                }

                await DelayOrReconnectAsync(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(Settings.MaxBackoff.Ticks, delay.Ticks * 2));
            }
        }
        finally
        {
            await keeping.CancelAsync().ConfigureAwait(false);
            await keeper.ConfigureAwait(false);
        }
    }

    private static async Task<bool> TryAckAsync(INatsJSMsg<byte[]> msg, CancellationToken cancellationToken)
    {
        try
        {
            await msg.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or NatsException)
        {
            // Not acked: the consumption restarts and it is skipped again.
            return false;
        }
    }

    /// <summary>
    /// Makes a durable consumer of a (tenant, saga) deliver its first unapplied event next. A consumer with nothing
    /// delivered-but-unacked, no pull request waiting and nothing delivered short of <paramref name="checkpoint"/> is
    /// kept as it is. Otherwise it is deleted and created again at its ack floor + 1 (or after
    /// <paramref name="checkpoint"/>, the tenant's durable checkpoint, when that is further or the consumer is gone):
    /// JetStream would hand out newer events at once and redeliver the unacked ones only after AckWait, so an instance
    /// could see its events out of order. Events after the floor that were applied already are recognised by their
    /// dedupe markers.
    /// <para>
    /// A consumer whose info does not come within <see cref="NatsSettings.ApiTimeout"/> after it served this node is
    /// unreachable: at one replica, its server is down. The consumption then moves to a consumer of a fresh name,
    /// created on a live server after the checkpoint (the checkpoint, not the consumer, is the truth).
    /// </para>
    /// </summary>
    public async Task<(INatsJSConsumer Consumer, ConsumerStart Start)> StartAtFirstUnappliedAsync(string tenant, string saga, ulong? checkpoint,
        string reason, CancellationToken cancellationToken)
    {
        var key = Key(tenant, saga);
        var name = ActiveConsumer(tenant, saga);
        if (_moving.ContainsKey(key))
        {
            // Its consumer was found unreachable and no replacement is confirmed yet: go on creating one (JetStream may be
            // electing a metadata leader meanwhile), never back to probing the lost one.
            return await MoveAsync(key, tenant, saga, name, (checkpoint ?? 0) + 1, reason, cancellationToken).ConfigureAwait(false);
        }

        var known = _served.ContainsKey(name);
        INatsJSConsumer? existing = null;
        var unreachable = false;
        try
        {
            existing = await CallAsync(_startApi, Settings.ApiTimeout, t => JetStream.GetConsumerAsync(Settings.EventsStream, name, t), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            // Created below.
        }
        catch (Exception e) when (known && CanMoveElsewhere && !cancellationToken.IsCancellationRequested && e is OperationCanceledException or NatsNoRespondersException
                                      or NatsJSApiException { Error.Code: 503 } or NatsJSException)
        {
            unreachable = true;
        }

        var start = (checkpoint ?? 0) + 1;
        if (unreachable)
        {
            LogConsumerUnreachable(_logger, name, Settings.ApiTimeout, start, reason);
            _served.TryRemove(name, out _);
            _moving[key] = true;
        }

        if (unreachable) return await MoveAsync(key, tenant, saga, name, start, reason, cancellationToken).ConfigureAwait(false);

        var info = existing?.Info;
        var floor = info?.AckFloor?.StreamSeq ?? 0;
        var delivered = info?.Delivered?.StreamSeq ?? 0;
        if (existing is not null && info is { NumAckPending: 0, NumWaiting: 0 } && delivered >= (checkpoint ?? 0) && Matches(info.Config, tenant))
        {
            LogConsumerReused(_logger, name, delivered + 1, reason);
            _served[name] = true;
            return (existing, new ConsumerStart(name, delivered + 1, false, floor, 0, reason));
        }

        start = Math.Max(floor, checkpoint ?? 0) + 1;
        if (existing is not null)
            await CallAsync(_startApi, Settings.ApiTimeout * 2, t => JetStream.DeleteConsumerAsync(Settings.EventsStream, name, t), cancellationToken)
                .ConfigureAwait(false);
        var created = await CreateAsync(tenant, saga, name, start, cancellationToken).ConfigureAwait(false);
        var pending = info?.NumAckPending ?? 0;
        if (existing is not null) LogConsumerRewound(_logger, name, start, reason, pending, delivered, floor);
        return (created, new ConsumerStart(name, start, existing is not null, floor, pending, reason));
    }

    private async Task<(INatsJSConsumer Consumer, ConsumerStart Start)> MoveAsync(string key, string tenant, string saga, string lost, ulong start,
        string reason, CancellationToken cancellationToken)
    {
        var moved = await CreateElsewhereAsync(tenant, saga, start, cancellationToken).ConfigureAwait(false);
        _moving.TryRemove(key, out _);
        _active[key] = moved.Info.Name;
        return (moved, new ConsumerStart(moved.Info.Name, start, true, 0, 0, $"{reason}; {lost} unreachable"));
    }

    /// <summary>
    /// Whether a consumer that does not answer may be replaced by one on another server: only while connected to a
    /// clustered server. A single server that restarts answers again with its consumers once its JetStream is back.
    /// </summary>
    private bool CanMoveElsewhere => IsConnected && !string.IsNullOrEmpty(_connection.ServerInfo?.Cluster);

    /// <summary>The name of the consumer this node uses now for a (tenant, saga).</summary>
    public string ActiveConsumer(string tenant, string saga) => _active.GetValueOrDefault(Key(tenant, saga)) ?? ConsumerName(tenant, saga);

    /// <summary>
    /// Creates a consumer under a fresh name at <paramref name="start"/>. JetStream places a one-replica consumer on
    /// any server of the stream, the one that is down included (it then never answers): a create that gets no answer
    /// within the timeout is tried again under another fresh name, and deleted in case it was made after all. Names
    /// nobody pulls from expire after <see cref="NatsSettings.ConsumerInactiveThreshold"/>. A standby
    /// (<paramref name="standby"/>) goes through the background share of the API calls, with five times the timeout.
    /// </summary>
    private async Task<INatsJSConsumer> CreateElsewhereAsync(string tenant, string saga, ulong start, CancellationToken cancellationToken,
        bool standby = false)
    {
        var gate = standby ? _standbyApi : _startApi;
        var within = standby ? Settings.ApiTimeout * 5 : Settings.ApiTimeout;
        for (var attempt = 1; ; attempt++)
        {
            var name = $"{ConsumerName(tenant, saga)}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";
            try
            {
                var created = await CallAsync(gate, within,
                    t => JetStream.CreateOrUpdateConsumerAsync(Settings.EventsStream, ConsumerConfigFor(tenant, saga, name, start), t), cancellationToken)
                    .ConfigureAwait(false);
                _served[name] = true;
                return created;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is OperationCanceledException or NatsNoRespondersException
                                          or NatsJSApiNoResponseException)
            {
                LogCreateUnanswered(_logger, name, within);
                _ = DeleteQuietlyAsync(name, CancellationToken.None);
                if (attempt >= 3) throw;
            }
        }
    }

    private async Task<INatsJSConsumer> CreateAsync(string tenant, string saga, string name, ulong start, CancellationToken cancellationToken)
    {
        var created = await CallAsync(_startApi, Settings.ApiTimeout * 2,
            t => JetStream.CreateOrUpdateConsumerAsync(Settings.EventsStream, ConsumerConfigFor(tenant, saga, name, start), t), cancellationToken).ConfigureAwait(false);
        _served[name] = true;
        return created;
    }

    /// <summary>
    /// Runs a JetStream API call about consumers through <paramref name="gate"/>: starts and failovers share
    /// <see cref="NatsSettings.ApiConcurrency"/> calls in flight, standbys and clean-up half of that on their own gate, so a node
    /// starting 1,000 tenants (or a cluster losing a server under them) queues its calls instead of flooding the
    /// metadata leader into timeouts. <paramref name="timeout"/> counts from when the call is sent.
    /// </summary>
    private static async Task<T> CallAsync<T>(SemaphoreSlim gate, TimeSpan? timeout, Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var within = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (timeout is { } t) within.CancelAfter(t);
            return await call(within.Token).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task DeleteQuietlyAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync(_standbyApi, Settings.ApiTimeout * 5, t => JetStream.DeleteConsumerAsync(Settings.EventsStream, name, t), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Gone, or on a server that is down too: the create below replaces its configuration either way.
            LogDeleteSkipped(_logger, name, e.Message);
        }
    }

    private static string Key(string tenant, string saga) => tenant + "/" + saga;

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

    private ConsumerConfig ConsumerConfigFor(string tenant, string saga, string name, ulong start) => new(name)
    {
        FilterSubject = Settings.Subjects.TenantEvents(tenant),
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        AckWait = Settings.AckWait,
        MaxAckPending = MaxAckPending,
        MaxDeliver = -1,
        DeliverPolicy = start > 1 ? ConsumerConfigDeliverPolicy.ByStartSequence : ConsumerConfigDeliverPolicy.All,
        OptStartSeq = start > 1 ? start : 0,
        Description = $"runner events of tenant {tenant} for saga {saga}",
        NumReplicas = Settings.ConsumerReplicas,
        // A consumer left behind on a server that was down (its tenant moved on to another name) goes away by itself.
        InactiveThreshold = Settings.ConsumerInactiveThreshold,
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Consumer {Consumer} not deleted before its name is used again: {Error}")]
    private static partial void LogDeleteSkipped(ILogger logger, string consumer, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumer {Consumer} went silent ({Reason}); restarting it at its first unapplied event")]
    private static partial void LogConsumerSilent(ILogger logger, string consumer, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Consumer {Consumer} did not answer within {Timeout} ({Reason}): its server is down; consumption moves to a new consumer at stream seq {Start} (the checkpoint + 1)")]
    private static partial void LogConsumerUnreachable(ILogger logger, string consumer, TimeSpan timeout, ulong start, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer {Consumer} was not confirmed within {Timeout} (placed on a server that is down?); trying another name")]
    private static partial void LogCreateUnanswered(ILogger logger, string consumer, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Consumer {Consumer} resumes at stream seq {Next} as it was ({Reason}): nothing unacked")]
    private static partial void LogConsumerReused(ILogger logger, string consumer, ulong next, string reason);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Consumer {Consumer} recreated at stream seq {Start} ({Reason}): {AckPending} event(s) were delivered and not acked (delivered up to {Delivered}, ack floor {Floor}); they come back first, in order")]
    private static partial void LogConsumerRewound(ILogger logger, string consumer, ulong start, string reason, int ackPending, ulong delivered, ulong floor);
}
