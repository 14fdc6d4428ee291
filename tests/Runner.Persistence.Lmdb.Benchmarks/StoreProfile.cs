using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Persistence;
using Runner.Persistence.Lmdb.Internal;

namespace Runner.Persistence.Lmdb.Benchmarks;

/// <summary>
/// <c>--profile</c>: splits the LMDB journal's cost below the journal actor, using the plugin's internals directly:
/// the commit latency (fsync), the store's group-commit throughput without Akka, and the serialization cost.
/// Compare with the journal rows of the main run to see what the actor layer adds.
/// </summary>
internal static class StoreProfile
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task RunAsync(BenchOptions options, TextWriter log)
    {
        var payload = new string('x', options.PayloadBytes);
        foreach (var kind in new[] { JournalKind.Lmdb, JournalKind.LmdbNoSync })
        {
            var dir = Path.Combine(Path.GetTempPath(), $"runner-journal-profile-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                var system = ActorSystem.Create("journal-profile", kind.Config(dir));
                try
                {
                    var store = LmdbPersistence.Get(system).StoreFor(LmdbPersistence.JournalPath);
                    var codec = new EventCodec((ExtendedActorSystem)system);
                    var writer = Guid.NewGuid().ToString();
                    PreparedEvent Event(string pid, long seq) =>
                        codec.Prepare(new Persistent(payload, seq, pid, string.Empty, false, ActorRefs.NoSender, writer));

                    // Warm-up, then one event per commit, one commit at a time: the durable commit latency.
                    await Commits(store, Enumerable.Range(1, 50).Select(i => Event("warm", i)).ToArray(), 1, sequential: true);
                    var single = Enumerable.Range(1, 500).Select(i => Event("single", i)).ToArray();
                    var t1 = await Commits(store, single, 1, sequential: true);
                    log.WriteLine(string.Create(Inv,
                        $"{kind.Name(),-12} 1 event/commit, sequential : {t1.TotalMilliseconds * 1000 / single.Length,8:0} us/commit ({single.Length / t1.TotalSeconds,9:N0} ev/s)"));

                    // 1,000 writers' worth of requests queued at once: what group commit gives without Akka.
                    foreach (var perRequest in new[] { 1, 100 })
                    {
                        var events = Enumerable.Range(0, 100_000).Select(i => Event($"bulk{perRequest}-{i % 1000}", i / 1000 + 1)).ToArray();
                        var commitsBefore = store.Commits;
                        var t = await Commits(store, events, perRequest, sequential: false);
                        var commits = store.Commits - commitsBefore;
                        log.WriteLine(string.Create(Inv,
                            $"{kind.Name(),-12} {perRequest,3} ev/request, all queued: {events.Length / t.TotalSeconds,9:N0} ev/s, {commits} commits " +
                            $"(~{(double)events.Length / commits:0} ev/commit, {t.TotalMilliseconds * 1000 / commits:0} us/commit)"));
                    }

                    if (kind == JournalKind.Lmdb)
                    {
                        // Serialization + record encoding, as the journal does it per event.
                        var reps = Enumerable.Range(1, 100_000)
                            .Select(i => new Persistent(payload, i, "codec", string.Empty, false, ActorRefs.NoSender, writer)).ToArray();
                        for (var round = 0; round < 2; round++)
                        {
                            var sw = Stopwatch.StartNew();
                            foreach (var r in reps) codec.Serialize(r.Payload);
                            var serialize = sw.Elapsed;
                            sw.Restart();
                            foreach (var r in reps) codec.Prepare(r);
                            var prepare = sw.Elapsed;
                            if (round == 0) continue; // the first round is JIT warm-up
                            log.WriteLine(string.Create(Inv,
                                $"{"codec",-12} EventCodec.Prepare per event: {prepare.TotalMilliseconds * 1_000_000 / reps.Length,8:0} ns " +
                                $"(of which Akka serialization {serialize.TotalMilliseconds * 1_000_000 / reps.Length:0} ns)"));
                        }
                    }
                }
                finally
                {
                    await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
                }
            }
            finally
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (IOException)
                {
                    // Best effort.
                }
            }
        }
    }

    private static async Task<TimeSpan> Commits(LmdbStore store, PreparedEvent[] events, int perRequest, bool sequential)
    {
        var sw = Stopwatch.StartNew();
        var pending = new List<Task>();
        foreach (var chunk in events.Chunk(perRequest))
        {
            var write = store.WriteAsync(ctx =>
            {
                LmdbStore.WriteEvents(ctx, chunk);
                return true;
            });
            if (sequential) await write;
            else pending.Add(write);
        }

        await Task.WhenAll(pending);
        return sw.Elapsed;
    }
}
