namespace Runner.Persistence.Lmdb;

/// <summary>
/// A replica log in front of an LMDB store (<see cref="LmdbStateStore.UseReplicator"/>): the journal and snapshot store
/// hand it every write of a replicated persistence id, as an opaque record, instead of writing it themselves. The
/// replicator makes the record durable off the node first, then applies it to this store through
/// <see cref="LmdbStateStore.CommitReplicatedAsync"/>; the write completes (and the persistent actor goes on) only then.
/// </summary>
public interface IStoreReplicator
{
    /// <summary>
    /// The log <paramref name="persistenceId"/> belongs to (e.g. its tenant), or null when its writes stay on this node.
    /// Called for every write: cheap and pure.
    /// </summary>
    string? KeyOf(string persistenceId);

    /// <summary>
    /// Ships <paramref name="record"/> to the log of <paramref name="key"/>, in call order per key, then commits it to the
    /// store. Completes when the store has it; fails when either refused it (the store then does not have it).
    /// </summary>
    Task ReplicateAsync(string key, byte[] record);
}
