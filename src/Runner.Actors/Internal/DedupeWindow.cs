namespace Runner.Actors.Internal;

/// <summary>The most recent N dedupe markers of a saga instance, oldest evicted first.</summary>
internal sealed class DedupeWindow(int capacity)
{
    private readonly Queue<string> _order = new();
    private readonly HashSet<string> _set = new(StringComparer.Ordinal);

    public int Count => _set.Count;

    public bool Contains(string key) => _set.Contains(key);

    public void Add(string key)
    {
        if (!_set.Add(key)) return;
        _order.Enqueue(key);
        while (_order.Count > capacity) _set.Remove(_order.Dequeue());
    }

    public IEnumerable<string> Items => _order;

    public void Clear()
    {
        _order.Clear();
        _set.Clear();
    }
}
