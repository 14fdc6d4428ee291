using System.Collections.Concurrent;
using LightningDB;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>
/// One LMDB environment and its databases. Writes from every plugin go through one writer thread that
/// group-commits queued requests into a single write transaction (each request in its own nested transaction,
/// so one failing request does not take its neighbours down). Reads run in short read-only transactions on the
/// caller's thread. No transaction ever spans an await or moves between threads.
/// </summary>
internal sealed partial class LmdbStore : IDisposable
{
    private readonly LightningEnvironment _env;
    private readonly BlockingCollection<WriteRequest> _queue = new();
    private readonly Thread _writer;
    private readonly ReaderWriterLockSlim _resizeLock = new(LockRecursionPolicy.NoRecursion);
    // Bounded: a node that has seen millions of saga instances keeps the ids of the recently used ones only.
    private readonly RecentNames<string, ulong> _pidIds;
    private readonly RecentNames<ulong, string> _pidNames;
    private readonly RecentNames<string, ulong> _tagIds;
    private TaskCompletionSource _written = NewSignal();
    private int _disposed;

    // Counters owned by the writer thread; they only move forward when a transaction commits.
    private long _nextOrdering;
    private ulong _nextPidId;
    private ulong _nextTagId;

    internal LightningDatabase Meta { get; }
    internal LightningDatabase Pids { get; }
    internal LightningDatabase PidNames { get; }
    internal LightningDatabase Highest { get; }
    internal LightningDatabase Events { get; }
    internal LightningDatabase Tags { get; }
    internal LightningDatabase TagIndex { get; }
    internal LightningDatabase Snapshots { get; }
    internal LightningDatabase Fences { get; }
    internal LightningDatabase Replicated { get; }

    public LmdbStorageSettings Settings { get; }

    /// <summary>Current size of the memory map in bytes.</summary>
    public long MapSize => _env.MapSize;

    /// <summary>Number of committed write transactions (for tests and metrics).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    private long _commits;

