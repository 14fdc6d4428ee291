using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Serialization;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>Akka serialization of events and snapshots (serializer id + manifest + bytes).</summary>
internal sealed class EventCodec(ExtendedActorSystem system)
{
    private readonly Serialization _serialization = system.Serialization;

    /// <summary>Serializes one event; throws (a rejection) when the payload cannot be serialized or keyed.</summary>
    public PreparedEvent Prepare(IPersistentRepresentation p)
    {
        Keys.CheckName(p.PersistenceId, "persistence id");
        var payload = p.Payload;
        IReadOnlyList<string> tags = [];
        if (payload is Tagged tagged)
        {
            payload = tagged.Payload;
            tags = tagged.Tags.Distinct(StringComparer.Ordinal).ToArray();
            foreach (var tag in tags) Keys.CheckName(tag, "tag");
        }

        var (id, manifest, bytes) = Serialize(payload);
        var timestamp = p.Timestamp != 0 ? p.Timestamp : DateTime.UtcNow.Ticks;
        var record = new EventRecord(0, timestamp, id, manifest, p.Manifest ?? string.Empty, p.WriterGuid ?? string.Empty, tags, bytes);
        return new PreparedEvent(p.PersistenceId, p.SequenceNr, tags, record.Encode());
    }

    public (int SerializerId, string Manifest, byte[] Bytes) Serialize(object payload)
    {
        var serializer = _serialization.FindSerializerFor(payload);
        var manifest = Serialization.ManifestFor(serializer, payload);
        var bytes = Serialization.WithTransport(system, (serializer, payload), static s => s.serializer.ToBinary(s.payload));
        return (serializer.Identifier, manifest, bytes);
    }

    /// <summary>Deserializes an event; the error names the persistence id and sequence number.</summary>
    public object Deserialize(string persistenceId, long sequenceNr, int serializerId, string manifest, ReadOnlyMemory<byte> bytes, string what = "event")
    {
        try
        {
            return _serialization.Deserialize(bytes.ToArray(), serializerId, manifest);
        }
        catch (Exception e)
        {
            throw new System.Runtime.Serialization.SerializationException(
                $"Cannot deserialize {what} {persistenceId} sequence number {sequenceNr} (serializer id {serializerId}, manifest '{manifest}'): {e.Message}", e);
        }
    }

    public Persistent ToPersistent(StoredEvent e)
    {
        var r = e.Record;
        var payload = Deserialize(e.PersistenceId, e.SequenceNr, r.SerializerId, r.Manifest, r.Payload);
        return new Persistent(payload, e.SequenceNr, e.PersistenceId, r.AdapterManifest, false, ActorRefs.NoSender, r.WriterGuid, r.Timestamp);
    }
}
