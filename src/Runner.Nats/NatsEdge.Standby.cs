using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Runner.Nats;

/// <summary>
/// Standby consumers. On a NATS cluster a one-replica consumer lives on one server; when that server is lost, a new
/// consumer can only be created once JetStream has a metadata leader again, and electing one takes 4-9 s on 2.9 when
/// the lost server held it. So each (tenant, saga) keeps a second consumer, created beforehand at its checkpoint on
/// another server and never pulled from: the consumption switches to it with no API call (pull requests go straight to
/// the consumer's server), skipping by stream sequence what it applied already, and a new standby is made behind it.
/// </summary>
/// <summary>A standby consumer: its name, the server holding it, the first stream sequence it delivers.</summary>
public sealed record StandbyView(string Consumer, string Server, ulong StartSeq);

public sealed partial class NatsEdge
{
    private readonly object _standbyGate = new();
    private readonly ConcurrentDictionary<string, long> _unanswered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<StandbyConsumer>> _standby = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _activeServer = new(StringComparer.Ordinal);
    private long _clusterChanges;
    private string? _connectedServer;
    private string? _lostServer;
    private long _lostAt;

    /// <summary>A consumer kept ready to take over a (tenant, saga): where it starts, which server holds it, since when.</summary>
    private sealed record StandbyConsumer(INatsJSConsumer Consumer, ulong Start, string Server, long CreatedAt);

    /// <summary>Whether standbys are kept now: enabled, one-replica consumers of a replicated stream, on a clustered server.</summary>
    private bool StandbyWanted => Settings.StandbyConsumers && Settings.ConsumerReplicas == 1 && Settings.Replicas > 1 && CanMoveElsewhere;

    /// <summary>The server that holds the active consumer of a (tenant, saga), when known.</summary>
    private void NoteActive(string key, INatsJSConsumer consumer)
    {
        if (consumer.Info.Cluster?.Leader is { Length: > 0 } server) _activeServer[key] = server;
        else _activeServer.TryRemove(key, out _);
    }

    private ValueTask OnConnectionDisconnected(object? sender, NatsEventArgs args)
    {
        // Readiness (IsConnected) is false from here until the client is back; it reconnects by itself, also after refused
        // credentials (revoked, then valid again).
        LogDisconnected(_logger, Settings.Security.Redact(args.Message), Settings.DescribeSecurity());
        // Consumers on the server this connection lost are switched at once on reconnect, and never to a standby made there before.
        Volatile.Write(ref _lostAt, Stopwatch.GetTimestamp());
        _lostServer = _connectedServer;
        NoteClusterChange();
        return ValueTask.CompletedTask;
    }

    /// <summary>Something changed in the cluster (a silent consumer, a lost connection): standbys are checked again.</summary>
    private void NoteClusterChange()
    {
        Interlocked.Increment(ref _clusterChanges);
        // Wakes every standby upkeep: a server lost or back is when standbys must be checked and placed.
        Interlocked.Exchange(ref _clusterChanged, new CancellationTokenSource()).Cancel();
    }

    private CancellationTokenSource _clusterChanged = new();

    /// <summary>Whether a consumer on <paramref name="server"/> made before <paramref name="since"/> may be gone with the server this connection lost.</summary>
    private bool OnLostServer(string? server, long since) =>
        server is not null && _lostServer is { } lost && string.Equals(server, lost, StringComparison.Ordinal) && since < Volatile.Read(ref _lostAt);

    /// <summary>
    /// Takes a standby of a (tenant, saga) that is not on the server the connection lost, which becomes its active
    /// consumer; null when there is none.
    /// </summary>
    private StandbyConsumer? TakeStandby(string key)
    {
        StandbyConsumer? taken;
        lock (_standbyGate)
        {
            if (!_standby.TryGetValue(key, out var list)) return null;
            var active = _activeServer.GetValueOrDefault(key);
            taken = list.Find(s => s.Server != active && !OnLostServer(s.Server, s.CreatedAt));
            if (taken is null) return null;
            list.Remove(taken);
        }

        var previous = _active.GetValueOrDefault(key);
        _active[key] = taken.Consumer.Info.Name;
        _activeServer[key] = taken.Server;
        _served[taken.Consumer.Info.Name] = true;
        _moving.TryRemove(key, out _);
        if (previous is not null && previous != taken.Consumer.Info.Name) _ = DeleteQuietlyAsync(previous, CancellationToken.None);
        return taken;
    }

    /// <summary>The standby consumers of a (tenant, saga) now: name, server, first stream sequence.</summary>
    public IReadOnlyList<StandbyView> Standbys(string tenant, string saga)
    {
        lock (_standbyGate)
        {
            return _standby.TryGetValue(Key(tenant, saga), out var list)
                ? list.Select(s => new StandbyView(s.Consumer.Info.Name, s.Server, s.Start)).ToList()
                : [];
        }
    }

    /// <summary>The server holding the active consumer of a (tenant, saga), when known (a clustered server).</summary>
    public string? ActiveServer(string tenant, string saga) => _activeServer.GetValueOrDefault(Key(tenant, saga));

