using Akka.Persistence.Query;
using Runner.Persistence.Lmdb.Internal;

namespace Runner.Persistence.Lmdb.Query;

/// <summary>
/// Persistence ids in the order they were first written (their internal id). A current query stops at the last id
/// allocated when it started.
/// </summary>
internal sealed class PersistenceIdsReader : IPageReader<string>
{
    private readonly LmdbStore _store;
    private readonly int _limit;
    private readonly bool _live;
    private readonly ulong _last;
    private ulong _after;

    public PersistenceIdsReader(LmdbStore store, int limit, bool live)
    {
        _store = store;
        _limit = limit;
        _live = live;
        _last = live ? ulong.MaxValue : store.LastPersistenceIdKey;
    }

    public Page<string> Read()
    {
        if (_after >= _last) return new Page<string>([], true);
        var ids = _store.ReadPersistenceIds(_after, _last, _limit);
        if (ids.Count > 0) _after = ids[^1].Id;
        var end = _after >= _last || (!_live && ids.Count < _limit);
        return new Page<string>(ids.Select(i => i.Name).ToList(), end);
    }
}

/// <summary>
/// Events of one persistence id from <c>from</c> to <c>to</c> by sequence number. A current query also stops at the
/// highest sequence number the id had when it started; a live one completes once it has passed <c>to</c>.
/// </summary>
internal sealed class EventsByPersistenceIdReader : IPageReader<EventEnvelope>
{
    private readonly LmdbStore _store;
    private readonly Func<StoredEvent, EventEnvelope> _envelope;
    private readonly int _limit;
    private readonly string _persistenceId;
    private readonly long _to;
    private readonly bool _live;
    private long _next;
    private bool _passedTo;

    public EventsByPersistenceIdReader(LmdbStore store, Func<StoredEvent, EventEnvelope> envelope, int limit, string persistenceId,
        long from, long to, bool live)
    {
        _store = store;
        _envelope = envelope;
        _limit = limit;
        _persistenceId = persistenceId;
        _live = live;
        _next = Math.Max(from, 1);
        _to = live ? to : Math.Min(to, store.ReadHighestSequenceNr(persistenceId));
        _passedTo = _next > _to;
    }

    public Page<EventEnvelope> Read()
    {
        if (_passedTo) return new Page<EventEnvelope>([], true);
        var events = _store.ReadEvents(_persistenceId, _next, _to, _limit);
        if (events.Count > 0)
        {
            var last = events[^1].SequenceNr;
            _passedTo = last >= _to;
            if (!_passedTo) _next = last + 1;
        }

        return new Page<EventEnvelope>(events.Select(_envelope).ToList(), _passedTo || (!_live && events.Count < _limit));
    }
}

/// <summary>
/// Events carrying one tag, by global ordering, starting at an ordering. A current query stops at the highest ordering
/// committed when it started.
/// </summary>
internal sealed class EventsByTagReader : IPageReader<EventEnvelope>
{
    private readonly LmdbStore _store;
    private readonly Func<StoredEvent, EventEnvelope> _envelope;
    private readonly int _limit;
    private readonly string _tag;
    private readonly long _to;
    private readonly bool _live;
    private long _next;

    public EventsByTagReader(LmdbStore store, Func<StoredEvent, EventEnvelope> envelope, int limit, string tag, long from, bool live)
    {
        _store = store;
        _envelope = envelope;
        _limit = limit;
        _tag = tag;
        _live = live;
        _next = from;
        _to = live ? long.MaxValue : store.MaxOrdering;
    }

    public Page<EventEnvelope> Read()
    {
        if (_next > _to) return new Page<EventEnvelope>([], true);
        var events = _store.ReadEventsByTag(_tag, _next, _to, _limit);
        if (events.Count > 0) _next = events[^1].Record.Ordering + 1;
        var end = _next > _to || (!_live && events.Count < _limit);
        return new Page<EventEnvelope>(events.Select(_envelope).ToList(), end);
    }
}
