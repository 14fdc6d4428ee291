using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using AkkaPersistence = Akka.Persistence.Persistence;
using Akka.Serialization;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Snapshot;

/// <summary>
/// Snapshots go through Akka serialization and come back with the serializer and manifest they were written
/// with (what Akka's TCK <c>SnapshotStoreSerializationSpec</c> checks), and an unreadable one fails loudly.
/// </summary>
public sealed class LmdbSnapshotStoreSerializationSpec(ITestOutputHelper output) : LmdbSpecBase(output, Bindings)
{
    internal const string Bindings = """
        akka.actor {
          serializers {
            snap-typed = "Runner.Persistence.Lmdb.Tests.Snapshot.TypedSnapshotSerializer, Runner.Persistence.Lmdb.Tests"
            snap-string = "Runner.Persistence.Lmdb.Tests.Snapshot.StringManifestSnapshotSerializer, Runner.Persistence.Lmdb.Tests"
          }
          serialization-bindings {
            "Runner.Persistence.Lmdb.Tests.Snapshot.TypedSnapshot, Runner.Persistence.Lmdb.Tests" = snap-typed
            "Runner.Persistence.Lmdb.Tests.Snapshot.StringManifestSnapshot, Runner.Persistence.Lmdb.Tests" = snap-string
            "Runner.Persistence.Lmdb.Tests.Snapshot.RefSnapshot, Runner.Persistence.Lmdb.Tests" = snap-string
          }
        }
        """;

    private IActorRef Store => AkkaPersistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    private object? RoundTrip(string pid, object snapshot)
    {
        var probe = CreateTestProbe();
        Store.Tell(new SaveSnapshot(new SnapshotMetadata(pid, 1, DateTime.MinValue), snapshot), probe.Ref);
        probe.ExpectMsg<SaveSnapshotSuccess>();
        Store.Tell(new LoadSnapshot(pid, SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        return probe.ExpectMsg<LoadSnapshotResult>().Snapshot?.Snapshot;
    }

    [Fact]
    public void SnapshotStore_should_serialize_a_payload_with_a_type_manifest()
    {
        // The serializer adds a dot on each side: proof that it, not a default one, did the work.
        var loaded = Assert.IsType<TypedSnapshot>(RoundTrip("typed", new TypedSnapshot("a")));
        Assert.Equal(".a.", loaded.Data);
    }

    [Fact]
    public void SnapshotStore_should_serialize_a_payload_with_a_string_manifest()
    {
        var loaded = Assert.IsType<StringManifestSnapshot>(RoundTrip("string-manifest", new StringManifestSnapshot("a")));
        Assert.Equal(".a.", loaded.Data);
    }

    [Fact]
    public void SnapshotStore_should_serialize_a_payload_holding_an_actor_ref()
    {
        var target = CreateTestProbe();
        var loaded = Assert.IsType<RefSnapshot>(RoundTrip("with-ref", new RefSnapshot(target.Ref)));
        Assert.Equal(target.Ref, loaded.Ref);
        loaded.Ref.Tell("ping");
        target.ExpectMsg("ping");
    }

    [Fact]
    public void SnapshotStore_should_serialize_an_AtLeastOnceDeliverySnapshot()
    {
        var unconfirmed = new[]
        {
            new UnconfirmedDelivery(1, TestActor.Path, "a"),
            new UnconfirmedDelivery(2, TestActor.Path, "b"),
            new UnconfirmedDelivery(3, TestActor.Path, 42),
        };
        var snapshot = new AtLeastOnceDeliverySnapshot(17, unconfirmed);
        Assert.Equal(snapshot, RoundTrip("alod", snapshot));

        var empty = new AtLeastOnceDeliverySnapshot(13, []);
        Assert.Equal(empty, RoundTrip("alod-empty", empty));
    }

    [Fact]
    public async Task SnapshotStore_should_fail_a_load_whose_serializer_is_unknown_naming_persistence_id_and_sequence_number()
    {
        using var dir = new TempDirectory();

        var writer = TestSystems.Create("writer", ConfigurationFactory.ParseString(Bindings).WithFallback(Config(dir.Path)));
        try
        {
            var probe = CreateTestProbe(writer);
            var store = AkkaPersistence.Instance.Apply(writer).SnapshotStoreFor(null);
            store.Tell(new SaveSnapshot(new SnapshotMetadata("orphan", 7, DateTime.MinValue), new StringManifestSnapshot("x")), probe.Ref);
            probe.ExpectMsg<SaveSnapshotSuccess>();
        }
        finally
        {
            // The store of a directory is shared per process and released when its last actor system terminates.
            await writer.Terminate();
        }

        var reader = TestSystems.Create("reader", Config(dir.Path));
        try
        {
            var probe = CreateTestProbe(reader);
            var store = AkkaPersistence.Instance.Apply(reader).SnapshotStoreFor(null);
            store.Tell(new LoadSnapshot("orphan", SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
            var failed = probe.ExpectMsg<LoadSnapshotFailed>();
            Assert.Contains("orphan", failed.Cause.Message, StringComparison.Ordinal);
            Assert.Contains("sequence number 7", failed.Cause.Message, StringComparison.Ordinal);
            Assert.Contains(StringManifestSnapshotSerializer.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), failed.Cause.Message, StringComparison.Ordinal);
        }
        finally
        {
            await reader.Terminate();
        }
    }
}

public sealed record TypedSnapshot(string Data);

public sealed record StringManifestSnapshot(string Data);

public sealed record RefSnapshot(IActorRef Ref);

/// <summary>Serializer that relies on the type manifest Akka stores with the payload.</summary>
public sealed class TypedSnapshotSerializer(ExtendedActorSystem system) : Serializer(system)
{
    public override int Identifier => 77124;

    public override bool IncludeManifest => true;

    public override byte[] ToBinary(object obj) => obj is TypedSnapshot s
        ? Encoding.UTF8.GetBytes("." + s.Data)
        : throw new ArgumentException($"cannot serialize {obj.GetType()}");

    public override object FromBinary(byte[] bytes, Type type) => type == typeof(TypedSnapshot)
        ? new TypedSnapshot(Encoding.UTF8.GetString(bytes) + ".")
        : throw new ArgumentException($"cannot deserialize {type}");
}

/// <summary>Serializer that relies on its own string manifest; also carries actor refs as serialized paths.</summary>
public sealed class StringManifestSnapshotSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 77126;

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        StringManifestSnapshot => "S",
        RefSnapshot => "R",
        _ => throw new ArgumentException($"cannot serialize {o.GetType()}"),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        StringManifestSnapshot s => Encoding.UTF8.GetBytes("." + s.Data),
        RefSnapshot r => Encoding.UTF8.GetBytes(Akka.Serialization.Serialization.SerializedActorPath(r.Ref)),
        _ => throw new ArgumentException($"cannot serialize {obj.GetType()}"),
    };

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        "S" => new StringManifestSnapshot(Encoding.UTF8.GetString(bytes) + "."),
        "R" => new RefSnapshot(system.Provider.ResolveActorRef(Encoding.UTF8.GetString(bytes))),
        _ => throw new ArgumentException($"unknown manifest '{manifest}'"),
    };
}
