using System.Collections.Immutable;
using Runner.Actors.Serialization;

namespace Runner.Actors.Protocol;

/// <summary>Persist a replay's start (to the checkpoints); replied with <see cref="ReplayBegun"/> or <see cref="ReplayRefused"/>.</summary>
internal sealed record BeginReplay(ReplayStarted Started);

/// <summary>The start is durable.</summary>
internal sealed record ReplayBegun(ReplayRecord Record);

/// <summary>Another replay of the saga is active.</summary>
internal sealed record ReplayRefused(string Reason);

/// <summary>Persist the rewind (to the checkpoints); replied with <see cref="RewindRecorded"/>.</summary>
internal sealed record RecordRewind(ReplayRewound Rewound);

/// <summary>The rewind is durable.</summary>
internal sealed record RewindRecorded(string Id);

/// <summary>Persist the end (to the checkpoints); replied with <see cref="FinishRecorded"/>.</summary>
internal sealed record RecordFinish(ReplayFinished Finished);

/// <summary>The end is durable.</summary>
internal sealed record FinishRecorded(ReplayRecord Record);

/// <summary>Asks the checkpoints for the replays they know; replied with <see cref="ReplaysKnown"/>.</summary>
internal sealed record GetReplays
{
    public static GetReplays Instance { get; } = new();
}

/// <summary>The replays the checkpoints know.</summary>
internal sealed record ReplaysKnown(ImmutableArray<ReplayRecord> Replays);

/// <summary>The checkpoints are recovered (to the tenant): start consuming, and resume the replays still active.</summary>
internal sealed record CheckpointsRecovered(ImmutableArray<ReplayRecord> ActiveReplays);

/// <summary>Stop consuming a saga and let its in-flight events finish; replied with <see cref="SagaPaused"/>.</summary>
internal sealed record PauseSaga(string Saga);

/// <summary>The saga's consumer is stopped; <paramref name="Finished"/> whether its in-flight events finished in time.</summary>
internal sealed record SagaPaused(string Saga, bool Finished);

/// <summary>Consume the saga again; its events are counted on <paramref name="Tracker"/> up to the replay's target.</summary>
internal sealed record ResumeSaga(string Saga, Internal.ReplayTracker? Tracker);

/// <summary>Replay: reset an instance (<paramref name="Full"/>) or make it forget its dedupe markers; replied with <see cref="InstanceReset"/>.</summary>
internal sealed record ResetInstance(string Saga, string CorrelationId, string ReplayId, bool Full) : ISagaMessage;

/// <summary>The reset is durable.</summary>
internal sealed record InstanceReset(string CorrelationId);

/// <summary>Dry run: asks an instance for what a replay starts from; replied with <see cref="ReplayBasis"/>.</summary>
internal sealed record GetReplayBasis(string Saga, string CorrelationId) : ISagaMessage;

/// <summary>An instance's state, completion and dedupe markers (oldest first), for a dry run.</summary>
internal sealed record ReplayBasis(string CorrelationId, object State, bool Completed, ImmutableArray<string> Dedupe);
