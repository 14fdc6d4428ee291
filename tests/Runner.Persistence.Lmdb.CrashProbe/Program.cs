using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Runner.Persistence.Lmdb;

// Usage:
//   persist <dir> <persistenceId> <count> [sync|nometasync|nosync]   persists count events after the recovered ones,
//                                                                    printing "acked <seqNr>" after each acknowledgement
//   recover <dir> <persistenceId>                                    prints "recovered <n> contiguous=<true|false> last=<seqNr>"
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: persist <dir> <pid> <count> [durability] | recover <dir> <pid>");
    return 2;
}

var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
var mode = args[0];
var dir = args[1].Replace("\\", "/", StringComparison.Ordinal);
var pid = args[2];
var durability = args.Length > 4 ? args[4] : "sync";
var config = ConfigurationFactory.ParseString($$"""
    akka.loglevel = WARNING
    akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.lmdb"
    akka.persistence.journal.lmdb { data-dir = "{{dir}}", durability = {{durability}} }
    akka.persistence.snapshot-store.lmdb { data-dir = "{{dir}}", durability = {{durability}} }
    """).WithFallback(LmdbPersistence.DefaultConfiguration());

using var system = ActorSystem.Create("probe", config);
var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
var count = mode == "persist" ? long.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 0;
system.ActorOf(Props.Create(() => new ProbeActor(pid, mode, count, stdout, done)), "probe");
var rc = await done.Task.ConfigureAwait(false);
await system.Terminate().ConfigureAwait(false);
return rc;

/// <summary>Recovers, then persists one event at a time (the next only after the previous is acknowledged).</summary>
internal sealed class ProbeActor : ReceivePersistentActor
{
    private readonly List<long> _recovered = [];
    private readonly TextWriter _out;

    public ProbeActor(string persistenceId, string mode, long count, TextWriter output, TaskCompletionSource<int> done)
    {
        PersistenceId = persistenceId;
        _out = output;
        Recover<string>(e => _recovered.Add(long.Parse(e[2..], System.Globalization.CultureInfo.InvariantCulture)));
        Recover<RecoveryCompleted>(_ =>
        {
            var contiguous = _recovered.Select((v, i) => v == i + 1).All(b => b);
            _out.WriteLine($"recovered {_recovered.Count} contiguous={contiguous.ToString().ToLowerInvariant()} last={LastSequenceNr}");
            if (mode == "recover")
            {
                done.TrySetResult(contiguous ? 0 : 1);
                return;
            }

            Self.Tell(new Next(LastSequenceNr + 1, LastSequenceNr + count));
        });
        Command<Next>(n =>
        {
            if (n.Seq > n.Last)
            {
                _out.WriteLine("done");
                done.TrySetResult(0);
                return;
            }

            // The payload carries its own sequence number, so recovery can check order and gaps.
            Persist($"e-{n.Seq}", _ =>
            {
                _out.WriteLine($"acked {LastSequenceNr}");
                Self.Tell(n with { Seq = n.Seq + 1 });
            });
        });
    }

    public override string PersistenceId { get; }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _out.WriteLine($"failed {sequenceNr}: {cause.Message}");
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    private sealed record Next(long Seq, long Last);
}
