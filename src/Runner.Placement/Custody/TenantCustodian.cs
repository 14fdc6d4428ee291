using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using Runner.Nats;

namespace Runner.Placement.Custody;

/// <summary>
/// Custody of tenants' state on one node, through NATS: a home record per tenant (KV, compare-and-set on its revision,
/// the epoch being the fencing token), the state itself carried through an object store, and the node's LMDB fences.
/// <list type="bullet">
/// <item>Acquire (before a tenant starts here): no record → this node becomes the owner; owner here → run; released →
/// import the exported state, then take ownership by CAS; owned by another node → refused (reported, asked again by
/// the tenant), and that node is asked to release it if placement no longer runs it there.</item>
/// <item>Release (after a handed-off tenant stopped here): if placement names another node that is up → fence the
/// tenant here, export it, store the export, CAS the record to released, delete the local copy (the fence stays).</item>
/// <item>Fencing: every node watches the homes bucket; a record naming another owner with a newer epoch fences the
/// tenant here, so a stale owner's writes are refused by its own journal.</item>
/// <item>With journal replication (an <see cref="ITenantLog"/>): every grant opens the tenant's replica log first (a node
/// holding nothing rebuilds from it); a release leaves the state in the log instead of an object; and a tenant whose owner
/// left the cluster (downed or removed) is taken over by compare-and-set and rebuilt from its log.</item>
/// </list>
/// </summary>
public sealed partial class TenantCustodian : ITenantCustody, IAsyncDisposable
{
    /// <summary>How often a draining node looks again for a joining member that came Up (<see cref="CustodySettings.JoiningWait"/>).</summary>
    private static readonly TimeSpan JoiningPoll = TimeSpan.FromMilliseconds(200);

    private readonly ActorSystem _system;
    private readonly INatsConnection _connection;
    private readonly INatsJSContext _js;
    private readonly IActorRef _placement;
    private readonly PlacementSettings _placementSettings;
    private readonly CustodySettings _settings;
    private readonly string _shardId;
    private readonly string _subjectPrefix;
    private readonly ILogger _logger;
    private readonly ITenantStateStore _state;
    private readonly TenantHomes _homes;
    private readonly ITenantLog? _log;
    private readonly ConcurrentDictionary<string, long> _owned = new(StringComparer.Ordinal);
    // Tenants running here, with the lease of the grant they run on.
    private readonly ConcurrentDictionary<string, long> _running = new(StringComparer.Ordinal);
    private long _leases;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private INatsObjStore? _objects;
    private Task _loops = Task.CompletedTask;

    /// <summary>Creates the custodian of node <paramref name="shardId"/>.</summary>
    public TenantCustodian(ActorSystem system, ITenantStateStore state, INatsConnection connection, INatsJSContext js, IActorRef placementView,
        PlacementSettings placementSettings, CustodySettings settings, string shardId, string subjectPrefix, ILogger<TenantCustodian> logger,
        ITenantLog? log = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        _system = system;
        _connection = connection;
        _js = js;
        _placement = placementView;
        _placementSettings = placementSettings;
        _settings = settings;
        _shardId = shardId;
        _subjectPrefix = subjectPrefix;
        _logger = logger;
        ArgumentNullException.ThrowIfNull(state);
        _state = state;
        _homes = new TenantHomes(js, settings);
        _log = log;
    }

    /// <summary>The home records.</summary>
    public TenantHomes Homes => _homes;

    /// <summary>Subject on which node <paramref name="shardId"/> takes release requests.</summary>
    public static string ReleaseSubject(string subjectPrefix, string shardId) => $"{subjectPrefix}.custody.release.{shardId}";

