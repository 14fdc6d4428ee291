using System.Collections.Concurrent;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>
/// The ids of recently used names (persistence ids, tags) kept in memory, bounded: names are kept in a current and a
/// previous generation; when the current one holds <c>capacity</c> names it becomes the previous one and the oldest
/// generation is dropped. A name found only in the previous generation moves to the current one. A name that is not
/// kept is read from LMDB again (its id never changes), so the bound costs a read, never a wrong id. Safe for
/// concurrent readers and writers.
/// </summary>
internal sealed class RecentNames<TKey, TValue>
    where TKey : notnull
{
    private readonly int _capacity;
    private readonly IEqualityComparer<TKey>? _comparer;
    private readonly Lock _turn = new();
    private ConcurrentDictionary<TKey, TValue> _current;
    private ConcurrentDictionary<TKey, TValue> _previous;
    private int _added;

    public RecentNames(int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _comparer = comparer;
        _current = new ConcurrentDictionary<TKey, TValue>(comparer);
        _previous = new ConcurrentDictionary<TKey, TValue>(comparer);
    }

    /// <summary>Names kept now (both generations; a name in both counts twice). For tests.</summary>
    public int Count => Volatile.Read(ref _current).Count + Volatile.Read(ref _previous).Count;

    public bool TryGetValue(TKey key, out TValue value)
    {
        if (Volatile.Read(ref _current).TryGetValue(key, out value!)) return true;
        if (!Volatile.Read(ref _previous).TryGetValue(key, out value!)) return false;
        Set(key, value);
        return true;
    }

    public void Set(TKey key, TValue value)
    {
        // A name's id never changes (names are never deleted from LMDB): one kept already is kept as it is.
        var current = Volatile.Read(ref _current);
        if (!current.TryAdd(key, value) || Interlocked.Increment(ref _added) < _capacity) return;
        lock (_turn)
        {
            if (!ReferenceEquals(current, _current)) return; // another writer turned it already
            Volatile.Write(ref _previous, current);
            Volatile.Write(ref _current, new ConcurrentDictionary<TKey, TValue>(_comparer));
            Volatile.Write(ref _added, 0);
        }
    }
}
