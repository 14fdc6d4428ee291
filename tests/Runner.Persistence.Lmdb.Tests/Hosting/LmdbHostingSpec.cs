using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Runner.Persistence.Lmdb.Hosting;
using Runner.Persistence.Lmdb.Query;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Hosting;

/// <summary>
/// End to end through Microsoft.Extensions.Hosting and Akka.Hosting: <c>WithLmdbPersistence</c> gives a host whose
/// persistent actors persist, recover (also in a later host on the same directory) and can be queried.
/// The TestKit's own actor system only provides probes; the actor systems under test belong to the hosts.
/// </summary>
public sealed class LmdbHostingSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

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

    private static IHost BuildHost(Action<AkkaConfigurationBuilder> configure) =>
        Host.CreateDefaultBuilder()
            .ConfigureServices(services => services.AddAkka("sys", akka =>
            {
                configure(akka);
                akka.AddStartup((system, _) => TestSystems.WarmUp(system));
            }))
            .Build();

    private static LmdbStorageOptions Storage(TempDirectory dir) => new() { DataDirectory = dir.Path, Durability = LmdbDurability.NoSync };

    private static Task<string> Ask(IActorRef actor, string message) => actor.Ask<string>(message, Timeout);

    private static IActorRef StartCounter(ActorSystem system, string id) => system.ActorOf(Props.Create(() => new Counter(id)));

    private static async Task StopAndWait(IActorRef actor) => await actor.GracefulStop(Timeout);

    [Fact]
    public async Task Host_should_start_persist_and_recover_with_default_identifiers()
    {
        using var dir = new TempDirectory();
        using var host = BuildHost(b => b.WithLmdbPersistence(Storage(dir)));
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            Assert.Equal(LmdbPersistence.JournalPath, system.Settings.Config.GetString("akka.persistence.journal.plugin"));
            Assert.Equal(LmdbPersistence.SnapshotStorePath, system.Settings.Config.GetString("akka.persistence.snapshot-store.plugin"));

            var a = StartCounter(system, "hosted-1");
            Assert.Equal("ok:x", await Ask(a, "x"));
            Assert.Equal("ok:y", await Ask(a, "y"));
            await StopAndWait(a);

            var b = StartCounter(system, "hosted-1");
            Assert.Equal("x,y", await Ask(b, "get"));

            // The data went to the configured directory.
            Assert.True(File.Exists(Path.Combine(dir.Path, "data.mdb")));

            var read = PersistenceQuery.Get(system).ReadJournalFor<LmdbReadJournal>(LmdbReadJournal.Identifier);
            var events = await read.CurrentEventsByPersistenceId("hosted-1", 0, long.MaxValue)
                .RunWith(Sink.Seq<Akka.Persistence.Query.EventEnvelope>(), system.Materializer()).WaitAsync(Timeout);
            Assert.Equal(["x", "y"], events.Select(e => e.Event));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Host_should_keep_every_unset_key_at_its_reference_value()
    {
        using var dir = new TempDirectory();
        using var host = BuildHost(b => b.WithLmdbPersistence(Storage(dir)));
        await host.StartAsync();
        try
        {
            var config = host.Services.GetRequiredService<ActorSystem>().Settings.Config;
            var reference = LmdbPersistence.DefaultConfiguration();
            foreach (var path in new[] { LmdbPersistence.JournalPath, LmdbPersistence.SnapshotStorePath, LmdbPersistence.QueryPath })
            {
                foreach (var key in reference.GetConfig(path).AsEnumerable().Select(kv => kv.Key))
                {
                    var expected = key switch
                    {
                        "data-dir" => dir.Path,
                        "durability" => "nosync",
                        _ => reference.GetString($"{path}.{key}"),
                    };
                    Assert.True(expected == config.GetString($"{path}.{key}"), $"{path}.{key}: expected '{expected}', got '{config.GetString($"{path}.{key}")}'");
                }
            }
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Host_should_recover_what_a_previous_host_on_the_same_directory_persisted()
    {
        using var dir = new TempDirectory();
        using (var first = BuildHost(b => b.WithLmdbPersistence(Storage(dir))))
        {
            await first.StartAsync();
            var system = first.Services.GetRequiredService<ActorSystem>();
            var a = StartCounter(system, "hosted-2");
            Assert.Equal("ok:one", await Ask(a, "one"));
            Assert.Equal("ok:two", await Ask(a, "two"));
            await first.StopAsync();
            await system.WhenTerminated.WaitAsync(Timeout);
        }

        using var second = BuildHost(b => b.WithLmdbPersistence(Storage(dir)));
        await second.StartAsync();
        try
        {
            var system = second.Services.GetRequiredService<ActorSystem>();
            var b = StartCounter(system, "hosted-2");
            Assert.Equal("one,two", await Ask(b, "get"));
            Assert.Equal("ok:three", await Ask(b, "three"));
        }
        finally
        {
            await second.StopAsync();
        }
    }

    [Fact]
    public async Task Host_should_work_with_a_custom_identifier_including_the_read_journal()
    {
        using var dir = new TempDirectory();
        var journal = new LmdbJournalOptions(true, "custom") { Storage = Storage(dir) };
        var snapshot = new LmdbSnapshotOptions(true, "custom") { Storage = Storage(dir) };
        using var host = BuildHost(b => b.WithLmdbPersistence(journal, snapshot));
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var config = system.Settings.Config;
            Assert.Equal("akka.persistence.journal.custom", config.GetString("akka.persistence.journal.plugin"));
            Assert.Equal("akka.persistence.snapshot-store.custom", config.GetString("akka.persistence.snapshot-store.plugin"));
            Assert.Equal("akka.persistence.journal.custom", config.GetString($"{LmdbPersistence.QueryPath}.write-plugin"));

            var a = StartCounter(system, "hosted-3");
            Assert.Equal("ok:p", await Ask(a, "p"));

            // A snapshot through the custom snapshot store (of another id: Counter does not take snapshot offers).
            var store = Akka.Persistence.Persistence.Instance.Apply(system).SnapshotStoreFor(null);
            var probe = CreateTestProbe(system);
            store.Tell(new SaveSnapshot(new SnapshotMetadata("hosted-3-snap", 1, DateTime.MinValue), "snap"), probe.Ref);
            probe.ExpectMsg<SaveSnapshotSuccess>(Timeout);
            store.Tell(new LoadSnapshot("hosted-3-snap", SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
            Assert.Equal("snap", probe.ExpectMsg<LoadSnapshotResult>(Timeout).Snapshot?.Snapshot);

            await StopAndWait(a);
            var b = StartCounter(system, "hosted-3");
            Assert.Equal("p", await Ask(b, "get"));

            // The read journal follows write-plugin to the custom journal's directory.
            var read = PersistenceQuery.Get(system).ReadJournalFor<LmdbReadJournal>(LmdbReadJournal.Identifier);
            var ids = await read.CurrentPersistenceIds().RunWith(Sink.Seq<string>(), system.Materializer()).WaitAsync(Timeout);
            Assert.Contains("hosted-3", ids);
            Assert.True(File.Exists(Path.Combine(dir.Path, "data.mdb")));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
