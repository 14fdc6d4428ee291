using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.ObjectStore;
using Runner.Nats;
using Runner.Persistence.Lmdb;
using Runner.Placement.Custody;

namespace Runner.Placement.Lmdb;

/// <summary>
/// Journal replication (<c>runner.replication</c>): every write of a tenant's saga instances and checkpoints goes to the
/// tenant's replica log (a JetStream subject, replicated by JetStream's Raft) before it is applied to the node's LMDB, so
/// a node lost with its disk loses nothing that was acknowledged.
/// <list type="bullet">
/// <item>Appends: per tenant one at a time, each naming the sequence it expects last on the tenant's subject
/// (<c>Nats-Expected-Last-Subject-Sequence</c>): a node whose tenant was opened elsewhere can never append again; it
/// fences the tenant. Writes arriving while an append is in flight go out together in the next one. After JetStream's
/// acknowledgement the same bytes are applied to LMDB, with the log position, in one transaction.</item>
/// <item>Open (custody granted, before the tenant runs): a node without the tenant's state rebuilds it from the log (the
/// latest base plus the appends after it); a node with it drops from the log what it never stored (appends after its
/// position, e.g. acknowledged by JetStream just before a crash); either way the open marker it appends fences every
/// other writer.</item>
/// <item>Bases: every <see cref="ReplicationSettings.CompactEvery"/> appends the tenant's state is exported to the custody
/// state bucket, a base marker appended, and the log purged up to the export's position.</item>
/// </list>
/// </summary>
public sealed partial class JournalReplicator : IStoreReplicator, ITenantLog, IAsyncDisposable
{
    private const string ExpectedLastSubjectSequence = "Nats-Expected-Last-Subject-Sequence";

    // JetStream: wrong last sequence (10071); no message found (10037).
    private const int WrongLastSequence = 10071;

    private readonly LmdbStateStore _store;
    private readonly LmdbTenantStateStore _tenants;
    private readonly INatsJSContext _js;
    private readonly ReplicationSettings _settings;
    private readonly CustodySettings _custody;
    private readonly string _prefix;
    private readonly string _shardId;
    private readonly ILogger _logger;
    private readonly string _writer = Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<string, TenantLog> _logs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private INatsObjStore? _objects;
    private long _sent;
    private long _reads;

    /// <summary>Creates the replicator of node <paramref name="shardId"/> over <paramref name="store"/>; <see cref="StartAsync"/> puts it in front of the store.</summary>
    public JournalReplicator(LmdbStateStore store, INatsJSContext js, ReplicationSettings settings, CustodySettings custody, string subjectPrefix,
        string shardId, ILogger<JournalReplicator> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(custody);
        _store = store;
        _tenants = new LmdbTenantStateStore(store);
        _js = js;
        _settings = settings;
        _custody = custody;
        _prefix = subjectPrefix;
        _shardId = shardId;
        _logger = logger;
    }

    /// <summary>Appends so far (writes and markers), for metrics and tests.</summary>
    public long Appends => Interlocked.Read(ref _sent);

