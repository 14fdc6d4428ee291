using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// What the TCK <c>JournalSerializationSpec</c> and <c>JournalSpec.Journal_should_serialize_events</c> check: payloads go
/// through Akka serialization (plain, string-manifest and transport-dependent serializers) and every field of the
/// persistent representation the journal owns comes back on replay. Tagged payloads are stored unwrapped with tags.
/// </summary>
public sealed class LmdbJournalSerializationSpec(ITestOutputHelper output)
    : JournalSpecBase(output, TestSerializers.Hocon + """

        akka.persistence.journal.lmdb {
          event-adapters.versioned = "Runner.Persistence.Lmdb.Tests.Journal.VersioningAdapter, Runner.Persistence.Lmdb.Tests"
          event-adapter-bindings {
            "Runner.Persistence.Lmdb.Tests.Journal.Renamed, Runner.Persistence.Lmdb.Tests" = versioned
            "Runner.Persistence.Lmdb.Tests.Journal.RenamedStored, Runner.Persistence.Lmdb.Tests" = versioned
          }
        }
        """)
{
    [Fact]
    public void Journal_should_serialize_a_string_payload()
    {
        WriteSuccessfully([Atomic(Event("p-str", 1, "string payload"))]);
        var replayed = Assert.Single(Replay("p-str").Events);
        Assert.Equal("string payload", replayed.Payload);
        Assert.Equal("p-str", replayed.PersistenceId);
        Assert.Equal(1, replayed.SequenceNr);
    }

    [Fact]
    public void Journal_should_serialize_a_payload_with_a_string_manifest_serializer()
    {
        WriteSuccessfully([Atomic(Event("p-opaque", 1, new Opaque("hello")))]);
        Assert.Equal(new Opaque("hello"), Assert.Single(Replay("p-opaque").Events).Payload);

        var stored = Assert.Single(Store.ReadEvents("p-opaque", 1, 1, 10));
        Assert.Equal(OpaqueSerializer.Id, stored.Record.SerializerId);
        Assert.Equal(OpaqueSerializer.ManifestV1, stored.Record.Manifest);
    }

    [Fact]
    public void Journal_should_serialize_events_holding_actor_references()
    {
        var probe = CreateTestProbe();
        var acked = WriteSuccessfully([Atomic(Event("p-ref", 1, new WithActorRef(probe.Ref)))]);
        Assert.True(acked[0].Sender is null || acked[0].Sender.Equals(ActorRefs.NoSender) || acked[0].Sender.Equals(Sys.DeadLetters));

        var replayed = Assert.Single(Replay("p-ref").Events);
        Assert.Equal(new WithActorRef(probe.Ref), replayed.Payload);
        Assert.True(replayed.Sender is null || replayed.Sender.Equals(ActorRefs.NoSender) || replayed.Sender.Equals(Sys.DeadLetters));
    }

    [Fact]
    public void Journal_should_preserve_writer_guid_timestamp_and_adapter_manifest()
    {
        // Akka.Persistence drops the timestamp of a Persistent before the journal sees it (Persistent.Update), so the
        // journal stamps the write; that stamp is what every replay must give back.
        var before = DateTime.UtcNow.Ticks;
        WriteSuccessfully([Atomic(Event("p-meta", 1, "e", manifest: "adapter-manifest"))]);
        var after = DateTime.UtcNow.Ticks;

        var replayed = Assert.Single(Replay("p-meta").Events);
        Assert.Equal(WriterGuid, replayed.WriterGuid);
        Assert.Equal("adapter-manifest", replayed.Manifest);
        Assert.Equal("e", replayed.Payload);
        Assert.InRange(replayed.Timestamp, before, after);

        Assert.Equal(replayed.Timestamp, Assert.Single(Replay("p-meta").Events).Timestamp);
        var stored = Assert.Single(Store.ReadEvents("p-meta", 1, 1, 10));
        Assert.Equal(replayed.Timestamp, stored.Record.Timestamp);
        Assert.Equal(WriterGuid, stored.Record.WriterGuid);
        Assert.Equal("adapter-manifest", stored.Record.AdapterManifest);
    }

    [Fact]
    public void Journal_should_give_each_writer_its_own_guid_on_replay()
    {
        var other = Guid.NewGuid().ToString();
        WriteSuccessfully([
            Atomic(Event("p-guids", 1)),
            Atomic(new Persistent("a-2", 2, "p-guids", string.Empty, false, ActorRefs.NoSender, other)),
        ]);
        Assert.Equal([WriterGuid, other], Replay("p-guids").Events.Select(e => e.WriterGuid));
    }

    [Fact]
    public void Journal_should_store_the_manifest_of_an_event_adapter_and_give_it_back_to_the_adapter()
    {
        var actor = Sys.ActorOf(Props.Create(() => new RenamingActor("p-adapted")));
        actor.Tell("first");
        ExpectMsg("persisted:first");

        // Stored: the adapter's journal type and manifest. Replayed through the adapter: the domain event again.
        var raw = Assert.Single(Store.ReadEvents("p-adapted", 1, 1, 10));
        Assert.Equal(VersioningAdapter.ManifestV2, raw.Record.AdapterManifest);
        var replayed = Assert.Single(Replay("p-adapted").Events);
        Assert.Equal(VersioningAdapter.ManifestV2, replayed.Manifest);
        Assert.Equal(new Renamed("first"), replayed.Payload);

        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor);
        var recovered = Sys.ActorOf(Props.Create(() => new RenamingActor("p-adapted")));
        recovered.Tell("state");
        ExpectMsg("state:first");
    }

    [Fact]
    public void Journal_should_store_tagged_payloads_unwrapped_with_their_tags()
    {
        WriteSuccessfully([
            Atomic(Event("p-tagged", 1, new Tagged("one", ["red", "blue"]))),
            Atomic(Event("p-tagged", 2, new Tagged(new Opaque("two"), ["blue"]))),
            Atomic(Event("p-tagged", 3, "untagged")),
        ]);

        var replayed = Replay("p-tagged").Events;
        Assert.Equal(["one", new Opaque("two"), "untagged"], replayed.Select(e => e.Payload));
        Assert.All(replayed, e => Assert.IsNotType<Tagged>(e.Payload));

        var stored = Store.ReadEvents("p-tagged", 1, 3, 10);
        Assert.Equal(["blue", "red"], stored[0].Record.Tags.Order(StringComparer.Ordinal)); // Tagged.Tags is a set
        Assert.Equal(["blue"], stored[1].Record.Tags);
        Assert.Empty(stored[2].Record.Tags);
        Assert.Equal([1L, 2L], Store.ReadEventsByTag("blue", 0, long.MaxValue, 10).Select(e => e.SequenceNr));
        Assert.Equal([1L], Store.ReadEventsByTag("red", 0, long.MaxValue, 10).Select(e => e.SequenceNr));
    }

    private sealed class RenamingActor : ReceivePersistentActor
    {
        private readonly List<string> _names = [];

        public RenamingActor(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<Renamed>(e => _names.Add(e.Name));
            Command<string>(s => s == "state", _ => Sender.Tell("state:" + string.Join(",", _names)));
            Command<string>(s => Persist(new Renamed(s), e =>
            {
                _names.Add(e.Name);
                Sender.Tell("persisted:" + e.Name);
            }));
        }

        public override string PersistenceId { get; }
    }
}

/// <summary>Domain event of <see cref="VersioningAdapter"/>.</summary>
public sealed record Renamed(string Name);

/// <summary>Journal representation of <see cref="Renamed"/>.</summary>
public sealed record RenamedStored(string Name);

/// <summary>Stores <see cref="Renamed"/> as <see cref="RenamedStored"/> with manifest <c>renamed.v2</c>; reads it back only with that manifest.</summary>
public sealed class VersioningAdapter : IEventAdapter
{
    public const string ManifestV2 = "renamed.v2";

    public string Manifest(object evt) => ManifestV2;

    public object ToJournal(object evt) => new RenamedStored(((Renamed)evt).Name);

    public IEventSequence FromJournal(object evt, string manifest) => manifest == ManifestV2 && evt is RenamedStored stored
        ? EventSequence.Single(new Renamed(stored.Name))
        : throw new InvalidOperationException($"unexpected journal event '{evt}' with manifest '{manifest}'");
}
