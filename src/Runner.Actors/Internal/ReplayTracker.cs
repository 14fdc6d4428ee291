using Runner.Actors.Protocol;
using Runner.Actors.Serialization;

namespace Runner.Actors.Internal;

/// <summary>
/// Counts what the events of a replay do, as a saga's consumer finishes them (from its stream threads), up to the
/// replay's target sequence: events after the target are ordinary traffic.
/// </summary>
internal sealed class ReplayTracker(ulong targetSeq)
{
    private long _events;
    private long _applied;
    private long _duplicates;
    private long _ignored;
    private long _deadLettered;
    private long _commands;
    private long _maxSeq;

    public ulong TargetSeq { get; } = targetSeq;

    public void Count(ulong seq, IEventOutcome outcome)
    {
        if (seq > TargetSeq) return;
        Seen(seq);
        Interlocked.Increment(ref _events);
        switch (outcome)
        {
            case Applied a:
                Interlocked.Increment(ref _applied);
                Interlocked.Add(ref _commands, a.Commands);
                break;
            case Duplicate:
                Interlocked.Increment(ref _duplicates);
                break;
            case IgnoredCompleted or NotAccepted:
                Interlocked.Increment(ref _ignored);
                break;
            case HandlerFailed:
                Interlocked.Increment(ref _deadLettered);
                break;
        }
    }

    /// <summary>An event of the saga's types parked before it reached an instance (malformed, uncorrelated).</summary>
    public void CountDeadLettered(ulong seq)
    {
        if (seq > TargetSeq) return;
        Seen(seq);
        Interlocked.Increment(ref _events);
        Interlocked.Increment(ref _deadLettered);
    }

    /// <summary>The highest replayed sequence finished so far (0 before the first).</summary>
    public ulong MaxSeq => (ulong)Interlocked.Read(ref _maxSeq);

    private void Seen(ulong seq)
    {
        long current;
        while ((long)seq > (current = Interlocked.Read(ref _maxSeq)) && Interlocked.CompareExchange(ref _maxSeq, (long)seq, current) != current)
        {
        }
    }

    public ReplayCounts Snapshot() => new(Interlocked.Read(ref _events), Interlocked.Read(ref _applied), Interlocked.Read(ref _duplicates),
        Interlocked.Read(ref _ignored), Interlocked.Read(ref _deadLettered), Interlocked.Read(ref _commands));
}
