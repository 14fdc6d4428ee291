using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests;

public sealed class SmokeSpec(ITestOutputHelper output) : LmdbSpecBase(output)
{
    private sealed class Counter : ReceivePersistentActor
    {
        private readonly List<string> _events = [];

        public Counter(string id)
        {
            PersistenceId = id;
            Recover<string>(e => _events.Add(e));
            Command<string>(s => s == "get", _ => Sender.Tell(string.Join(",", _events)));
            Command<string>(s => Persist(s, e =>
            {
                _events.Add(e);
                Sender.Tell("ok:" + e);
            }));
        }

        public override string PersistenceId { get; }
    }

    [Fact]
    public void Persistent_actor_should_recover_its_events()
    {
        var a = Sys.ActorOf(Props.Create(() => new Counter("p-1")));
        a.Tell("a");
        ExpectMsg("ok:a");
        a.Tell("b");
        ExpectMsg("ok:b");
        Watch(a);
        Sys.Stop(a);
        ExpectTerminated(a);

        var b = Sys.ActorOf(Props.Create(() => new Counter("p-1")));
        b.Tell("get");
        ExpectMsg("a,b");
    }
}
