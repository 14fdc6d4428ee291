using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Runner.Persistence.Lmdb.Internal;

namespace Runner.Persistence.Lmdb.Journal;

/// <summary>
/// Akka.Persistence journal on LMDB. A thin actor: serialization happens here, storage in <see cref="LmdbStore"/>,
/// whose writer thread group-commits the writes of every persistent actor into shared LMDB transactions.
/// </summary>
public sealed class LmdbJournal : AsyncWriteJournal
{
    private readonly LmdbStore _store;
    private readonly EventCodec _codec;
    private readonly ConcurrentDictionary<string, Task> _writesInFlight = new(StringComparer.Ordinal);

    /// <summary>Created by Akka.Persistence with the plugin's configuration section.</summary>
    public LmdbJournal(Config config)
    {
        var path = Self.Path.Name;
        var fallback = LmdbPersistence.DefaultConfiguration().GetConfig(LmdbPersistence.JournalPath);
        _store = LmdbPersistence.Get(Context.System).StoreFor(config.WithFallback(fallback), path);
        _codec = new EventCodec((ExtendedActorSystem)Context.System);
    }

    /// <inheritdoc />
    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages as IReadOnlyList<AtomicWrite> ?? messages.ToList();
        var results = new Exception?[writes.Count];
        var events = new List<PreparedEvent>();
        for (var i = 0; i < writes.Count; i++)
        {
            var batch = (IImmutableList<IPersistentRepresentation>)writes[i].Payload;
            if (_store.FenceOf(writes[i].PersistenceId) is { } fence)
            {
                // The persistence id's owner moved to another node: refused, never written.
                results[i] = new PersistenceIdFencedException(writes[i].PersistenceId, fence);
                continue;
            }

            var prepared = new List<PreparedEvent>(batch.Count);
            try
            {
                foreach (var p in batch) prepared.Add(_codec.Prepare(p));
                events.AddRange(prepared);
            }
            catch (Exception e)
            {
                // A payload that cannot be stored rejects its AtomicWrite only; the actor keeps running.
                results[i] = e;
            }
        }

        if (events.Count == 0) return Task.FromResult<IImmutableList<Exception?>>(results.ToImmutableList());

        var write = _store.WriteEventsAsync(events);
        foreach (var pid in events.Select(e => e.PersistenceId).Distinct(StringComparer.Ordinal))
        {
            _writesInFlight[pid] = write;
            _ = write.ContinueWith(
                (_, state) => _writesInFlight.TryRemove(new KeyValuePair<string, Task>((string)state!, write)),
                pid, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return Complete(write, results);
    }

    private static async Task<IImmutableList<Exception?>> Complete(Task write, Exception?[] results)
    {
        await write.ConfigureAwait(false); // storage trouble fails the whole call
        return results.ToImmutableList();
    }

    /// <inheritdoc />
    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        var chunk = _store.Settings.ReplayBatchSize;
        return Task.Run(() => Replay(_store, _codec.ToPersistent, persistenceId, fromSequenceNr, toSequenceNr, max, chunk, recoveryCallback));
    }

    /// <summary>
    /// Hands the events of [from, to] (at most <paramref name="max"/>) to <paramref name="callback"/> in order, reading
    /// <paramref name="chunk"/> events per read transaction: a journal of any size is replayed holding one chunk.
    /// </summary>
    internal static void Replay(LmdbStore store, Func<StoredEvent, IPersistentRepresentation> toPersistent, string persistenceId,
        long from, long to, long max, int chunk, Action<IPersistentRepresentation> callback)
    {
        var remaining = max;
        var next = from;
        while (remaining > 0 && next <= to)
        {
            var limit = (int)Math.Min(remaining, chunk);
            var events = store.ReadEvents(persistenceId, next, to, limit);
            foreach (var e in events)
            {
                callback(toPersistent(e));
                next = e.SequenceNr + 1;
            }

            remaining -= events.Count;
            if (events.Count < limit) break;
        }
    }

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        // A restarting actor may ask before its previous incarnation's writes have landed.
        if (_writesInFlight.TryGetValue(persistenceId, out var pending))
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The failure was reported to the writer; the stored highest sequence number is what counts.
            }
        }

        return _store.ReadHighestSequenceNr(persistenceId);
    }

    /// <inheritdoc />
    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken) =>
        _store.DeleteEventsToAsync(persistenceId, toSequenceNr);
}
