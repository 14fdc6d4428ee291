using System.Text;
using Akka.Actor;
using Akka.Serialization;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>An event stored by <see cref="OpaqueSerializer"/> only.</summary>
public sealed record Opaque(string Value);

/// <summary>An event whose serializer always throws: the journal must reject it.</summary>
public sealed record Unserializable(string Reason);

/// <summary>An event holding an actor reference, which needs the transport information during serialization.</summary>
public sealed record WithActorRef(IActorRef Ref);

/// <summary>String-manifest serializer for <see cref="Opaque"/> (manifest <c>opaque.v1</c>).</summary>
public sealed class OpaqueSerializer(ExtendedActorSystem sys) : SerializerWithStringManifest(sys)
{
    public const int Id = 9101;
    public const string ManifestV1 = "opaque.v1";

    public override int Identifier => Id;

    public override byte[] ToBinary(object obj) => Encoding.UTF8.GetBytes(((Opaque)obj).Value);

    public override object FromBinary(byte[] bytes, string manifest) => manifest == ManifestV1
        ? new Opaque(Encoding.UTF8.GetString(bytes))
        : throw new System.Runtime.Serialization.SerializationException($"OpaqueSerializer does not know manifest '{manifest}'.");

    public override string Manifest(object o) => ManifestV1;
}

/// <summary>Same identifier as <see cref="OpaqueSerializer"/> but a later version that dropped <c>opaque.v1</c>.</summary>
public sealed class OpaqueV2OnlySerializer(ExtendedActorSystem sys) : SerializerWithStringManifest(sys)
{
    public override int Identifier => OpaqueSerializer.Id;

    public override byte[] ToBinary(object obj) => Encoding.UTF8.GetBytes(((Opaque)obj).Value);

    public override object FromBinary(byte[] bytes, string manifest) => manifest == "opaque.v2"
        ? new Opaque(Encoding.UTF8.GetString(bytes))
        : throw new System.Runtime.Serialization.SerializationException($"Unknown manifest '{manifest}'.");

    public override string Manifest(object o) => "opaque.v2";
}

/// <summary>Fails for every payload, as a serializer does for an object it cannot represent.</summary>
public sealed class ThrowingSerializer(ExtendedActorSystem sys) : Serializer(sys)
{
    public override int Identifier => 9102;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new System.Runtime.Serialization.SerializationException($"cannot serialize {obj.GetType().Name}");

    public override object FromBinary(byte[] bytes, Type? type) =>
        throw new System.Runtime.Serialization.SerializationException("cannot deserialize");
}

/// <summary>Stores the actor path with the transport address, as Akka's own serializers do.</summary>
public sealed class ActorRefSerializer(ExtendedActorSystem sys) : SerializerWithStringManifest(sys)
{
    public override int Identifier => 9103;

    public override byte[] ToBinary(object obj) =>
        Encoding.UTF8.GetBytes(Serialization.SerializedActorPath(((WithActorRef)obj).Ref));

    public override object FromBinary(byte[] bytes, string manifest) =>
        new WithActorRef(system.Provider.ResolveActorRef(Encoding.UTF8.GetString(bytes)));

    public override string Manifest(object o) => "ref";
}

internal static class TestSerializers
{
    private static string Name<T>() => $"\"{typeof(T).FullName}, {typeof(T).Assembly.GetName().Name}\"";

    /// <summary>HOCON binding the test event types to their serializers.</summary>
    public static readonly string Hocon = $$"""
        akka.actor {
          serializers {
            opaque = {{Name<OpaqueSerializer>()}}
            throwing = {{Name<ThrowingSerializer>()}}
            actor-ref = {{Name<ActorRefSerializer>()}}
          }
          serialization-bindings {
            {{Name<Opaque>()}} = opaque
            {{Name<Unserializable>()}} = throwing
            {{Name<WithActorRef>()}} = actor-ref
          }
        }
        """;

    /// <summary>HOCON where <see cref="Opaque"/> is bound to <see cref="OpaqueV2OnlySerializer"/>.</summary>
    public static readonly string V2OnlyHocon = $$"""
        akka.actor {
          serializers.opaque = {{Name<OpaqueV2OnlySerializer>()}}
          serialization-bindings { {{Name<Opaque>()}} = opaque }
        }
        """;
}
