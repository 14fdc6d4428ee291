using Runner.Persistence.Lmdb.Internal;

namespace Runner.Persistence.Lmdb;

/// <summary>What an import wrote.</summary>
/// <param name="PersistenceIds">Persistence ids imported.</param>
/// <param name="Events">Events written (with new orderings and tag index entries in this store).</param>
/// <param name="Snapshots">Snapshots written.</param>
/// <param name="Bytes">Size of the imported data.</param>
public sealed record ImportSummary(int PersistenceIds, int Events, int Snapshots, long Bytes);

/// <summary>A write refused because its persistence id is fenced (its owner moved elsewhere).</summary>
public sealed class PersistenceIdFencedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PersistenceIdFencedException(string persistenceId, string reason)
        : base($"Persistence id '{persistenceId}' is fenced on this node ({reason}); the write is refused.")
    {
        PersistenceId = persistenceId;
        Reason = reason;
    }

    /// <summary>Creates the exception.</summary>
    public PersistenceIdFencedException() : this("", "") { }

    /// <summary>Creates the exception.</summary>
    public PersistenceIdFencedException(string message) : base(message)
    {
        PersistenceId = "";
        Reason = message;
    }

    /// <summary>Creates the exception.</summary>
    public PersistenceIdFencedException(string message, Exception inner) : base(message, inner)
    {
        PersistenceId = "";
        Reason = message;
    }

    /// <summary>The refused persistence id.</summary>
    public string PersistenceId { get; }

    /// <summary>Why it is fenced.</summary>
    public string Reason { get; }
}

/// <summary>
/// Moves and guards whole sets of persistence ids in one LMDB store (a tenant's state, when the tenant moves between
/// nodes): export to a self-checking blob, import into another store (replacing what was there), delete, and fences
/// that make the journal and snapshot store refuse writes for the fenced ids. Every change runs on the store's writer
/// thread, so it is ordered with the journal's own writes; an import is one transaction: all of it or nothing.
/// </summary>
public sealed class LmdbStateStore
{
    private readonly LmdbStore _store;

    internal LmdbStateStore(LmdbStore store) => _store = store;

