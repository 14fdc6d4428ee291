namespace Runner.Actors.Replay;

/// <summary>
/// The instance resets of one replay round: at most <paramref name="parallelism"/> asked at a time, in correlation id order,
/// the next asked as each one confirms. The replay actor owns it and says when to ask again those that did not confirm.
/// </summary>
/// <param name="parallelism">Resets asked at a time.</param>
/// <param name="ask">Asks one instance to reset (again).</param>
internal sealed class InstanceResets(int parallelism, Action<string> ask)
{
    private readonly Queue<string> _waiting = new();
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);

    /// <summary>Resets confirmed in all rounds.</summary>
    public int Confirmed { get; private set; }

    /// <summary>Whether every instance of the round confirmed.</summary>
    public bool Done => _asked.Count == 0 && _waiting.Count == 0;

    /// <summary>Starts a round over <paramref name="correlationIds"/> (a round in progress is dropped).</summary>
    public void Begin(IEnumerable<string> correlationIds)
    {
        _waiting.Clear();
        _asked.Clear();
        foreach (var id in correlationIds.Order(StringComparer.Ordinal)) _waiting.Enqueue(id);
        TopUp();
    }

    /// <summary>An instance confirmed its reset (a confirmation not asked for, or a second one, is ignored).</summary>
    public void Confirm(string correlationId)
    {
        if (!_asked.Remove(correlationId)) return;
        Confirmed++;
        TopUp();
    }

    /// <summary>Asks again every instance asked that did not confirm; returns how many, and one of them.</summary>
    public (int Count, string? Example) AskAgain()
    {
        foreach (var id in _asked) ask(id);
        return (_asked.Count, _asked.FirstOrDefault());
    }

    private void TopUp()
    {
        while (_asked.Count < parallelism && _waiting.TryDequeue(out var id))
        {
            _asked.Add(id);
            ask(id);
        }
    }
}
