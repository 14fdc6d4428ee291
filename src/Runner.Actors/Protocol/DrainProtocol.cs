using System.Collections.Immutable;

namespace Runner.Actors.Protocol;

/// <summary>Sent by a tenant being handed off to each of its persistent children: reply with a report, then stop.</summary>
internal sealed record ReportAndStop
{
    public static ReportAndStop Instance { get; } = new();
}

/// <summary>A saga instance's state when it stopped for a hand-off.</summary>
internal sealed record SagaStopReport(int OutboxPending, int Timers);

/// <summary>The schedule index's state when it stopped: timers pending and the earliest due.</summary>
internal sealed record ScheduleStopReport(int TimersPending, DateTimeOffset? NextDue);

/// <summary>The checkpoints when they stopped: per saga, the stream position up to which everything is applied and acked.</summary>
internal sealed record CheckpointStopReport(ImmutableDictionary<string, ulong> Checkpoints);