    /// <summary>
    /// Creates or validates the stream of the replica logs and the state bucket holding their bases, as
    /// <see cref="StartAsync"/> opens them, so a node can check them before it starts anything.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stream or bucket is missing and may not be created, or differs.</exception>
    public static async Task EnsureStoresAsync(INatsJSContext js, ReplicationSettings settings, CustodySettings custody, string subjectPrefix,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(custody);
        await StreamProvisioner.EnsureStreamAsync(js, settings.StreamConfig(subjectPrefix), settings.CreateStream, settings.Placement, cancellationToken)
            .ConfigureAwait(false);
        await StreamProvisioner.EnsureObjectStoreAsync(js, custody.StateConfig, custody.NotCreatedBecause, custody.Placement, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Opens the stream and the state bucket, then puts the replicator in front of the store's journal and snapshot writes.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await StreamProvisioner.EnsureStreamAsync(_js, _settings.StreamConfig(_prefix), _settings.CreateStream, _settings.Placement, cancellationToken)
            .ConfigureAwait(false);
        _objects = await StreamProvisioner.EnsureObjectStoreAsync(_js, _custody.StateConfig, _custody.NotCreatedBecause, _custody.Placement, cancellationToken)
            .ConfigureAwait(false);
        _store.UseReplicator(this);
    }

    /// <summary>The replica logs this node writes, as of now, ordered by tenant.</summary>
    public IReadOnlyList<ReplicaLogState> Logs() =>
        _logs.Values.OrderBy(l => l.Tenant, StringComparer.Ordinal)
            .Select(l => new ReplicaLogState(l.Tenant, l.Opened, l.Last, l.Epoch, l.SinceBase, l.BaseObject, l.Fence)).ToList();

    /// <inheritdoc />
    public string? KeyOf(string persistenceId) => TenantKeys.TenantOfMoved(persistenceId);

    /// <inheritdoc />
    public Task ReplicateAsync(string key, byte[] record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var log = _logs.GetOrAdd(key, static t => new TenantLog(t));
        var pending = new Pending(record, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (log.Gate)
        {
            log.Queue.Enqueue(pending);
            if (!log.Pumping)
            {
                log.Pumping = true;
                log.Pump = Task.Run(() => PumpAsync(log));
            }
        }

        return pending.Done.Task;
    }

    /// <inheritdoc />
    public async Task<string> OpenAsync(string tenant, long epoch, bool imported, CancellationToken cancellationToken)
    {
        var log = _logs.GetOrAdd(tenant, static t => new TenantLog(t));
        await log.Io.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            log.Fence = null;
            log.Epoch = epoch;
            log.Opened = false;
            var what = await OpenCoreAsync(log, imported, cancellationToken).ConfigureAwait(false);
            LogOpened(_logger, tenant, epoch, what);
            return what;
        }
        finally
        {
            log.Io.Release();
        }
    }

    /// <inheritdoc />
    public async Task<bool> ExistsAsync(string tenant, CancellationToken cancellationToken) =>
        await LastSequenceAsync(Subject(tenant), cancellationToken).ConfigureAwait(false) > 0;

    /// <inheritdoc />
    public async Task<string> CloseAsync(string tenant, CancellationToken cancellationToken)
    {
        var log = _logs.GetOrAdd(tenant, static t => new TenantLog(t));
        Task pump;
        lock (log.Gate) pump = log.Pump;
        await pump.WaitAsync(cancellationToken).ConfigureAwait(false);
        await log.Io.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (log.Fence is { } fence) return $"fenced here ({fence}): its log stays as the other node left it";
            if (!_store.HasData(LmdbTenantStateStore.Selector(TenantKeys.MovedOf(tenant))))
            {
                _logs.TryRemove(new KeyValuePair<string, TenantLog>(tenant, log));
                return "nothing of it here: its log stays as it is";
            }

            // Opened again first when it is not open here: what JetStream holds but this store does not is dropped, and
            // state the log does not have (held from before replication) becomes its base.
            if (!log.Opened) await OpenCoreAsync(log, imported: false, cancellationToken).ConfigureAwait(false);
            var based = await CompactAsync(log, cancellationToken).ConfigureAwait(false);
            _logs.TryRemove(new KeyValuePair<string, TenantLog>(tenant, log));
            return $"its state is the log's base ({based})";
        }
        finally
        {
            log.Io.Release();
        }
    }

    private async Task PumpAsync(TenantLog log)
    {
        while (true)
        {
            var batch = new List<Pending>();
            long bytes = 0;
            lock (log.Gate)
            {
                while (log.Queue.Count > 0 && (batch.Count == 0 || bytes + log.Queue.Peek().Record.Length <= _settings.MaxAppendBytes))
                {
                    var next = log.Queue.Dequeue();
                    batch.Add(next);
                    bytes += next.Record.Length;
                }

                if (batch.Count == 0)
                {
                    log.Pumping = false;
                    return;
                }
            }

            await log.Io.WaitAsync().ConfigureAwait(false);
            try
            {
                await AppendWritesAsync(log, batch).ConfigureAwait(false);
                foreach (var p in batch) p.Done.TrySetResult();
            }
            catch (Exception e)
            {
                foreach (var p in batch) p.Done.TrySetException(e);
            }
            finally
            {
                log.Io.Release();
            }
        }
    }

