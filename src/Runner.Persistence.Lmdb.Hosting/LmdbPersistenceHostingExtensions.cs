using Akka.Hosting;
using Akka.Persistence.Hosting;

namespace Runner.Persistence.Lmdb.Hosting;

/// <summary>Akka.Hosting registration of the LMDB journal, snapshot store and read journal.</summary>
public static class LmdbPersistenceHostingExtensions
{
    /// <summary>
    /// Makes LMDB the default journal and snapshot store (one shared environment) and registers the read journal
    /// <c>akka.persistence.query.journal.lmdb</c>. Options left null keep the defaults of the embedded reference.conf.
    /// </summary>
    public static AkkaConfigurationBuilder WithLmdbPersistence(this AkkaConfigurationBuilder builder, LmdbStorageOptions? storage = null,
        Action<AkkaPersistenceJournalBuilder>? journalBuilder = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        storage ??= LmdbStorageOptions.Default;
        var journal = new LmdbJournalOptions(true) { Storage = storage };
        var snapshot = new LmdbSnapshotOptions(true) { Storage = storage };
        return builder.WithLmdbPersistence(journal, snapshot, journalBuilder);
    }

    /// <summary>Registers explicit journal and snapshot options (for non-default identifiers).</summary>
    public static AkkaConfigurationBuilder WithLmdbPersistence(this AkkaConfigurationBuilder builder, LmdbJournalOptions journal,
        LmdbSnapshotOptions snapshot, Action<AkkaPersistenceJournalBuilder>? journalBuilder = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(snapshot);
        builder.AddHocon(LmdbPersistence.DefaultConfiguration(), HoconAddMode.Append);
        builder.AddHocon(
            $"{LmdbPersistence.QueryPath}.write-plugin = {("akka.persistence.journal." + journal.Identifier).ToHocon()}",
            HoconAddMode.Prepend);
        builder = journalBuilder is null
            ? builder.WithJournalAndSnapshot(journal, snapshot)
            : builder.WithJournalAndSnapshot(journal, snapshot, journalBuilder, _ => { });
        // RUNNER_DATA_DIR wins over the options, as it does over the node's HOCON (the one mapping of the variable).
        var environment = LmdbPersistence.EnvironmentOverrides(Environment.GetEnvironmentVariable,
            "akka.persistence.journal." + journal.Identifier, "akka.persistence.snapshot-store." + snapshot.Identifier);
        return environment.IsEmpty ? builder : builder.AddHocon(environment, HoconAddMode.Prepend);
    }
}