    /// <summary>Whether the store answers a read transaction (for readiness checks).</summary>
    public bool IsOpen
    {
        get
        {
            try
            {
                return _store.Read(_ => true);
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    /// <summary>Where the store lives.</summary>
    public string DataDirectory => _store.Settings.DataDirectory;

    /// <summary>
    /// Exports the selected ids (events with their tags, highest sequence numbers, snapshots) as of one read
    /// transaction, in a versioned format ending with a SHA-256 of its content.
    /// </summary>
    public Task<byte[]> ExportAsync(PersistenceIdSelector selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        return Task.Run(() => LmdbStore.Encode(_store.ReadSelected(selector)));
    }

    /// <summary>
    /// Verifies <paramref name="data"/> (format, version, checksum) before touching anything, then, in one write
    /// transaction, deletes what <paramref name="replace"/> selects and writes the imported ids.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is corrupt, truncated or of an unknown format; nothing was changed.</exception>
    /// <param name="data">The export.</param>
    /// <param name="replace">What it replaces.</param>
    /// <param name="forgetPosition">A replica log key whose position (<see cref="ReplicatedPosition"/>) the import makes
    /// meaningless: forgotten in the same transaction.</param>
    public async Task<ImportSummary> ImportAsync(byte[] data, PersistenceIdSelector replace, string? forgetPosition = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(replace);
        var pids = LmdbStore.Decode(data);
        var (events, snapshots) = await _store.WriteAsync(ctx =>
        {
            if (forgetPosition is not null) LmdbStore.SetReplicatedPosition(ctx, forgetPosition, 0);
            return LmdbStore.ImportSelected(ctx, replace, pids);
        }).ConfigureAwait(false);
        return new ImportSummary(pids.Count, events, snapshots, data.LongLength);
    }

    /// <summary>
    /// Deletes all data of the selected ids (and forgets the replica log position <paramref name="forgetPosition"/>, in the
    /// same transaction); returns how many ids had data.
    /// </summary>
    public Task<int> DeleteAsync(PersistenceIdSelector selector, string? forgetPosition = null)
    {
        ArgumentNullException.ThrowIfNull(selector);
        return _store.WriteAsync(ctx =>
        {
            if (forgetPosition is not null) LmdbStore.SetReplicatedPosition(ctx, forgetPosition, 0);
            return LmdbStore.DeleteSelected(ctx, selector);
        });
    }

    /// <summary>
    /// Rebuilds the selected ids from a replica log in one transaction: replaces them with <paramref name="baseExport"/>
    /// (an <see cref="ExportAsync"/> blob; null: with nothing), applies <paramref name="records"/> in order, and records
    /// <paramref name="position"/> for <paramref name="key"/>. All of it or nothing.
    /// </summary>
    /// <exception cref="InvalidDataException">The export or a record is corrupt; nothing was changed.</exception>
    public async Task<ImportSummary> RebuildAsync(PersistenceIdSelector replace, byte[]? baseExport, IReadOnlyList<ReadOnlyMemory<byte>> records,
        string key, ulong position)
    {
        ArgumentNullException.ThrowIfNull(replace);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentException.ThrowIfNullOrEmpty(key);
        var pids = baseExport is null ? [] : LmdbStore.Decode(baseExport);
        foreach (var record in records) ReplicaRecord.Verify(record);
        var (events, snapshots) = await _store.WriteAsync(ctx =>
        {
            var imported = LmdbStore.ImportSelected(ctx, replace, pids);
            foreach (var record in records) ReplicaRecord.Apply(ctx, record);
            LmdbStore.SetReplicatedPosition(ctx, key, position);
            return imported;
        }).ConfigureAwait(false);
        return new ImportSummary(pids.Count, events, snapshots, (baseExport?.LongLength ?? 0) + records.Sum(r => (long)r.Length));
    }

    /// <summary>
    /// Fences the selected ids: from when the returned task completes, journal writes and snapshot saves for them are
    /// refused with <see cref="PersistenceIdFencedException"/>. Durable: a fence survives restarts until lifted.
    /// </summary>
    public Task FenceAsync(PersistenceIdSelector selector, string reason)
    {
        ArgumentNullException.ThrowIfNull(selector);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return _store.SetFencesAsync(selector.Entries.ToList(), reason);
    }

    /// <summary>Lifts the fences of the selected ids.</summary>
    public Task UnfenceAsync(PersistenceIdSelector selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        return _store.SetFencesAsync(selector.Entries.ToList(), null);
    }

    /// <summary>Why <paramref name="persistenceId"/> is fenced, or null when it is not.</summary>
    public string? FenceOf(string persistenceId) => _store.FenceOf(persistenceId);

    /// <summary>
    /// Puts <paramref name="replicator"/> in front of the store's journal and snapshot writes (null: writes stay local).
    /// Set before any persistent actor writes; it stays for the life of the store in this process.
    /// </summary>
    public void UseReplicator(IStoreReplicator? replicator) => _store.Replicator = replicator;

    /// <summary>
    /// Applies replica log records (as handed to <see cref="IStoreReplicator.ReplicateAsync"/>) in order, and records
    /// <paramref name="position"/> as the log position the store now holds for <paramref name="key"/>, in one transaction:
    /// all of it or nothing.
    /// </summary>
    /// <exception cref="InvalidDataException">A record does not decode; nothing was written.</exception>
    public Task CommitReplicatedAsync(string key, ulong position, IReadOnlyList<ReadOnlyMemory<byte>> records)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records) ReplicaRecord.Verify(record);
        return _store.WriteAsync(ctx =>
        {
            foreach (var record in records) ReplicaRecord.Apply(ctx, record);
            LmdbStore.SetReplicatedPosition(ctx, key, position);
            return true;
        });
    }

    /// <summary>The replica log position the store holds for <paramref name="key"/>: 0 when it holds none.</summary>
    public ulong ReplicatedPosition(string key) => _store.ReplicatedPosition(key);

    /// <summary>Records (or, with 0, forgets) the replica log position of <paramref name="key"/>.</summary>
    public Task SetReplicatedPositionAsync(string key, ulong position)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return _store.WriteAsync(ctx =>
        {
            LmdbStore.SetReplicatedPosition(ctx, key, position);
            return true;
        });
    }

    /// <summary>
    /// Exports the selected ids as <see cref="ExportAsync"/> does, with the replica log position of <paramref name="key"/>
    /// read in the same read transaction: the export is exactly the log applied up to that position.
    /// </summary>
    public Task<(byte[] Data, ulong Position)> ExportReplicatedAsync(PersistenceIdSelector selector, string key)
    {
        ArgumentNullException.ThrowIfNull(selector);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Task.Run(() =>
        {
            var (pids, position) = _store.ReadSelectedAt(selector, key);
            return (LmdbStore.Encode(pids), position);
        });
    }

    /// <summary>Whether any of the selected ids holds data.</summary>
    public bool HasData(PersistenceIdSelector selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        return _store.HasData(selector);
    }
}
