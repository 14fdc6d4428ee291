using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
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

    private Source<string, NotUsed> PersistenceIdsSource(bool live) =>
        Paged(live ? "persistenceIds" : "currentPersistenceIds", () => new PersistenceIdsReader(Store, _buffer, live), live);

    private Source<EventEnvelope, NotUsed> ByPersistenceId(string persistenceId, long from, long to, bool live)
    {
        ArgumentException.ThrowIfNullOrEmpty(persistenceId);
        return Paged(live ? "eventsByPersistenceId" : "currentEventsByPersistenceId",
            () => new EventsByPersistenceIdReader(Store, Envelope, _buffer, persistenceId, from, to, live), live);
    }

    private Source<EventEnvelope, NotUsed> ByTag(string tag, Offset offset, bool live)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        var start = offset switch
        {
            null or NoOffset => 1L,
            Sequence s => s.Value == long.MaxValue ? long.MaxValue : Math.Max(s.Value, 0) + 1, // offsets are exclusive
            _ => throw new ArgumentException($"LMDB read journal supports NoOffset and Sequence offsets, not {offset.GetType().Name}", nameof(offset)),
        };
        return Paged(live ? "eventsByTag" : "currentEventsByTag",
            () => new EventsByTagReader(Store, Envelope, _buffer, tag, start, live), live);
    }

    private Source<T, NotUsed> Paged<T>(string name, Func<IPageReader<T>> open, bool live) =>
        Source.FromGraph(new PagedSource<T>(name, open, live ? () => Store.WhenWritten : null, _refresh));

    private EventEnvelope Envelope(StoredEvent e)
    {
        var r = e.Record;
        var payload = Codec.Deserialize(e.PersistenceId, e.SequenceNr, r.SerializerId, r.Manifest, r.Payload);
        return new EventEnvelope(new Sequence(r.Ordering), e.PersistenceId, e.SequenceNr, payload, r.Timestamp, r.Tags.ToArray());
    }
}

/// <summary>Creates <see cref="LmdbReadJournal"/> for <c>PersistenceQuery</c>.</summary>
public sealed class LmdbReadJournalProvider(ExtendedActorSystem system, Config config) : IReadJournalProvider
{
    /// <inheritdoc />
    public IReadJournal GetReadJournal() => new LmdbReadJournal(system, config);
}
