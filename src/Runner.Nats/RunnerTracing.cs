using System.Diagnostics;
using NATS.Client.Core;

namespace Runner.Nats;

/// <summary>
/// The runner's traces (<see cref="ActivitySource"/> <c>Runner</c>): one span per event consumed, one per decision
/// applied (decide + persist) and one per command published, in one trace with the producer of the event: the W3C
/// <c>traceparent</c> of the event's NATS headers is the parent of the consume span, and every command carries the
/// <c>traceparent</c> of the decision that made it (kept in its outbox entry, so a command published after a crash or a
/// move still belongs to its trace). Without a listener (no exporter configured) no span is made, and the event's own
/// <c>traceparent</c> is passed on to its commands unchanged.
/// </summary>
public static class RunnerTracing
{
    /// <summary>Name of the runner's activity source.</summary>
    public const string SourceName = "Runner";

    /// <summary>W3C trace context header.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>W3C trace state header.</summary>
    public const string TraceStateHeader = "tracestate";

    /// <summary>The runner's activity source.</summary>
    public static ActivitySource Source { get; } = new(SourceName, typeof(RunnerTracing).Assembly.GetName().Version?.ToString());

    /// <summary>The <c>traceparent</c> of a message's headers, if any.</summary>
    public static string? TraceParentOf(NatsHeaders? headers) =>
        headers is not null && headers.TryGetValue(TraceParentHeader, out var value) && value.Count > 0 ? value[0] : null;

    /// <summary>The <c>traceparent</c> of an incoming event's headers (case-insensitive), if any.</summary>
    public static string? TraceParentOf(IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (headers.TryGetValue(TraceParentHeader, out var value)) return value;
        foreach (var (k, v) in headers)
        {
            if (string.Equals(k, TraceParentHeader, StringComparison.OrdinalIgnoreCase)) return v;
        }

        return null;
    }

    /// <summary>Starts the span of an event being consumed (parent: the event's <c>traceparent</c>); null without a listener.</summary>
    public static Activity? StartConsume(string tenant, string saga, string subject, ulong streamSeq, string? traceParent)
    {
        var activity = Source.StartActivity($"{saga} consume", ActivityKind.Consumer, Parent(traceParent));
        if (activity is null) return null;
        activity.SetTag("messaging.system", "nats");
        activity.SetTag("messaging.operation.type", "process");
        activity.SetTag("messaging.destination.name", subject);
        activity.SetTag("runner.tenant", tenant);
        activity.SetTag("runner.saga", saga);
        activity.SetTag("runner.stream_seq", (long)streamSeq);
        return activity;
    }

    /// <summary>
    /// Starts the span of a decision (decide + persist) of a saga instance; null without a listener. It is not made the
    /// current activity: an actor ends it in a later message (when the write is durable), and the messages in between
    /// must not become its children.
    /// </summary>
    public static Activity? StartApply(string tenant, string saga, string correlation, string trigger, string? traceParent)
    {
        var previous = Activity.Current;
        var activity = Source.StartActivity($"{saga} apply", ActivityKind.Internal, Parent(traceParent));
        Activity.Current = previous;
        if (activity is null) return null;
        activity.SetTag("runner.tenant", tenant);
        activity.SetTag("runner.saga", saga);
        activity.SetTag("runner.correlation_id", correlation);
        activity.SetTag("runner.trigger", trigger);
        return activity;
    }

    /// <summary>Starts the span of a command being published (parent: its decision); null without a listener.</summary>
    public static Activity? StartPublish(string subject, string msgId, string? traceParent)
    {
        var activity = Source.StartActivity($"{subject} publish", ActivityKind.Producer, Parent(traceParent));
        if (activity is null) return null;
        activity.SetTag("messaging.system", "nats");
        activity.SetTag("messaging.operation.type", "publish");
        activity.SetTag("messaging.destination.name", subject);
        activity.SetTag("messaging.message.id", msgId);
        return activity;
    }

    /// <summary>What a child of <paramref name="activity"/> gets as its parent: its id, else the <paramref name="inherited"/> one.</summary>
    public static string? Propagate(Activity? activity, string? inherited) => activity?.Id ?? inherited;

    private static ActivityContext Parent(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
}
