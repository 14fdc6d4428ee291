using System.Collections.Concurrent;

namespace Runner.Actors.Internal;

/// <summary>The tenant's recovered checkpoints, readable by its consumer streams when they (re)create a consumer.</summary>
internal sealed class CheckpointCache
{
    private readonly ConcurrentDictionary<string, ulong> _values = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Recovered => _recovered.Task;

    public ulong? Get(string saga) => _values.TryGetValue(saga, out var v) ? v : null;

    public void Set(string saga, ulong value) => _values[saga] = value;

    public void MarkRecovered() => _recovered.TrySetResult();
}
