using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.Util;
using Runner.Persistence.Lmdb.Internal;

namespace Runner.Persistence.Lmdb.Query;

/// <summary>
/// Read journal over the LMDB journal. Offsets are <see cref="Sequence"/> values of a global ordering that
/// increases with every written event; as Akka defines it, a query given an offset returns events after it.
/// Live queries wake on every commit in this process and poll at <c>refresh-interval</c> otherwise.
/// </summary>
public sealed class LmdbReadJournal :
    IPersistenceIdsQuery, ICurrentPersistenceIdsQuery,
    IEventsByPersistenceIdQuery, ICurrentEventsByPersistenceIdQuery,
    IEventsByTagQuery, ICurrentEventsByTagQuery
{
    /// <summary>Identifier to pass to <c>PersistenceQuery.ReadJournalFor</c>.</summary>
    public const string Identifier = LmdbPersistence.QueryPath;

    private readonly ExtendedActorSystem _system;
    private readonly Config _config;
    private readonly TimeSpan _refresh;
    private readonly int _buffer;
    private readonly Lazy<(LmdbStore Store, EventCodec Codec)> _storage;

    /// <summary>Creates the read journal from its configuration section.</summary>
    public LmdbReadJournal(ExtendedActorSystem system, Config config)
    {
        _system = system;
        _config = config.WithFallback(LmdbPersistence.DefaultConfiguration().GetConfig(LmdbPersistence.QueryPath));
        _refresh = _config.GetTimeSpan("refresh-interval", TimeSpan.FromSeconds(1));
        _buffer = _config.GetInt("max-buffer-size", 500);
        if (_refresh <= TimeSpan.Zero) throw new ConfigurationException($"{Identifier}.refresh-interval must be positive.");
        if (_buffer < 1) throw new ConfigurationException($"{Identifier}.max-buffer-size must be at least 1.");
        var writePlugin = _config.GetString("write-plugin", LmdbPersistence.JournalPath);
        _storage = new Lazy<(LmdbStore, EventCodec)>(() => (LmdbPersistence.Get(system).StoreFor(writePlugin), new EventCodec(system)));
    }

    private LmdbStore Store => _storage.Value.Store;

    private EventCodec Codec => _storage.Value.Codec;

    /// <inheritdoc />
    public Source<string, NotUsed> PersistenceIds() => PersistenceIdsSource(live: true);

    /// <inheritdoc />
    public Source<string, NotUsed> CurrentPersistenceIds() => PersistenceIdsSource(live: false);

    /// <inheritdoc />
    public Source<EventEnvelope, NotUsed> EventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr) =>
        ByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, live: true);

    /// <inheritdoc />
    public Source<EventEnvelope, NotUsed> CurrentEventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr) =>
        ByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, live: false);

    /// <inheritdoc />
    public Source<EventEnvelope, NotUsed> EventsByTag(string tag, Offset offset) => ByTag(tag, offset, live: true);

    /// <inheritdoc />
    public Source<EventEnvelope, NotUsed> CurrentEventsByTag(string tag, Offset offset) => ByTag(tag, offset, live: false);

    private sealed record Cursor(long Next, long Last, bool Started);

    private Source<string, NotUsed> PersistenceIdsSource(bool live) =>
        Source.UnfoldAsync<Cursor, IReadOnlyList<string>>(new Cursor(0, 0, false), async c =>
        {
            while (true)
            {
                var signal = Store.WhenWritten;
                var ids = Store.ReadPersistenceIds((ulong)c.Next, _buffer);
                if (ids.Count > 0)
                    return Option<(Cursor, IReadOnlyList<string>)>.Create((c with { Next = (long)ids[^1].Id }, ids.Select(i => i.Name).ToList()));
                if (!live) return Option<(Cursor, IReadOnlyList<string>)>.None;
                await Wait(signal).ConfigureAwait(false);
            }
        }).SelectMany(ids => ids);

    private Source<EventEnvelope, NotUsed> ByPersistenceId(string persistenceId, long from, long to, bool live)
    {
        ArgumentException.ThrowIfNullOrEmpty(persistenceId);
        return Source.UnfoldAsync<Cursor, IReadOnlyList<EventEnvelope>>(new Cursor(Math.Max(from, 0), to, false), async c =>
        {
            if (!c.Started && !live) c = c with { Last = Math.Min(c.Last, Store.ReadHighestSequenceNr(persistenceId)), Started = true };
            while (c.Next <= c.Last)
            {
                var signal = Store.WhenWritten;
                var events = Store.ReadEvents(persistenceId, c.Next, c.Last, _buffer);
                if (events.Count > 0)
                {
                    var envelopes = events.Select(Envelope).ToList();
                    return Option<(Cursor, IReadOnlyList<EventEnvelope>)>.Create((c with { Next = events[^1].SequenceNr + 1 }, envelopes));
                }

                if (!live) break;
                await Wait(signal).ConfigureAwait(false);
            }

            return Option<(Cursor, IReadOnlyList<EventEnvelope>)>.None;
        }).SelectMany(e => e);
    }

    private Source<EventEnvelope, NotUsed> ByTag(string tag, Offset offset, bool live)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        var start = offset switch
        {
            null or NoOffset => 1L,
            Sequence s => s.Value + 1, // offsets are exclusive
            _ => throw new ArgumentException($"LMDB read journal supports NoOffset and Sequence offsets, not {offset.GetType().Name}", nameof(offset)),
        };
        return Source.UnfoldAsync<Cursor, IReadOnlyList<EventEnvelope>>(new Cursor(start, long.MaxValue, false), async c =>
        {
            if (!c.Started && !live) c = c with { Last = Store.MaxOrdering, Started = true };
            while (c.Next <= c.Last)
            {
                var signal = Store.WhenWritten;
                var events = Store.ReadEventsByTag(tag, c.Next, c.Last, _buffer);
                if (events.Count > 0)
                {
                    var envelopes = events.Select(Envelope).ToList();
                    return Option<(Cursor, IReadOnlyList<EventEnvelope>)>.Create((c with { Next = events[^1].Record.Ordering + 1 }, envelopes));
                }

                if (!live) break;
                await Wait(signal).ConfigureAwait(false);
            }

            return Option<(Cursor, IReadOnlyList<EventEnvelope>)>.None;
        }).SelectMany(e => e);
    }

    private EventEnvelope Envelope(StoredEvent e)
    {
        var r = e.Record;
        var payload = Codec.Deserialize(e.PersistenceId, e.SequenceNr, r.SerializerId, r.Manifest, r.Payload);
        return new EventEnvelope(new Sequence(r.Ordering), e.PersistenceId, e.SequenceNr, payload, r.Timestamp, r.Tags.ToArray());
    }

    private Task<Task> Wait(Task signal) => Task.WhenAny(signal, Task.Delay(_refresh));
}

/// <summary>Creates <see cref="LmdbReadJournal"/> for <c>PersistenceQuery</c>.</summary>
public sealed class LmdbReadJournalProvider(ExtendedActorSystem system, Config config) : IReadJournalProvider
{
    /// <inheritdoc />
    public IReadJournal GetReadJournal() => new LmdbReadJournal(system, config);
}