    private async Task AppendWritesAsync(TenantLog log, List<Pending> batch)
    {
        if (log.Fence is { } fence) throw new PersistenceIdFencedException(TenantKeys.Checkpoints(log.Tenant), fence);
        if (batch.Count == 1 && batch[0].Record.Length > _settings.MaxAppendBytes)
            throw new InvalidOperationException(
                $"A write of tenant {log.Tenant} is {batch[0].Record.Length} bytes, more than runner.replication.max-append-bytes ({_settings.MaxAppendBytes}); it is refused.");
        if (!log.Opened) await OpenCoreAsync(log, imported: false, _stop.Token).ConfigureAwait(false);

        var records = batch.Select(p => p.Record).ToList();
        var seq = await AppendAsync(log, ReplicaLogMessage.Writes(records)).ConfigureAwait(false);
        try
        {
            await _store.CommitReplicatedAsync(log.Tenant, seq, records.Select(r => (ReadOnlyMemory<byte>)r).ToList()).ConfigureAwait(false);
        }
        catch
        {
            // The log has what the store refused: the next append (or the close) first drops it from the log.
            log.Opened = false;
            throw;
        }

        log.BytesSinceBase += records.Sum(r => (long)r.Length);
        // A base costs an export of the whole state: made once the appends since the last one are as large as it (and at
        // least compact-after-bytes), so its cost stays proportional to what was written, or after compact-every appends.
        if ((++log.SinceBase >= _settings.CompactEvery || log.BytesSinceBase >= Math.Max(_settings.CompactAfterBytes, log.BaseBytes)) && !log.Compacting)
        {
            log.Compacting = true;
            log.SinceBase = 0;
            log.BytesSinceBase = 0;
            _ = Task.Run(() => CompactInBackgroundAsync(log));
        }
    }

    /// <summary>Brings the log and the store in line; the caller holds the tenant's I/O gate.</summary>
    private async Task<string> OpenCoreAsync(TenantLog log, bool imported, CancellationToken ct)
    {
        var subject = Subject(log.Tenant);
        var selector = LmdbTenantStateStore.Selector(TenantKeys.MovedOf(log.Tenant));
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var last = await LastSequenceAsync(subject, ct).ConfigureAwait(false);
            log.Last = last;
            var position = _store.ReplicatedPosition(log.Tenant);
            if (!_store.HasData(selector))
            {
                var read = await ReadLogAsync(subject, last, ct).ConfigureAwait(false);
                var marker = await TryAppendMarkerAsync(log, ReplicaLogMessage.Open(last, log.Epoch, _shardId)).ConfigureAwait(false);
                if (marker is null) continue; // appended to meanwhile: read again
                await _store.RebuildAsync(LmdbTenantStateStore.Selector(TenantKeys.AllOf(log.Tenant)), read.Base, read.Records, log.Tenant, marker.Value)
                    .ConfigureAwait(false);
                log.Opened = true;
                log.BaseObject = read.BaseObject;
                log.SinceBase = read.Appends;
                log.BaseBytes = read.Base?.Length ?? 0;
                log.BytesSinceBase = read.Records.Sum(r => (long)r.Length);
                return read.BaseObject is null && read.Records.Count == 0
                    ? $"new replica log at position {marker}"
                    : $"rebuilt from its replica log: base {read.BaseObject ?? "none"}, {read.Appends} appends ({read.Records.Count} writes) after it, position {marker}";
            }

            // Taken as it is: state imported from the node that released it, or this node's own state at its position.
            var own = !imported && position > 0 && position <= last;
            var voidAfter = own ? position : last;
            var seq = await TryAppendMarkerAsync(log, ReplicaLogMessage.Open(voidAfter, log.Epoch, _shardId)).ConfigureAwait(false);
            if (seq is null) continue;
            await _store.SetReplicatedPositionAsync(log.Tenant, seq.Value).ConfigureAwait(false);
            log.Opened = true;
            if (own) return last > position ? $"local state at position {position}; appends after it dropped from the log" : $"local state at position {position}";

            // This node's state is not (or not known to be) in the log: imported from a node that released it without a log,
            // held from before replication was on, or ahead of a log that was lost. It becomes the log's base.
            var based = await CompactAsync(log, ct).ConfigureAwait(false);
            return $"local state was not in the replica log: exported as its base ({based})";
        }