    public LmdbStore(LmdbStorageSettings settings)
    {
        Settings = settings;
        _pidIds = new RecentNames<string, ulong>(settings.NameCacheSize, StringComparer.Ordinal);
        _pidNames = new RecentNames<ulong, string>(settings.NameCacheSize);
        _tagIds = new RecentNames<string, ulong>(settings.NameCacheSize, StringComparer.Ordinal);
        LmdbNativeLibrary.EnsureLoaded();
        Directory.CreateDirectory(settings.DataDirectory);

        var existing = ExistingMapSize(settings.DataDirectory);
        _env = new LightningEnvironment(settings.DataDirectory, new EnvironmentConfiguration
        {
            MapSize = Math.Min(Math.Max(settings.MapSize, existing), Math.Max(settings.MaxMapSize, existing)),
            MaxDatabases = 16,
            MaxReaders = settings.MaxReaders,
        });
        var flags = EnvironmentOpenFlags.NoThreadLocalStorage | EnvironmentOpenFlags.NoReadAhead;
        flags |= settings.Durability switch
        {
            LmdbDurability.NoMetaSync => EnvironmentOpenFlags.NoMetaSync,
            LmdbDurability.NoSync => EnvironmentOpenFlags.NoSync,
            _ => EnvironmentOpenFlags.None,
        };
        try
        {
            _env.Open(flags);
            // Reader slots of a process killed with SIGKILL stay claimed until someone clears them.
            _env.CheckStaleReaders();

            using var tx = _env.BeginTransaction();
            var create = new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create };
            Meta = tx.OpenDatabase("meta", create);
            Pids = tx.OpenDatabase("pids", create);
            PidNames = tx.OpenDatabase("pid-names", create);
            Highest = tx.OpenDatabase("highest", create);
            Events = tx.OpenDatabase("events", create);
            Tags = tx.OpenDatabase("tags", create);
            TagIndex = tx.OpenDatabase("tag-index", create);
            Snapshots = tx.OpenDatabase("snapshots", create);
            Fences = tx.OpenDatabase("fences", create);
            Replicated = tx.OpenDatabase("replicated", create);
            LoadFences(tx);
            _nextOrdering = (long)ReadCounter(tx, MetaKeys.Ordering) + 1;
            _nextPidId = ReadCounter(tx, MetaKeys.PidId) + 1;
            _nextTagId = ReadCounter(tx, MetaKeys.TagId) + 1;
            Check(tx.Commit(), "open");
        }
        catch
        {
            _env.Dispose();
            throw;
        }

        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "lmdb-writer:" + Path.GetFileName(settings.DataDirectory) };
        _writer.Start();
    }

    /// <summary>Completes after the next committed write transaction (wakes live queries).</summary>
    public Task WhenWritten => Volatile.Read(ref _written).Task;

    /// <summary>Highest ordering committed so far.</summary>
    public long MaxOrdering => Read(tx => (long)ReadCounter(tx, MetaKeys.Ordering));

    /// <summary>Internal id of the persistence id allocated last (0 when none): current queries of ids stop there.</summary>
    public ulong LastPersistenceIdKey => Read(tx => ReadCounter(tx, MetaKeys.PidId));

    /// <summary>Read transactions open right now (none outlives the call that opened it).</summary>
    public int OpenReadTransactions => Volatile.Read(ref _openReads);

    private int _openReads;

    /// <summary>Runs <paramref name="op"/> inside the next group-committed write transaction.</summary>
    public Task<T> WriteAsync<T>(Func<WriteContext, T> op)
    {
        var request = new WriteRequest<T>(op);
        try
        {
            _queue.Add(request);
        }
        catch (InvalidOperationException)
        {
            return Task.FromException<T>(new ObjectDisposedException(nameof(LmdbStore), $"LMDB store at {Settings.DataDirectory} is closed."));
        }

        return request.Task;
    }

    /// <summary>Runs <paramref name="op"/> in a read-only transaction on the calling thread.</summary>
    public T Read<T>(Func<LightningTransaction, T> op)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _resizeLock.EnterReadLock();
        Interlocked.Increment(ref _openReads);
        try
        {
            using var tx = _env.BeginTransaction(TransactionBeginFlags.ReadOnly);
            return op(tx);
        }
        finally
        {
            Interlocked.Decrement(ref _openReads);
            _resizeLock.ExitReadLock();
        }
    }

    internal static class MetaKeys
    {
        public static readonly byte[] Ordering = "ordering"u8.ToArray();
        public static readonly byte[] PidId = "pid-id"u8.ToArray();
        public static readonly byte[] TagId = "tag-id"u8.ToArray();
    }

    private ulong ReadCounter(LightningTransaction tx, byte[] key)
    {
        var (rc, _, value) = tx.Get(Meta, key);
        return rc == MDBResultCode.Success ? Keys.ReadU64(value.AsSpan()) : 0;
    }

    internal static void Check(MDBResultCode rc, string what)
    {
        if (rc != MDBResultCode.Success) throw new LmdbStorageException(rc, what);
    }

    private static long ExistingMapSize(string dir)
    {
        // Reopening a grown database with a smaller configured size would make LMDB refuse to open it.
        var file = Path.Combine(dir, "data.mdb");
        return File.Exists(file) ? new FileInfo(file).Length : 0;
    }

    private void WriterLoop()
    {
        var batch = new List<WriteRequest>(Settings.MaxBatchSize);
        while (true)
        {
            WriteRequest? first;
            try
            {
                first = _queue.Take();
            }
            catch (InvalidOperationException)
            {
                return; // completed and empty
            }

            batch.Add(first);
            while (batch.Count < Settings.MaxBatchSize && _queue.TryTake(out var next)) batch.Add(next);
            if (Settings.MaxBatchWait > TimeSpan.Zero && batch.Count < Settings.MaxBatchSize)
            {
                var deadline = Environment.TickCount64 + (long)Settings.MaxBatchWait.TotalMilliseconds;
                while (batch.Count < Settings.MaxBatchSize)
                {
                    var left = deadline - Environment.TickCount64;
                    if (left <= 0 || !_queue.TryTake(out var more, (int)left)) break;
                    batch.Add(more);
                }
            }

            ExecuteBatch(batch);
            batch.Clear();
        }
    }

    private void ExecuteBatch(List<WriteRequest> batch)
    {
        // Fast path: every request straight into one transaction. Only when a request fails is the batch redone
        // with a nested transaction per request, so that the failing request cannot take its neighbours down.
        var isolate = batch.Count == 1;
        while (true)
        {
            var ctx = new WriteContext(this, _nextOrdering, _nextPidId, _nextTagId);
            var failed = new Exception?[batch.Count];
            try
            {
                using (var tx = _env.BeginTransaction())
                {
                    for (var i = 0; i < batch.Count; i++)
                    {
                        if (!isolate)
                        {
                            ctx.Txn = tx;
                            try
                            {
                                batch[i].Execute(ctx);
                            }
                            catch (Exception e) when (e is not LmdbStorageException { Code: MDBResultCode.MapFull or MDBResultCode.TxnFull })
                            {
                                throw new IsolateRequests();
                            }

                            continue;
                        }

                        var mark = ctx.Mark();
                        using var child = _env.BeginTransaction(tx, TransactionBeginFlags.None);
                        ctx.Txn = child;
                        try
                        {
                            batch[i].Execute(ctx);
                            Check(child.Commit(), "commit request");
                        }
                        catch (LmdbStorageException e) when (e.Code is MDBResultCode.MapFull or MDBResultCode.TxnFull)
                        {
                            throw;
                        }
                        catch (Exception e)
                        {
                            if (child.State == LightningTransactionState.Ready) child.Abort();
                            ctx.Reset(mark);
                            failed[i] = e;
                        }
                    }

                    ctx.Txn = tx;
                    ctx.WriteCounters();
                    Check(tx.Commit(), "commit");
                }

                Interlocked.Increment(ref _commits);
                _nextOrdering = ctx.NextOrdering;
                _nextPidId = ctx.NextPidId;
                _nextTagId = ctx.NextTagId;
                ctx.PublishNames();
                for (var i = 0; i < batch.Count; i++)
                {
                    if (failed[i] is { } e) batch[i].Fail(e);
                    else batch[i].Succeed();
                }

                Interlocked.Exchange(ref _written, NewSignal()).TrySetResult();
                return;
            }
            catch (IsolateRequests)
            {
                isolate = true;
            }
            catch (LmdbStorageException e) when (e.Code is MDBResultCode.MapFull)
            {
                if (!Grow())
                {
                    if (batch.Count > 1)
                    {
                        // The map cannot grow: fail only the requests that do not fit, not those group-committed with them.
                        foreach (var r in batch) ExecuteBatch([r]);
                        return;
                    }

                    var error = new LmdbStorageException(e.Code,
                        $"map at {Settings.DataDirectory} is full at its maximum size {Settings.MaxMapSize} bytes " +
                        "(raise max-map-size); the write was not applied and the store is intact");
                    batch[0].Fail(error);
                    return;
                }
            }
            catch (LmdbStorageException e) when (e.Code is MDBResultCode.TxnFull && batch.Count > 1)
            {
                // Too many dirty pages for one transaction: commit the requests one by one instead.
                foreach (var r in batch) ExecuteBatch([r]);
                return;
            }
            catch (Exception e)
            {
                var error = e as LmdbStorageException ?? new LmdbStorageException(MDBResultCode.Problem, "write failed: " + e.Message, e);
                foreach (var r in batch) r.Fail(error);
                return;
            }
        }
    }

    private bool Grow()
    {
        var current = _env.MapSize;
        if (current >= Settings.MaxMapSize) return false;
        var next = Math.Min(Settings.MaxMapSize, Math.Max(current * 2, current + (1L << 20)));
        _resizeLock.EnterWriteLock();
        try
        {
            _env.MapSize = next;
        }
        finally
        {
            _resizeLock.ExitWriteLock();
        }

        return true;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.CompleteAdding();
        _writer.Join();
        _resizeLock.EnterWriteLock();
        try
        {
            Meta.Dispose();
            Pids.Dispose();
            PidNames.Dispose();
            Highest.Dispose();
            Events.Dispose();
            Tags.Dispose();
            TagIndex.Dispose();
            Snapshots.Dispose();
            Fences.Dispose();
            _env.Dispose();
        }
        finally
        {
            _resizeLock.ExitWriteLock();
        }

        _queue.Dispose();
        _written.TrySetResult();
    }

    /// <summary>A request failed on the fast path: redo the batch with one nested transaction per request.</summary>
    private sealed class IsolateRequests : Exception;

    private abstract class WriteRequest
    {
        public abstract void Execute(WriteContext ctx);

        public abstract void Succeed();

        public abstract void Fail(Exception e);
    }

    private sealed class WriteRequest<T>(Func<WriteContext, T> op) : WriteRequest
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _tcs.Task;

        public override void Execute(WriteContext ctx) => _result = op(ctx);

        public override void Succeed() => _tcs.TrySetResult(_result);

        public override void Fail(Exception e) => _tcs.TrySetException(e);
    }
}

/// <summary>Storage trouble (as opposed to a rejected payload): the LMDB status and what was being done.</summary>
public sealed class LmdbStorageException : Exception
{
    internal LmdbStorageException(MDBResultCode code, string what, Exception? inner = null)
        : base($"LMDB {what}: {code}", inner) => Code = code;

    /// <summary>Creates an exception without a status.</summary>
    public LmdbStorageException() : this(MDBResultCode.Problem, "error") { }

    /// <summary>Creates an exception with a message.</summary>
    public LmdbStorageException(string message) : this(MDBResultCode.Problem, message) { }

    /// <summary>Creates an exception with a message and cause.</summary>
    public LmdbStorageException(string message, Exception inner) : this(MDBResultCode.Problem, message, inner) { }

    /// <summary>The LMDB status code.</summary>
    public MDBResultCode Code { get; }
}
