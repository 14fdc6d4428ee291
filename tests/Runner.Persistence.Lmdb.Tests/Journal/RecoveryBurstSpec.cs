using Akka.Actor;
using Akka.Persistence;
using Runner.Persistence.Lmdb.Internal;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// A node boots over a journal holding thousands of persistence ids and starts them all at once: a fresh actor
/// system, its scheduler started at boot as a node does, 3,000 persistent actors created while every thread of the
/// pool is busy (so that their recoveries start together from a queue full of each other's work).
/// </summary>
[Collection(ProcessWideSpecs.Name)]
public sealed class RecoveryBurstSpec(ITestOutputHelper output) : IDisposable
{
    private const int Ids = 3000;
    private const int EventsPerId = 2;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_fresh_system_should_recover_thousands_of_persistence_ids_at_once_on_a_busy_thread_pool()
    {
        await Seed();

        var node = TestSystems.Create("node", LmdbSpecBase.Config(_dir.Path));
        try
        {
            var recovered = new Recovered(Ids);
            using (var gate = new ManualResetEventSlim())
            {
                var blockers = Enumerable.Range(0, Math.Max(ThreadPool.ThreadCount, Environment.ProcessorCount))
                    .Select(_ => Task.Factory.StartNew(gate.Wait, CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default))
                    .ToArray();
                for (var i = 0; i < Ids; i++)
                {
                    var pid = Pid(i);
                    node.ActorOf(Props.Create(() => new Instance(pid, recovered)));
                }

                gate.Set();
                await Task.WhenAll(blockers);
            }

            var started = Environment.TickCount64;
            var all = await Task.WhenAny(recovered.All.Task, Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(all == recovered.All.Task, $"{recovered.Left} of {Ids} persistence ids still recovering after 60 s");
            output.WriteLine($"{Ids} persistence ids recovered {Environment.TickCount64 - started} ms after the pool was released");
            Assert.Empty(recovered.Wrong);
        }
        finally
        {
            await node.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static string Pid(int i) => $"saga|t{i % 50}|order|o{i}";

    private async Task Seed()
    {
        var seed = TestSystems.Create("seed", LmdbSpecBase.Config(_dir.Path));
        try
        {
            var store = LmdbPersistence.Get(seed).StoreFor(LmdbPersistence.JournalPath);
            var codec = new EventCodec((ExtendedActorSystem)seed);
            var events = Enumerable.Range(0, Ids)
                .SelectMany(i => Enumerable.Range(1, EventsPerId).Select(seq =>
                    codec.Prepare(new Persistent($"{Pid(i)}:{seq}", seq, Pid(i), string.Empty, false, ActorRefs.NoSender, "seed"))))
                .ToList();
            await store.WriteAsync(ctx =>
            {
                LmdbStore.WriteEvents(ctx, events);
                return true;
            }).WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await seed.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private sealed class Recovered(int count)
    {
        private int _left = count;

        public TaskCompletionSource All { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public System.Collections.Concurrent.ConcurrentBag<string> Wrong { get; } = [];

        public int Left => Volatile.Read(ref _left);

        public void One(string persistenceId, IReadOnlyList<string> events)
        {
            if (!events.SequenceEqual(Enumerable.Range(1, EventsPerId).Select(seq => $"{persistenceId}:{seq}"))) Wrong.Add(persistenceId);
            if (Interlocked.Decrement(ref _left) == 0) All.SetResult();
        }
    }

    private sealed class Instance : ReceivePersistentActor
    {
        private readonly List<string> _events = [];

        public Instance(string persistenceId, Recovered recovered)
        {
            PersistenceId = persistenceId;
            Recover<string>(_events.Add);
            Recover<RecoveryCompleted>(_ => recovered.One(persistenceId, _events));
        }

        public override string PersistenceId { get; }
    }
}