        throw new InvalidOperationException($"The replica log of tenant {log.Tenant} kept changing while it was opened (another node appending?).");
    }

    private sealed record LogRead(byte[]? Base, string? BaseObject, List<ReadOnlyMemory<byte>> Records, int Appends);

    /// <summary>The latest base and every write after it, up to <paramref name="last"/>, without the void ones.</summary>
    private async Task<LogRead> ReadLogAsync(string subject, ulong last, CancellationToken ct)
    {
        var writes = new List<(ulong Seq, ReadOnlyMemory<byte> Record)>();
        var appends = 0;
        (ulong Position, string Name)? baseRef = null;
        var reached = 0UL;
        await foreach (var (seq, body) in ReadSubjectAsync(subject, last, ct).ConfigureAwait(false))
        {
            reached = seq;
            ReplicaLogMessage message;
            try
            {
                message = ReplicaLogMessage.Parse(body);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"Message {seq} on {subject} is not a replica log message: {e.Message}", e);
            }

            switch (message.Kind)
            {
                case ReplicaLogKind.Writes:
                    appends++;
                    foreach (var record in message.Records) writes.Add((seq, record));
                    break;
                case ReplicaLogKind.Open:
                    writes.RemoveAll(w => w.Seq > message.Position);
                    break;
                case ReplicaLogKind.Base:
                    baseRef = (message.Position, message.Object);
                    writes.RemoveAll(w => w.Seq <= message.Position);
                    appends = 0;
                    break;
            }
        }

        // The last message is never purged: a read that did not reach it missed part of the log (never rebuilt from that).
        if (reached != last)
            throw new InvalidOperationException($"Reading the replica log {subject} stopped at sequence {reached}, before its last, {last}; the tenant is opened again later.");

        byte[]? data = null;
        if (baseRef is { } b)
        {
            try
            {
                data = await _objects!.GetBytesAsync(b.Name, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsObjException or NatsJSException)
            {
                throw new InvalidOperationException($"The base {b.Name} of the replica log {subject} cannot be read: {e.Message}", e);
            }
        }

        return new LogRead(data, baseRef?.Name, writes.Select(w => w.Record).ToList(), appends);
    }

    /// <summary>
    /// The messages of <paramref name="subject"/> up to sequence <paramref name="last"/>, in order, fetched in batches through an
    /// ephemeral consumer filtered on the subject (deleted afterwards; JetStream also drops it when it stays idle).
    /// </summary>
    private async IAsyncEnumerable<(ulong Seq, ReadOnlyMemory<byte> Body)> ReadSubjectAsync(string subject, ulong last,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (last == 0) yield break;
        // Named (as every consumer of the runner: nats-server 2.9 refuses an unnamed one with a filter), dropped when idle.
        var name = $"replica-read-{_writer}-{Interlocked.Increment(ref _reads).ToString(CultureInfo.InvariantCulture)}";
        var consumer = await _js.CreateOrUpdateConsumerAsync(_settings.Stream, new ConsumerConfig(name)
        {
            FilterSubject = subject,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            AckPolicy = ConsumerConfigAckPolicy.None,
            MemStorage = true,
            NumReplicas = 1,
            InactiveThreshold = TimeSpan.FromMinutes(1),
        }, ct).ConfigureAwait(false);
        try
        {
            var next = 1UL;
            var empty = 0;
            while (next <= last)
            {
                var got = 0;
                // No wait: a batch is what the server has, up to 500 (a fetch that waits would wait out its expiry on the last one).
                await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 500, Expires = TimeSpan.FromSeconds(5) }, cancellationToken: ct)
                                   .ConfigureAwait(false))
                {
                    got++;
                    var seq = msg.Metadata?.Sequence.Stream ?? throw new InvalidDataException($"A message of {subject} came without its stream sequence.");
                    if (seq > last)
                    {
                        next = last + 1;
                        break;
                    }

                    next = seq + 1;
                    yield return (seq, msg.Data ?? []);
                }

                if (got > 0)
                {
                    empty = 0;
                }
                else if (++empty > 20)
                {
                    yield break; // the caller finds it short of the last sequence
                }
                else
                {
                    await Task.Delay(100, ct).ConfigureAwait(false); // a consumer that has not caught up with the stream yet
                }
            }
        }
        finally
        {
            try
            {
                await _js.DeleteConsumerAsync(_settings.Stream, name, CancellationToken.None).ConfigureAwait(false);
            }
            catch (NatsJSException)
            {
                // Gone already; an idle one is dropped by JetStream anyway.
            }
        }
    }

    private async Task CompactInBackgroundAsync(TenantLog log)
    {
        try
        {
            // The export and its upload run beside the tenant's appends; only the base marker waits for its turn among them.
            var prepared = await PrepareBaseAsync(log, _stop.Token).ConfigureAwait(false);
            if (prepared is not { } b) return;
            string? previous;
            await log.Io.WaitAsync(_stop.Token).ConfigureAwait(false);
            try
            {
                previous = log.Opened && log.Fence is null ? await CommitBaseAsync(log, b.Name, b.Position, b.Bytes, _stop.Token).ConfigureAwait(false) : b.Name;
            }
            finally
            {
                log.Io.Release();
            }

            await CleanUpAsync(log, b, previous, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogCompactionFailed(_logger, e, log.Tenant);
        }
        finally
        {
            log.Compacting = false;
        }
    }

    /// <summary>
    /// Exports the tenant's state at its log position as a new base, appends the base marker, purges the log up to it and
    /// deletes the previous base; the caller holds the tenant's I/O gate.
    /// </summary>
    private async Task<string> CompactAsync(TenantLog log, CancellationToken ct)
    {
        if (await PrepareBaseAsync(log, ct).ConfigureAwait(false) is not { } b) return "nothing at a log position yet";
        var previous = await CommitBaseAsync(log, b.Name, b.Position, b.Bytes, ct).ConfigureAwait(false);
        await CleanUpAsync(log, b, previous, ct).ConfigureAwait(false);
        return $"{b.Name}, {b.Bytes} bytes";
    }

    private sealed record PreparedBase(string Name, ulong Position, int Bytes);

    /// <summary>The tenant's state at its log position, exported and stored as a base object; null when it has no position yet.</summary>
    private async Task<PreparedBase?> PrepareBaseAsync(TenantLog log, CancellationToken ct)
    {
        var (data, position) = await _store.ExportReplicatedAsync(LmdbTenantStateStore.Selector(TenantKeys.MovedOf(log.Tenant)), log.Tenant).ConfigureAwait(false);
        if (position == 0) return null;
        var name = $"{log.Tenant}/base/{position.ToString(CultureInfo.InvariantCulture)}";
        await _objects!.PutAsync(name, data, ct).ConfigureAwait(false);
        return new PreparedBase(name, position, data.Length);
    }

    /// <summary>Appends the base marker (the caller holds the tenant's I/O gate); returns the base it replaces, if known.</summary>
    private async Task<string?> CommitBaseAsync(TenantLog log, string name, ulong position, int bytes, CancellationToken ct)
    {
        var previous = log.BaseObject ?? await FirstBaseAsync(Subject(log.Tenant), log.Last, ct).ConfigureAwait(false);
        var seq = await AppendAsync(log, ReplicaLogMessage.Base(position, name)).ConfigureAwait(false);
        await _store.SetReplicatedPositionAsync(log.Tenant, seq).ConfigureAwait(false);
        log.BaseObject = name;
        log.BaseBytes = bytes;
        return previous;
    }

    /// <summary>Purges the log up to the base's position and deletes <paramref name="doomed"/> (the base it replaced, or itself when it was not committed).</summary>
    private async Task CleanUpAsync(TenantLog log, PreparedBase b, string? doomed, CancellationToken ct)
    {
        if (log.BaseObject == b.Name)
        {
            // Everything before the base's position is in it; the message at the position stays, so the subject keeps a last
            // sequence. (JetStream reads a purge up to sequence 0 or 1 as no bound at all: nothing is before it anyway.)
            if (b.Position > 1)
                await _js.PurgeStreamAsync(_settings.Stream, new StreamPurgeRequest { Filter = Subject(log.Tenant), Seq = b.Position }, ct).ConfigureAwait(false);
            LogCompacted(_logger, log.Tenant, b.Name, b.Bytes, b.Position);
        }

        if (doomed is null || (doomed == b.Name && log.BaseObject == b.Name)) return;
        try
        {
            await _objects!.DeleteAsync(doomed, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsObjException or NatsJSException)
        {
            // Already gone; nothing refers to it any more.
        }
    }

    /// <summary>The object of the first base marker on the subject (the latest base, after a purge), or null.</summary>
    private async Task<string?> FirstBaseAsync(string subject, ulong last, CancellationToken ct)
    {
        ulong next = 1;
        while (next <= last)
        {
            var stored = await NextAsync(subject, next, ct).ConfigureAwait(false);
            if (stored is null) return null;
            next = stored.Value.Seq + 1;
            if (ReplicaLogMessage.Parse(stored.Value.Body) is { Kind: ReplicaLogKind.Base } b) return b.Object;
        }

        return null;
    }

    /// <summary>Appends a marker; null when the subject moved past the expected sequence (the caller reads it again).</summary>
    private async Task<ulong?> TryAppendMarkerAsync(TenantLog log, byte[] body)
    {
        try
        {
            return await AppendAsync(log, body, fenceOnConflict: false).ConfigureAwait(false);
        }
        catch (ReplicaLogConflictException)
        {
            return null;
        }
    }

    private async Task<ulong> AppendAsync(TenantLog log, byte[] body, bool fenceOnConflict = true)
    {
        var subject = Subject(log.Tenant);
        var msgId = $"{_writer}-{Interlocked.Increment(ref _sent).ToString(CultureInfo.InvariantCulture)}";
        var headers = new NatsHeaders
        {
            ["Nats-Msg-Id"] = msgId,
            [ExpectedLastSubjectSequence] = log.Last.ToString(CultureInfo.InvariantCulture),
            ["Runner-Epoch"] = log.Epoch.ToString(CultureInfo.InvariantCulture),
            ["Runner-Shard"] = _shardId,
        };
        var giveUp = DateTime.UtcNow + _settings.GiveUpAfter;
        var wait = TimeSpan.FromMilliseconds(50);
        string failure;
        while (true)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(_settings.AppendTimeout);
                var ack = await _js.PublishAsync(subject, body, headers: headers, cancellationToken: timeout.Token).ConfigureAwait(false);
                if (ack.Error is null)
                {
                    // A duplicate (an earlier try of this message was stored) answers with the stored sequence.
                    log.Last = ack.Seq;
                    return ack.Seq;
                }

                // A try that timed out may have been stored: a JetStream cluster checks the expected sequence before the
                // message id, so trying it again answers "wrong last sequence" instead of "duplicate". Ours, then.
                if (ack.Error.ErrCode == WrongLastSequence && await LastIfOursAsync(subject, msgId).ConfigureAwait(false) is { } stored)
                {
                    log.Last = stored;
                    return stored;
                }

                if (ack.Error.ErrCode == WrongLastSequence)
                {
                    log.Opened = false;
                    if (!fenceOnConflict) throw new ReplicaLogConflictException(subject);
                    var reason = $"another node appended to its replica log {subject} (this node expected sequence {log.Last} last)";
                    await FenceAsync(log, reason).ConfigureAwait(false);
                    throw new PersistenceIdFencedException(TenantKeys.Checkpoints(log.Tenant), reason);
                }

                failure = $"JetStream refused the append: {ack.Error.Description} ({ack.Error.ErrCode})";
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                failure = $"no acknowledgement within {_settings.AppendTimeout.TotalSeconds:0.#} s";
            }
            catch (NatsException e)
            {
                failure = e.Message;
            }

            if (DateTime.UtcNow + wait > giveUp)
            {
                // It may have been stored after all: the log position is unknown until the tenant's log is opened again.
                log.Opened = false;
                throw new TimeoutException($"The replica log {subject} did not take an append within {_settings.GiveUpAfter.TotalSeconds:0} s: {failure}");
            }

            LogAppendRetry(_logger, subject, failure);
            await Task.Delay(wait, _stop.Token).ConfigureAwait(false); // a bounded back-off while JetStream elects or reconnects
            // Short: a server that is back (a restart, an election) should see the append again within a moment.
            wait = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(250).Ticks, wait.Ticks * 2));
        }
    }

    private async Task FenceAsync(TenantLog log, string reason)
    {
        log.Fence = reason;
        log.Opened = false;
        LogFenced(_logger, log.Tenant, reason);
        await _tenants.FenceAsync(log.Tenant, reason).ConfigureAwait(false);
    }

    /// <summary>The sequence of the subject's last message when it carries <paramref name="msgId"/>, else null.</summary>
    private async Task<ulong?> LastIfOursAsync(string subject, string msgId) =>
        await GetAsync(new StreamMsgGetRequest { LastBySubj = subject }, _stop.Token).ConfigureAwait(false) is { } m &&
        HeaderLines(m.Hdrs).Contains($"Nats-Msg-Id: {msgId}\r\n", StringComparison.Ordinal)
            ? m.Seq
            : null;

    /// <summary>A stored message's headers as text (JetStream hands them over base64-encoded).</summary>
    private static string HeaderLines(object? headers) => headers switch
    {
        string b64 when b64.Length > 0 => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(b64)),
        ReadOnlyMemory<byte> bytes => System.Text.Encoding.UTF8.GetString(bytes.Span),
        byte[] bytes => System.Text.Encoding.UTF8.GetString(bytes),
        _ => "",
    };

    private async Task<ulong> LastSequenceAsync(string subject, CancellationToken ct) =>
        (await GetAsync(new StreamMsgGetRequest { LastBySubj = subject }, ct).ConfigureAwait(false))?.Seq ?? 0;

    private async Task<(ulong Seq, ReadOnlyMemory<byte> Body)?> NextAsync(string subject, ulong from, CancellationToken ct) =>
        await GetAsync(new StreamMsgGetRequest { Seq = from, NextBySubj = subject }, ct).ConfigureAwait(false) is { } m ? (m.Seq, m.Data) : null;

    /// <summary>One stored message of the stream (JetStream's direct get), or null when there is none.</summary>
    private async Task<StoredMessage?> GetAsync(StreamMsgGetRequest request, CancellationToken ct)
    {
        try
        {
            var response = await _js.JSRequestResponseAsync<StreamMsgGetRequest, StreamMsgGetResponse>(
                $"{_js.Opts.Prefix}.STREAM.MSG.GET.{_settings.Stream}", request, ct).ConfigureAwait(false);
            return response.Message;
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return null;
        }
    }

    private string Subject(string tenant) => ReplicationSettings.Subject(_prefix, tenant);

    /// <inheritdoc />
    /// <remarks>
    /// The store keeps the replicator: a write after this fails (it is never written to this node alone), as the tenants
    /// have stopped by then.
    /// </remarks>
    public async ValueTask DisposeAsync() => await _stop.CancelAsync().ConfigureAwait(false);

    private sealed record Pending(byte[] Record, TaskCompletionSource Done);

    /// <summary>One tenant's log as this node writes it. Fields other than the queue are used under <see cref="Io"/>.</summary>
    private sealed class TenantLog(string tenant)
    {
        public string Tenant { get; } = tenant;
        public object Gate { get; } = new();
        public Queue<Pending> Queue { get; } = new();
        public SemaphoreSlim Io { get; } = new(1, 1);
        public bool Pumping { get; set; }
        public Task Pump { get; set; } = Task.CompletedTask;
        public bool Opened { get; set; }
        public ulong Last { get; set; }
        public long Epoch { get; set; }
        public string? Fence { get; set; }
        public int SinceBase { get; set; }
        public long BytesSinceBase { get; set; }
        public long BaseBytes { get; set; }
        public volatile bool Compacting;
        public string? BaseObject { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} replica log opened (epoch {Epoch}): {What}")]
    private static partial void LogOpened(ILogger logger, string tenant, long epoch, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} replica log compacted: base {Object} ({Bytes} bytes) at position {Position}")]
    private static partial void LogCompacted(ILogger logger, string tenant, string @object, int bytes, ulong position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant} replica log compaction failed; tried again after the next appends")]
    private static partial void LogCompactionFailed(ILogger logger, Exception exception, string tenant);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Append to replica log {Subject} sent again: {Failure}")]
    private static partial void LogAppendRetry(ILogger logger, string subject, string failure);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {Tenant} fenced on this node: {Reason}")]
    private static partial void LogFenced(ILogger logger, string tenant, string reason);
}

/// <summary>One tenant's replica log as this node writes it.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Opened">Whether this node opened it and its position is known.</param>
/// <param name="Position">The last sequence of its subject this node knows.</param>
/// <param name="Epoch">The custody epoch it was opened with.</param>
/// <param name="AppendsSinceBase">Appends since its latest base.</param>
/// <param name="BaseObject">Its latest base, when known here.</param>
/// <param name="Fence">Why it is fenced here, or null.</param>
public sealed record ReplicaLogState(string Tenant, bool Opened, ulong Position, long Epoch, int AppendsSinceBase, string? BaseObject, string? Fence);

/// <summary>A replica log append found another append where it expected its own predecessor.</summary>
internal sealed class ReplicaLogConflictException(string subject) : Exception($"The replica log {subject} was appended to by another node.");