    /// <summary>Removes every standby of a (tenant, saga) (deleted in the background).</summary>
    private void DropStandbys(string key)
    {
        List<StandbyConsumer>? left;
        lock (_standbyGate)
        {
            _standby.Remove(key, out left);
        }

        foreach (var s in left ?? []) _ = DeleteQuietlyAsync(s.Consumer.Info.Name, CancellationToken.None);
    }

    /// <summary>
    /// Looks after the standbys of a (tenant, saga) until <paramref name="cancellationToken"/> fires: one on each server
    /// of the stream other than the active consumer's, made at the checkpoint; made again when one falls
    /// <see cref="NatsSettings.StandbyRefreshAfter"/> events behind or half its inactivity threshold has passed; after any
    /// change in the cluster, each is checked to still answer. When the servers to place them are missing (one is down),
    /// it tries less and less often. Deletes them when the consumption stops.
    /// </summary>
    private async Task KeepStandbyAsync(string tenant, string saga, Func<CancellationToken, Task<ulong?>> checkpoint, CancellationToken cancellationToken)
    {
        var key = Key(tenant, saga);
        var checkedAt = -1L;
        // Soon after the start, but spread out: a node starting many tenants does not ask for all their standbys at once
        // (the API gate queues them anyway).
        var wait = TimeSpan.FromMilliseconds(100) + Settings.StandbyCheckInterval * (Random.Shared.NextDouble() / 2);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await DelayOrClusterChangeAsync(wait, cancellationToken).ConfigureAwait(false);
                if (!StandbyWanted)
                {
                    wait = Settings.StandbyCheckInterval;
                    continue;
                }

                if (!_activeServer.TryGetValue(key, out var activeServer)) continue; // its consumer is starting: soon again
                try
                {
                    var changes = Interlocked.Read(ref _clusterChanges);
                    var from = (await checkpoint(cancellationToken).ConfigureAwait(false) ?? 0) + 1;
                    var progressed = await TendStandbysAsync(key, tenant, saga, from, activeServer, changes != checkedAt, cancellationToken)
                        .ConfigureAwait(false);
                    checkedAt = changes;
                    wait = progressed ? Settings.StandbyCheckInterval : TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, Settings.StandbyMaxRetryInterval.Ticks));
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    // JetStream busy electing leaders, or the server we asked is going: tried again at the next check (the
                    // calls are bounded by their timeouts and the gate; a standby is wanted most right after a loss).
                    LogStandbyFailed(_logger, key, e.Message);
                    wait = Settings.StandbyCheckInterval;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
        finally
        {
            // The consumption stopped (drain, hand-off, replay): standbys nobody will switch to are removed now.
            DropStandbys(key);
        }
    }

    /// <summary>Waits <paramref name="wait"/>, or less when something changes in the cluster (then a moment more, spread out).</summary>
    private async Task DelayOrClusterChangeAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Volatile.Read(ref _clusterChanged).Token);
        try
        {
            await Task.Delay(wait, either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A change: the upkeep goes on soon, not all consumptions of the node at the same moment.
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(50, 500)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One round of <see cref="KeepStandbyAsync"/>: a standby wanted on every live server of the stream other than the
    /// active consumer's. True when they are all in place or one was placed in this round (false: none could be).
    /// </summary>
    private async Task<bool> TendStandbysAsync(string key, string tenant, string saga, ulong start, string activeServer, bool check,
        CancellationToken cancellationToken)
    {
        List<StandbyConsumer> current;
        lock (_standbyGate) current = [.. _standby.GetValueOrDefault(key) ?? []];
        var live = await LiveServersAsync().WaitAsync(cancellationToken).ConfigureAwait(false)
                   ?? [.. current.Select(c => c.Server).Append(activeServer)]; // not known yet: the servers it has consumers on
        var good = new List<StandbyConsumer>();
        var retire = new List<StandbyConsumer>();
        foreach (var standby in current)
        {
            var stale = start > standby.Start + Settings.StandbyRefreshAfter || standby.Server == activeServer
                        || good.Exists(g => g.Server == standby.Server)
                        || Stopwatch.GetElapsedTime(standby.CreatedAt) > Settings.ConsumerInactiveThreshold / 2;
            if (!stale && (!live.Contains(standby.Server) || (check && !await AnswersAsync(standby, cancellationToken).ConfigureAwait(false))))
            {
                // Its server is down: it is no standby (made again on a live server below).
                Remove(key, standby);
                _ = DeleteQuietlyAsync(standby.Consumer.Info.Name, CancellationToken.None);
                continue;
            }

            (stale ? retire : good).Add(standby);
        }

        bool Uncovered(string server) => server != activeServer && !good.Exists(g => g.Server == server);
        var missing = live.Count(Uncovered);
        var placed = 0;
        // JetStream chooses the server of each: with one of two servers still to cover, a create lands there every other time.
        for (var attempt = 1; live.Any(Uncovered) && attempt <= missing * 3; attempt++)
        {
            var created = await CreateElsewhereAsync(tenant, saga, start, cancellationToken, standby: true).ConfigureAwait(false);
            var server = created.Info.Cluster?.Leader ?? "";
            if (server.Length > 0) _unanswered.TryRemove(server, out _);
            if (!Uncovered(server))
            {
                // Placed where a consumer of this (tenant, saga) is already: JetStream chose the server; try again.
                await DeleteQuietlyAsync(created.Info.Name, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var standby = new StandbyConsumer(created, start, server, Stopwatch.GetTimestamp());
            good.Add(standby);
            placed++;
            lock (_standbyGate)
            {
                if (!_standby.TryGetValue(key, out var list)) _standby[key] = list = [];
                list.Add(standby);
            }

            LogStandbyReady(_logger, created.Info.Name, key, server, start);
        }

        // Standbys that were refreshed are retired once their replacements are in place (they stay a fallback until then).
        var complete = !live.Any(Uncovered);
        foreach (var old in retire.Where(r => complete || r.Server == activeServer || good.Exists(g => g.Server == r.Server)))
        {
            if (Remove(key, old)) await DeleteQuietlyAsync(old.Consumer.Info.Name, cancellationToken).ConfigureAwait(false);
        }

        return complete || placed > 0;
    }

    private readonly object _liveGate = new();
    private (long At, Task<HashSet<string>?> Servers)? _live;
    private HashSet<string>? _lastLive;

    /// <summary>
    /// The servers of the events stream that are up (its leader and the replicas JetStream does not report offline), asked
    /// at most once per <see cref="NatsSettings.StandbyCheckInterval"/> for all consumptions of the node together.
    /// </summary>
    private Task<HashSet<string>?> LiveServersAsync()
    {
        lock (_liveGate)
        {
            if (_live is { } cached && (!cached.Servers.IsCompleted || (cached.Servers.IsCompletedSuccessfully
                                                                       && Stopwatch.GetElapsedTime(cached.At) < Settings.StandbyCheckInterval)))
                return cached.Servers;
            var asking = AskLiveServersAsync(); // shared by every consumption: bounded by its timeout, not by one of them stopping
            _live = (Stopwatch.GetTimestamp(), asking);
            return asking;
        }
    }

    /// <summary>The live servers now, or the last ones known when the stream does not answer (no leader: an election).</summary>
    private async Task<HashSet<string>?> AskLiveServersAsync()
    {
        INatsJSStream stream;
        try
        {
            stream = await CallAsync(_standbyApi, Settings.ApiTimeout,
                t => JetStream.GetStreamAsync(Settings.EventsStream, cancellationToken: t), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or NatsException)
        {
            return Volatile.Read(ref _lastLive);
        }

        var servers = new HashSet<string>(StringComparer.Ordinal);
        if (stream.Info.Cluster?.Leader is { Length: > 0 } leader) servers.Add(leader);
        foreach (var replica in stream.Info.Cluster?.Replicas ?? [])
        {
            if (!replica.Offline) servers.Add(replica.Name);
        }

        Volatile.Write(ref _lastLive, servers);
        return servers;
    }

    private bool Remove(string key, StandbyConsumer standby)
    {
        lock (_standbyGate) return _standby.TryGetValue(key, out var list) && list.Remove(standby);
    }

    /// <summary>
    /// Whether a standby still answers. A server whose standby did not answer within the API timeout is taken as down for
    /// a while: the other standbys there are not asked (each would cost the full timeout), until a consumer is made there.
    /// </summary>
    private async Task<bool> AnswersAsync(StandbyConsumer standby, CancellationToken cancellationToken)
    {
        if (_unanswered.TryGetValue(standby.Server, out var since) && Stopwatch.GetElapsedTime(since) < Settings.StandbyUnansweredHold) return false;
        try
        {
            await CallAsync(_standbyApi, Settings.ApiTimeout, t => JetStream.GetConsumerAsync(Settings.EventsStream, standby.Consumer.Info.Name, t), cancellationToken)
                .ConfigureAwait(false);
            _unanswered.TryRemove(standby.Server, out _);
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is OperationCanceledException or NatsNoRespondersException)
        {
            _unanswered[standby.Server] = Stopwatch.GetTimestamp();
            return false;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is NatsJSApiException or NatsJSException)
        {
            // Gone (deleted, expired) or refused: this one is no standby; its server may be fine.
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Standby consumer {Consumer} of {Key} ready on server {Server} at stream seq {Start}")]
    private static partial void LogStandbyReady(ILogger logger, string consumer, string key, string server, ulong start);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Standby consumers of {Key} not all made now: {Error}")]
    private static partial void LogStandbyFailed(ILogger logger, string key, string error);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Consumer of {Key} stopped ({Reason}): switched to standby consumer {Consumer} on server {Server}, skipping what is applied up to stream seq {Skip}")]
    private static partial void LogSwitchedToStandby(ILogger logger, string key, string reason, string consumer, string server, ulong skip);
}
