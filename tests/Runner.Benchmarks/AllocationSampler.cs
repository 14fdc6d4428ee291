using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace Runner.Benchmarks;

/// <summary>
/// The runtime's allocation samples in this process (<c>GCAllocationTick</c>: one event about every 100 KB allocated, with the
/// type of the object that crossed the mark): which types the allocations are made of, for <c>--alloc-profile</c>.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private volatile bool _recording;

    public void Start()
    {
        _bytes.Clear();
        _recording = true;
    }

    public void Stop() => _recording = false;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.Payload is null) return;
        var names = eventData.PayloadNames!;
        var type = eventData.Payload[names.IndexOf("TypeName")] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[names.IndexOf("AllocationAmount")], CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    /// <summary>The types with the most sampled bytes, as shares of all sampled bytes.</summary>
    public string Top(int count, long events)
    {
        var total = _bytes.Values.Sum();
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"allocation samples: {total / 1048576.0:N0} MB sampled over {events:N0} events ({total / 1024.0 / Math.Max(1, events):N1} KB/event)");
        foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(count))
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {bytes * 100.0 / total,5:0.0}%  {bytes / 1024.0 / Math.Max(1, events),7:N2} KB/event  {type}");
        return sb.ToString();
    }
}
