using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// Many persistent actors writing at once share LMDB write transactions (group commit), yet every actor recovers
/// exactly its own events in order.
/// </summary>
public sealed class JournalGroupCommitSpec(ITestOutputHelper output) : JournalSpecBase(output)
{
    private const int Actors = 1000;
    private const int EventsPerActor = 10;

    [Fact]
    public void Journal_should_group_commit_concurrent_writers_and_recover_each_one_exactly()
    {
        var commitsBefore = Store.Commits;
        var writers = Enumerable.Range(0, Actors)
            .Select(i => Sys.ActorOf(Props.Create(() => new Writer($"p-group-{i}", EventsPerActor, TestActor)), $"writer-{i}"))
            .ToList();
        foreach (var w in writers) w.Tell(Go.Instance);

        var done = ReceiveN(Actors, TimeSpan.FromSeconds(25)).Cast<Done>().Select(d => d.PersistenceId).ToHashSet();
        Assert.Equal(Actors, done.Count);

        // Each Persist is its own WriteMessages (the next one is only sent once the previous is confirmed).
        var commits = Store.Commits - commitsBefore;
        Output?.WriteLine($"{Actors * EventsPerActor} writes in {commits} LMDB transactions");
        Assert.True(commits < Actors * EventsPerActor, $"{commits} commits for {Actors * EventsPerActor} writes: no group commit");

        foreach (var w in writers) w.Tell(PoisonPill.Instance);
        var readers = Enumerable.Range(0, Actors)
            .Select(i => Sys.ActorOf(Props.Create(() => new Writer($"p-group-{i}", EventsPerActor, TestActor)), $"reader-{i}"))
            .ToList();
        foreach (var r in readers) r.Tell(GetState.Instance);

        var states = ReceiveN(Actors, TimeSpan.FromSeconds(25)).Cast<State>().ToList();
        Assert.Equal(Actors, states.Select(s => s.PersistenceId).Distinct().Count());
        foreach (var state in states)
        {
            var expected = Enumerable.Range(1, EventsPerActor).Select(n => $"{state.PersistenceId}:{n}");
            Assert.Equal(expected, state.Events);
        }
    }

    private sealed class Go
    {
        public static readonly Go Instance = new();
    }

    private sealed class Next
    {
        public static readonly Next Instance = new();
    }

    private sealed class GetState
    {
        public static readonly GetState Instance = new();
    }

    private sealed record Done(string PersistenceId);

    private sealed record State(string PersistenceId, IReadOnlyList<string> Events);

    private sealed class Writer : ReceivePersistentActor
    {
        private readonly List<string> _events = [];

        public Writer(string persistenceId, int count, IActorRef monitor)
        {
            PersistenceId = persistenceId;
            Recover<string>(_events.Add);
            Command<GetState>(_ => monitor.Tell(new State(PersistenceId, _events.ToList())));
            Command<Go>(_ => Self.Tell(Next.Instance));
            Command<Next>(_ => Persist($"{PersistenceId}:{_events.Count + 1}", e =>
            {
                _events.Add(e);
                if (_events.Count < count) Self.Tell(Next.Instance);
                else monitor.Tell(new Done(PersistenceId));
            }));
        }

        public override string PersistenceId { get; }
    }
}
