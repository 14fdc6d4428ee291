using Akka.Configuration;
using Akka.Persistence.Sql;

namespace Runner.Persistence.Lmdb.Benchmarks;

/// <summary>A journal under test.</summary>
internal enum JournalKind
{
    /// <summary>Akka's in-memory journal: the ceiling.</summary>
    Memory,

    /// <summary>Our LMDB journal in its default durable mode (durability = sync).</summary>
    Lmdb,

    /// <summary>Akka.Persistence.Sql on a SQLite file through Microsoft.Data.Sqlite, with the plugin's defaults.</summary>
    Sqlite,

    /// <summary>Our LMDB journal with durability = nosync (informational, not a headline number).</summary>
    LmdbNoSync,
}

internal static class JournalKinds
{
    public static string Name(this JournalKind kind) => kind switch
    {
        JournalKind.Memory => "memory",
        JournalKind.Lmdb => "lmdb",
        JournalKind.Sqlite => "sqlite",
        JournalKind.LmdbNoSync => "lmdb-nosync",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static JournalKind Parse(string name)
    {
        foreach (var kind in Enum.GetValues<JournalKind>())
        {
            if (string.Equals(kind.Name(), name.Trim(), StringComparison.OrdinalIgnoreCase)) return kind;
        }

        throw new FormatException($"unknown journal '{name}' (memory, lmdb, sqlite, lmdb-nosync)");
    }

    /// <summary>
    /// HOCON of an actor system whose default journal is <paramref name="kind"/>, storing files under
    /// <paramref name="dir"/>. Every journal gets the same in-memory snapshot store (no snapshots are taken; recovery
    /// only asks it for none), so replay numbers measure the journal alone.
    /// </summary>
    public static Config Config(this JournalKind kind, string dir)
    {
        var d = dir.Replace("\\", "/", StringComparison.Ordinal);
        var journal = kind switch
        {
            JournalKind.Memory => """
                akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
                """,
            JournalKind.Lmdb or JournalKind.LmdbNoSync => $$"""
                akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
                akka.persistence.journal.lmdb {
                  data-dir = "{{d}}/lmdb"
                  durability = {{(kind == JournalKind.Lmdb ? "sync" : "nosync")}}
                }
                """,
            JournalKind.Sqlite => $$"""
                akka.persistence.journal.plugin = "akka.persistence.journal.sql"
                akka.persistence.journal.sql {
                  connection-string = "Data Source={{d}}/journal.db"
                  provider-name = "SQLite.MS"
                  auto-initialize = on
                }
                """,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };

        var config = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            {{journal}}
            """);
        return kind switch
        {
            JournalKind.Lmdb or JournalKind.LmdbNoSync => config.WithFallback(LmdbPersistence.DefaultConfiguration()),
            JournalKind.Sqlite => config.WithFallback(SqlPersistence.DefaultConfiguration),
            _ => config,
        };
    }
}
