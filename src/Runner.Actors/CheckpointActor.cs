using Runner.Actors.Protocol;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Runner.Actors.Internal;
using Runner.Actors.Serialization;

namespace Runner.Actors;

/// <summary>
/// Persists the checkpoints of one tenant: per saga, the stream sequence up to which every event is applied and
/// acked (the consumer's ack floor). A consumer recreated after a move or a replay starts after it.
/// </summary>
internal sealed class CheckpointActor : ReceivePersistentActor
{
    private ImmutableDictionary<string, ulong> _checkpoints = ImmutableDictionary<string, ulong>.Empty.WithComparers(StringComparer.Ordinal);
    private readonly CheckpointCache _cache;

    public CheckpointActor(string tenant, CheckpointCache cache)
    {
        _cache = cache;
        PersistenceId = $"checkpoint|{tenant}";
        Recover<SnapshotOffer>(o => _checkpoints = ((CheckpointSnapshot)o.Snapshot).Checkpoints.WithComparers(StringComparer.Ordinal));
        Recover<CheckpointAdvanced>(Apply);
        Command<CheckpointAdvanced>(c =>
        {
            if (_checkpoints.TryGetValue(c.Saga, out var current) && current >= c.StreamSequence) return;
            Persist(c, e =>
            {
                Apply(e);
                if (LastSequenceNr % 500 == 0) SaveSnapshot(new CheckpointSnapshot(_checkpoints));
            });
        });
        Command<Rewind>(r =>
        {
            // Replay: the checkpoint moves back on purpose (persisted as an explicit lower value).
            Persist(new CheckpointAdvanced(r.Saga, r.StreamSequence), e =>
            {
                _checkpoints = _checkpoints.SetItem(e.Saga, e.StreamSequence);
                _cache.Set(e.Saga, e.StreamSequence);
                Sender.Tell(e);
            });
        });
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
        foreach (var (saga, seq) in _checkpoints) _cache.Set(saga, seq);
        _cache.MarkRecovered();
    }

    private void Apply(CheckpointAdvanced c)
    {
        if (_checkpoints.TryGetValue(c.Saga, out var current) && current >= c.StreamSequence) return;
        _checkpoints = _checkpoints.SetItem(c.Saga, c.StreamSequence);
        _cache.Set(c.Saga, c.StreamSequence);
    }

    /// <summary>Moves a saga's checkpoint back (replay).</summary>
    public sealed record Rewind(string Saga, ulong StreamSequence);

    /// <summary>Asks for all checkpoints; replied with an immutable dictionary.</summary>
    public sealed record GetCheckpoints
    {
        public static GetCheckpoints Instance { get; } = new();
    }
}
