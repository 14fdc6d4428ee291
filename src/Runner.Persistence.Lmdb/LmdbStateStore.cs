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
    public async Task<ImportSummary> ImportAsync(byte[] data, PersistenceIdSelector replace)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(replace);
        var pids = LmdbStore.Decode(data);
        var (events, snapshots) = await _store.WriteAsync(ctx => LmdbStore.ImportSelected(ctx, replace, pids)).ConfigureAwait(false);
        return new ImportSummary(pids.Count, events, snapshots, data.LongLength);
    }

    /// <summary>Deletes all data of the selected ids; returns how many ids had data.</summary>
    public Task<int> DeleteAsync(PersistenceIdSelector selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        return _store.WriteAsync(ctx => LmdbStore.DeleteSelected(ctx, selector));
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
}