    /// <summary>
    /// Opens the buckets (created when missing and allowed; a missing one in validate mode, or one whose replicas differ
    /// from <c>runner.nats.streams.replicas</c>, is an error that stops the start) and starts answering release requests
    /// and following the homes bucket.
    /// </summary>
    /// <exception cref="InvalidOperationException">A bucket is missing and may not be created, or its replicas differ.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _homes.StoreAsync(cancellationToken).ConfigureAwait(false);
        _objects = await OpenObjectsAsync(cancellationToken).ConfigureAwait(false);
        _loops = Task.WhenAll(
            Forever("release requests", ServeReleaseRequestsAsync),
            Forever("homes watch", WatchHomesAsync));
    }

    /// <summary>
    /// Creates or validates custody's buckets (the home records and the state object store) as <see cref="StartAsync"/>
    /// opens them, so a node can check them before it starts anything.
    /// </summary>
    /// <exception cref="InvalidOperationException">A bucket is missing and may not be created, or its replicas differ.</exception>
    public static async Task EnsureStoresAsync(INatsJSContext js, CustodySettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        await new TenantHomes(js, settings).StoreAsync(cancellationToken).ConfigureAwait(false);
        await StreamProvisioner.EnsureObjectStoreAsync(js, settings.StateConfig, settings.NotCreatedBecause, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<CustodyDecision> AcquireAsync(string tenant, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(tenant, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var (home, revision) = await _homes.GetAsync(tenant, cancellationToken).ConfigureAwait(false);
                if (home is null)
                {
                    var first = new TenantHome(_shardId, 1, TenantHome.Active, null, null, DateTimeOffset.UtcNow, "first start");
                    if (!await _homes.CompareAndSetAsync(tenant, first, revision, cancellationToken).ConfigureAwait(false)) continue;
                    return await Granted(tenant, first.Epoch, "new tenant, home record created", false, cancellationToken).ConfigureAwait(false);
                }

                if (home.IsActiveOn(_shardId))
                    return await Granted(tenant, home.Epoch, $"state is local (epoch {home.Epoch})", false, cancellationToken).ConfigureAwait(false);

                if (home.Status == TenantHome.Released && home.StateObject is null)
                {
                    // Released into its replica log: rebuilt from it here (opening the log does, with nothing of it held here).
                    if (_log is null) return new CustodyDecision(false, $"released by {home.ShardId} into its replica log, but journal replication is off on {_shardId}");
                    var fromLog = new TenantHome(_shardId, home.Epoch + 1, TenantHome.Active, null, null, DateTimeOffset.UtcNow, $"moved from {home.ShardId} through its replica log");
                    if (!await _homes.CompareAndSetAsync(tenant, fromLog, revision, cancellationToken).ConfigureAwait(false)) continue;
                    await _state.DeleteAsync(tenant).ConfigureAwait(false);
                    return await Granted(tenant, fromLog.Epoch, $"moved from {home.ShardId}", false, cancellationToken).ConfigureAwait(false);
                }

                if (home.Status == TenantHome.Released)
                {
                    var imported = await ImportAsync(tenant, home, cancellationToken).ConfigureAwait(false);
                    if (imported is null) return new CustodyDecision(false, $"released by {home.ShardId} but its state object {home.StateObject} cannot be read");
                    var next = new TenantHome(_shardId, home.Epoch + 1, TenantHome.Active, null, null, DateTimeOffset.UtcNow, $"moved from {home.ShardId}");
                    if (!await _homes.CompareAndSetAsync(tenant, next, revision, cancellationToken).ConfigureAwait(false))
                    {
                        // Another node took it first: what was imported here is not ours.
                        await _state.DeleteAsync(tenant).ConfigureAwait(false);
                        continue;
                    }

                    await DeleteObjectAsync(home.StateObject).ConfigureAwait(false);
                    return await Granted(tenant, next.Epoch, $"moved from {home.ShardId}: {imported}", true, cancellationToken).ConfigureAwait(false);
                }

                if (_log is not null && OwnerLeftCluster(home.ShardId))
                {
                    // Only what a log holds can be taken over: a tenant its owner ran without replication is only on that disk.
                    if (!await _log.ExistsAsync(tenant, cancellationToken).ConfigureAwait(false))
                        return new CustodyDecision(false,
                            $"held by {home.ShardId} (epoch {home.Epoch}), which left the cluster, and it has no replica log (it ran there without replication): " +
                            $"its state is only on {home.ShardId}'s disk; start {home.ShardId} again, or override custody accepting the loss");

                    // Its owner is gone (downed or removed) without releasing it: with its journal in the replica log nothing is
                    // lost, and the open marker this node appends fences the old owner should it ever come back.
                    var taken = new TenantHome(_shardId, home.Epoch + 1, TenantHome.Active, null, null, DateTimeOffset.UtcNow,
                        $"taken over from {home.ShardId}, which left the cluster; rebuilt from its replica log");
                    if (!await _homes.CompareAndSetAsync(tenant, taken, revision, cancellationToken).ConfigureAwait(false)) continue;
                    await _state.DeleteAsync(tenant).ConfigureAwait(false);
                    LogTakenOver(_logger, tenant, home.ShardId, taken.Epoch);
                    return await Granted(tenant, taken.Epoch, $"taken over from {home.ShardId} (left the cluster)", false, cancellationToken).ConfigureAwait(false);
                }

                // Owned by another node: ask it to let go (it does if it no longer runs the tenant), and wait our turn.
                var answer = await RequestReleaseAsync(tenant, home.ShardId, cancellationToken).ConfigureAwait(false);
                return new CustodyDecision(false, $"held by {home.ShardId} (epoch {home.Epoch}); release requested: {answer}");
            }

            return new CustodyDecision(false, "its home record kept changing; trying again");
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<string> ReleaseAsync(string tenant, CancellationToken cancellationToken)
    {
        _running.TryRemove(tenant, out _);
        var gate = _locks.GetOrAdd(tenant, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await ShipIfPlacedElsewhereAsync(tenant, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public void Stopped(string tenant, long lease) => _running.TryRemove(new KeyValuePair<string, long>(tenant, lease));

    private async Task<CustodyDecision> Granted(string tenant, long epoch, string detail, bool imported, CancellationToken cancellationToken)
    {
        if (_state.IsFenced(tenant)) await _state.UnfenceAsync(tenant).ConfigureAwait(false);
        // The state in line with its replica log before anything of the tenant runs; a failure leaves it refused (asked again).
        if (_log is not null) detail += "; " + await _log.OpenAsync(tenant, epoch, imported, cancellationToken).ConfigureAwait(false);
        _owned[tenant] = epoch;
        var lease = Interlocked.Increment(ref _leases);
        _running[tenant] = lease;
        return new CustodyDecision(true, detail) { Lease = lease };
    }

    /// <summary>Whether no member with <paramref name="shardId"/> is in the cluster any more (none, or only downed or removed ones).</summary>
    private bool OwnerLeftCluster(string shardId) =>
        !Akka.Cluster.Cluster.Get(_system).State.Members.Any(m =>
            m.Status is not (Akka.Cluster.MemberStatus.Down or Akka.Cluster.MemberStatus.Removed) &&
            string.Equals(PlacementRoles.ShardIdOf(m.Roles), shardId, StringComparison.Ordinal));

    private bool Leaving => CoordinatedShutdown.Get(_system).ShutdownReason is not null ||
                            Akka.Cluster.Cluster.Get(_system).SelfMember.Status is not (Akka.Cluster.MemberStatus.Up or Akka.Cluster.MemberStatus.WeaklyUp);

    /// <summary>Whether another member is joining the cluster (not Up yet, so not in the placement view).</summary>
    private bool MemberJoining
    {
        get
        {
            var cluster = Akka.Cluster.Cluster.Get(_system);
            return cluster.State.Members.Any(m => m.Status == Akka.Cluster.MemberStatus.Joining && m.Address != cluster.SelfAddress);
        }
    }

    /// <summary>Where placement puts the tenant now; a draining (shutting down) node is no place for it any more.</summary>
    private async Task<PlacementDecision> DestinationAsync(string tenant, CancellationToken cancellationToken)
    {
        var snapshot = await _placement.Ask<PlacementSnapshot>(PlacementView.GetPlacement.Instance, _placementSettings.AskTimeout, cancellationToken)
            .ConfigureAwait(false);
        // Even while it is still an Up member: an open tenant goes to another open node, and one bound to this node (allowlist,
        // bucket) keeps its state here.
        if (Leaving) snapshot = snapshot with { Members = snapshot.Members.RemoveAll(m => m.ShardId == _shardId) };
        return snapshot.Resolve(tenant);
    }

    private async Task<string> ShipIfPlacedElsewhereAsync(string tenant, CancellationToken cancellationToken)
    {
        var (home, revision) = await _homes.GetAsync(tenant, cancellationToken).ConfigureAwait(false);
        if (home is null || !home.IsActiveOn(_shardId)) return $"{_shardId} does not own it; nothing to release";

        PlacementDecision decision;
        try
        {
            decision = await DestinationAsync(tenant, cancellationToken).ConfigureAwait(false);
            // A draining node with nowhere to send the tenant gives a member that is still joining (started just before the drain) the
            // time to come Up and take it, rather than keeping the state on a node that is going away.
            var joiningUntil = DateTime.UtcNow + _settings.JoiningWait;
            while (decision.Member is null && Leaving && MemberJoining && DateTime.UtcNow < joiningUntil)
            {
                await Task.Delay(JoiningPoll, cancellationToken).ConfigureAwait(false);
                decision = await DestinationAsync(tenant, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (AskTimeoutException)
        {
            return $"state kept on {_shardId}: the placement view did not answer";
        }

        if (decision.Member is not { } target || target.ShardId == _shardId) return $"state kept on {_shardId}: {decision.Describe()}";

        var epoch = home.Epoch + 1;
        await _state.FenceAsync(tenant, $"released to {target.ShardId} (epoch {epoch})").ConfigureAwait(false);
        try
        {
            if (_log is not null)
            {
                // With replication the state travels in its replica log: left there as one base, rebuilt from it by the next owner.
                var closed = await _log.CloseAsync(tenant, cancellationToken).ConfigureAwait(false);
                var intoLog = new TenantHome(_shardId, epoch, TenantHome.Released, target.ShardId, null, DateTimeOffset.UtcNow, $"placed on {target.ShardId}");
                if (!await _homes.CompareAndSetAsync(tenant, intoLog, revision, cancellationToken).ConfigureAwait(false))
                    return "its home record changed meanwhile (operator override?); the state stays here, fenced";
                _owned.TryRemove(tenant, out _);
                await _state.DeleteAsync(tenant).ConfigureAwait(false);
                LogReleasedIntoLog(_logger, tenant, target.ShardId, epoch, closed);
                return $"released to {target.ShardId} through its replica log (epoch {epoch}): {closed}";
            }

            var data = await _state.ExportAsync(tenant).ConfigureAwait(false);
            var name = $"{tenant}/{epoch}";
            await _objects!.PutAsync(name, data, cancellationToken).ConfigureAwait(false);
            var released = new TenantHome(_shardId, epoch, TenantHome.Released, target.ShardId, name, DateTimeOffset.UtcNow, $"placed on {target.ShardId}");
            if (!await _homes.CompareAndSetAsync(tenant, released, revision, cancellationToken).ConfigureAwait(false))
                return "its home record changed meanwhile (operator override?); the state stays here, fenced";
            _owned.TryRemove(tenant, out _);
            await _state.DeleteAsync(tenant).ConfigureAwait(false);
            LogReleased(_logger, tenant, target.ShardId, data.Length, epoch);
            return $"released to {target.ShardId} ({data.Length} bytes, epoch {epoch})";
        }
        catch
        {
            // Not released: the state is still this node's to run.
            await _state.UnfenceAsync(tenant).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<string?> ImportAsync(string tenant, TenantHome home, CancellationToken cancellationToken)
    {
        byte[] data;
        try
        {
            data = await _objects!.GetBytesAsync(home.StateObject ?? "", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsObjException or NatsJSException)
        {
            LogObjectMissing(_logger, e, tenant, home.StateObject ?? "");
            return null;
        }

        TenantImport summary;
        try
        {
            summary = await _state.ImportAsync(tenant, data).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            // Verified before anything is written: this node's store is untouched, the record still says released.
            LogObjectMissing(_logger, e, tenant, home.StateObject ?? "");
            return null;
        }

        LogImported(_logger, tenant, home.ShardId, summary.PersistenceIds, summary.Events, summary.Snapshots, summary.Bytes);
        return $"{summary.PersistenceIds} persistence ids, {summary.Events} events, {summary.Snapshots} snapshots, {summary.Bytes} bytes";
    }

    private async Task<string> RequestReleaseAsync(string tenant, string owner, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await _connection.RequestAsync<string, string>(ReleaseSubject(_subjectPrefix, owner), tenant,
                replyOpts: new NatsSubOpts { Timeout = _settings.RequestTimeout }, cancellationToken: cancellationToken).ConfigureAwait(false);
            return reply.Data ?? "no answer";
        }
        catch (Exception e) when (e is NatsNoRespondersException or NatsNoReplyException or TimeoutException or OperationCanceledException)
        {
            return $"{owner} does not answer";
        }
    }

    private async Task ServeReleaseRequestsAsync(CancellationToken token)
    {
        await foreach (var msg in _connection.SubscribeAsync<string>(ReleaseSubject(_subjectPrefix, _shardId), cancellationToken: token).ConfigureAwait(false))
        {
            var tenant = msg.Data ?? "";
            string answer;
            if (!Sagas.TenantId.IsValid(tenant)) answer = $"'{tenant}' is not a tenant id";
            else if (_running.ContainsKey(tenant)) answer = $"{tenant} runs on {_shardId}; it moves when placement hands it off";
            else
            {
                try
                {
                    answer = await ReleaseAsync(tenant, token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    answer = $"release failed on {_shardId}: {e.Message}";
                }
            }

            await msg.ReplyAsync(answer, cancellationToken: token).ConfigureAwait(false);
        }
    }

    private async Task WatchHomesAsync(CancellationToken token)
    {
        var store = await _homes.StoreAsync(token).ConfigureAwait(false);
        await foreach (var entry in store.WatchAsync<byte[]>(cancellationToken: token).ConfigureAwait(false))
        {
            if (TenantHome.FromBytes(entry.Value) is not { Status: TenantHome.Active } home || home.ShardId == _shardId) continue;
            if (home.Epoch <= _owned.GetValueOrDefault(entry.Key) && _owned.ContainsKey(entry.Key)) continue;
            var tenant = entry.Key;
            if (!Sagas.TenantId.IsValid(tenant) || _state.IsFenced(tenant)) continue;
            await _state.FenceAsync(tenant, $"owned by {home.ShardId} (epoch {home.Epoch})").ConfigureAwait(false);
            if (_owned.TryRemove(tenant, out var mine)) LogStaleOwner(_logger, tenant, home.ShardId, home.Epoch, mine);
        }
    }

    private Task<INatsObjStore> OpenObjectsAsync(CancellationToken token) =>
        StreamProvisioner.EnsureObjectStoreAsync(_js, _settings.StateConfig, _settings.NotCreatedBecause, _settings.Placement, token);

    private async Task DeleteObjectAsync(string? name)
    {
        if (string.IsNullOrEmpty(name)) return;
        try
        {
            await _objects!.DeleteAsync(name).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsObjException or NatsJSException)
        {
            // The home record no longer points at it; a leftover object only costs space.
        }
    }

    private async Task Forever(string what, Func<CancellationToken, Task> loop)
    {
        var backoff = _settings.WatchMinBackoff;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await loop(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogLoopFailed(_logger, e, what, backoff);
            }

            try
            {
                await Task.Delay(backoff, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(_settings.WatchMaxBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loops.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} released to {Target}: {Bytes} bytes exported, epoch {Epoch}; local copy deleted and fenced")]
    private static partial void LogReleased(ILogger logger, string tenant, string target, int bytes, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} released to {Target} through its replica log (epoch {Epoch}): {Closed}; local copy deleted and fenced")]
    private static partial void LogReleasedIntoLog(ILogger logger, string tenant, string target, long epoch, string closed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant} taken over from {Owner}, which left the cluster without releasing it (epoch {Epoch}): rebuilding it from its replica log")]
    private static partial void LogTakenOver(ILogger logger, string tenant, string owner, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} imported from {From}: {Pids} persistence ids, {Events} events, {Snapshots} snapshots, {Bytes} bytes")]
    private static partial void LogImported(ILogger logger, string tenant, string from, int pids, int events, int snapshots, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {Tenant}: released state object {Object} cannot be read or is corrupt; the tenant stays stopped")]
    private static partial void LogObjectMissing(ILogger logger, Exception exception, string tenant, string @object);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {Tenant} is now owned by {Owner} (epoch {Epoch}, ours was {Mine}): fenced here, its writes are refused")]
    private static partial void LogStaleOwner(ILogger logger, string tenant, string owner, long epoch, long mine);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Custody {What} failed; again in {Backoff}")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception, string what, TimeSpan backoff);
}
