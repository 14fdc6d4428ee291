using Runner.Placement;
using Runner.Actors.Protocol;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Runner.Actors.Internal;
using Runner.Actors.Serialization;

namespace Runner.Actors;

/// <summary>
/// Persists the checkpoints of one tenant: per saga, the stream sequence up to which every event is applied and
/// acked (the consumer's ack floor). A consumer recreated after a move or a replay starts after it. The same journal
/// records the tenant's replays (start, rewind, end), so a replay interrupted by a crash or a move resumes where it
/// was, and a rewind and the checkpoint it sets are one event.
/// </summary>
internal sealed class CheckpointActor : ReceivePersistentActor
{
    private ImmutableDictionary<string, ulong> _checkpoints = ImmutableDictionary<string, ulong>.Empty.WithComparers(StringComparer.Ordinal);
    private ImmutableList<ReplayRecord> _replays = [];
    private readonly int _finishedKept;

    public CheckpointActor(string tenant, string node, RuntimeSettings settings)
    {
        _finishedKept = settings.ReplaysKept;
        var dryRunsKept = settings.DryRunRetention;
        PersistenceId = TenantKeys.Checkpoints(tenant);
        Recover<SnapshotOffer>(o =>
        {
            var snapshot = (CheckpointSnapshot)o.Snapshot;
            _checkpoints = snapshot.Checkpoints.WithComparers(StringComparer.Ordinal);
            _replays = [.. snapshot.Replays ?? []];
        });
        Recover<CheckpointAdvanced>(Apply);
        Recover<ReplayStarted>(Apply);
        Recover<ReplayRewound>(Apply);
        Recover<ReplayFinished>(e => Apply(e));

        Command<CheckpointAdvanced>(c =>
        {
            if (_checkpoints.TryGetValue(c.Saga, out var current) && current >= c.StreamSequence) return;
            // While a replay of the saga is being prepared its old consumer is about to go: its floor is no checkpoint any more.
            if (Active(c.Saga) is { Stage: ReplayStage.Started }) return;
            PersistTracked(c, Apply);
        });
        Command<BeginReplay>(b =>
        {
            if (Active(b.Started.Saga) is { } active)
            {
                Sender.Tell(new ReplayRefused($"replay {active.Id} of saga '{active.Saga}' is still {Describe(active)}"));
                return;
            }

            var replyTo = Sender;
            PersistTracked(b.Started, e =>
            {
                Apply(e);
                replyTo.Tell(new ReplayBegun(_replays.First(r => r.Id == e.Id)));
            });
        });
        Command<RecordRewind>(r =>
        {
            var replyTo = Sender;
            PersistTracked(r.Rewound, e =>
            {
                Apply(e);
                replyTo.Tell(new RewindRecorded(e.Id));
            });
        });
        Command<RecordFinish>(f =>
        {
            var replyTo = Sender;
            PersistTracked(f.Finished, e => replyTo.Tell(new FinishRecorded(Apply(e))));
        });
        Command<GetReplays>(_ => Sender.Tell(new ReplaysKnown([.. _replays])));
        Command<ListReplays>(_ => Sender.Tell(new ReplayList(tenant, node,
            [.. _checkpoints.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new SagaCheckpoint(c.Key, c.Value))],
            [.. _replays.OrderByDescending(r => r.StartedAt).Select(r => ReplayStatus.Of(tenant, node, r))])));
        Command<GetReplay>(g => Sender.Tell(_replays.Find(r => r.Id == g.Id) is { } r
            ? ReplayStatus.Of(tenant, node, r)
            : AdminRefusal.NotFound($"tenant {tenant} has no replay '{g.Id}' (finished dry runs are kept {dryRunsKept.TotalMinutes:0} minutes, the last {_finishedKept} finished replays for good)")));
        Command<GetCheckpoints>(_ => Sender.Tell(_checkpoints));
        Command<ReportAndStop>(_ =>
        {
            Sender.Tell(new CheckpointStopReport(_checkpoints));
            Context.Stop(Self);
        });
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    protected override void OnReplaySuccess()
    {
        Context.Parent.Tell(new CheckpointsRecovered([.. _replays.Where(r => r.Stage != ReplayStage.Finished)]));
    }

    private void PersistTracked<T>(T e, Action<T> handler) where T : class, IRunnerStored =>
        Persist(e, persisted =>
        {
            handler(persisted);
            if (LastSequenceNr % 500 == 0) SaveSnapshot(new CheckpointSnapshot(_checkpoints, [.. _replays]));
        });

    private ReplayRecord? Active(string saga) => _replays.FirstOrDefault(r => r.Saga == saga && r.Stage != ReplayStage.Finished);

    private static string Describe(ReplayRecord r) => r.Stage == ReplayStage.Started ? "resetting its instances" : "consuming towards its target";

    private void Apply(CheckpointAdvanced c)
    {
        if (_checkpoints.TryGetValue(c.Saga, out var current) && current >= c.StreamSequence) return;
        _checkpoints = _checkpoints.SetItem(c.Saga, c.StreamSequence);
    }

    private void Apply(ReplayStarted e) =>
        _replays = _replays.Add(new ReplayRecord(e.Id, e.Saga, e.Mode, e.FromSeq, e.TargetSeq, e.At, ReplayStage.Started));

    private void Apply(ReplayRewound e)
    {
        // The checkpoint moves back on purpose: a recreated consumer starts at the first replayed event.
        _checkpoints = _checkpoints.SetItem(e.Saga, e.StreamSequence);
        Update(e.Id, r => r with { Stage = ReplayStage.Rewound, Instances = e.Instances });
    }

    private ReplayRecord Apply(ReplayFinished e)
    {
        Update(e.Id, r => r with { Stage = ReplayStage.Finished, FinishedAt = e.At, Counts = e.Counts });
        var record = _replays.Find(r => r.Id == e.Id) ?? new ReplayRecord(e.Id, "", "", 0, 0, e.At, ReplayStage.Finished, 0, e.At, e.Counts);
        // The longest finished go first; the one finishing now is kept whatever the clocks say.
        var finished = _replays.Where(r => r.Stage == ReplayStage.Finished && r.Id != e.Id).OrderBy(r => r.FinishedAt).ToList();
        if (finished.Count >= _finishedKept) _replays = _replays.RemoveRange(finished.Take(finished.Count - _finishedKept + 1));
        return record;
    }

    private void Update(string id, Func<ReplayRecord, ReplayRecord> change)
    {
        var index = _replays.FindIndex(r => r.Id == id);
        if (index >= 0) _replays = _replays.SetItem(index, change(_replays[index]));
    }

    /// <summary>Asks for all checkpoints; replied with an immutable dictionary.</summary>
    public sealed record GetCheckpoints
    {
        public static GetCheckpoints Instance { get; } = new();
    }
}
