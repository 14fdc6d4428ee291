using Akka.Actor;
using Akka.Configuration;
using Runner.Persistence.Lmdb.Internal;

namespace Runner.Persistence.Lmdb;

/// <summary>
/// Akka extension that owns the LMDB environments used by this actor system's journal, snapshot store and read
/// journal. Environments are shared process-wide per data directory (LMDB forbids opening one twice in a
/// process) and released when the last actor system using them terminates.
/// </summary>
public sealed class LmdbPersistence : IExtension
{
    /// <summary>HOCON path of the journal.</summary>
    public const string JournalPath = "akka.persistence.journal.lmdb";

    /// <summary>HOCON path of the snapshot store.</summary>
    public const string SnapshotStorePath = "akka.persistence.snapshot-store.lmdb";

    /// <summary>HOCON path of the read journal (the identifier for <c>PersistenceQuery.ReadJournalFor</c>).</summary>
    public const string QueryPath = "akka.persistence.query.journal.lmdb";

    private readonly ActorSystem _system;
    private readonly Dictionary<string, LmdbStore> _stores = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private bool _terminated;

    internal LmdbPersistence(ExtendedActorSystem system)
    {
        _system = system;
        system.Settings.InjectTopLevelFallback(DefaultConfiguration());
        system.RegisterOnTermination(ReleaseAll);
    }

    /// <summary>The extension of <paramref name="system"/>.</summary>
    public static LmdbPersistence Get(ActorSystem system) =>
        system.WithExtension<LmdbPersistence, LmdbPersistenceProvider>();

    /// <summary>
    /// The HOCON that <c>RUNNER_DATA_DIR</c> stands for: the <c>data-dir</c> of each plugin section in
    /// <paramref name="pluginPaths"/> (default: the journal's and the snapshot store's), empty when the variable is unset
    /// or blank. <paramref name="environment"/> gives a variable's value. The one mapping of the variable: the node's
    /// <c>RunnerConfiguration.EnvironmentOverrides</c> and the Akka.Hosting extension use it; the settings read only
    /// their configuration.
    /// </summary>
    public static Config EnvironmentOverrides(Func<string, string?> environment, params string[] pluginPaths)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(pluginPaths);
        var dir = environment(LmdbStorageSettings.DataDirVariable);
        if (string.IsNullOrWhiteSpace(dir)) return Config.Empty;
        var quoted = "\"" + dir.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var paths = pluginPaths.Length > 0 ? pluginPaths : [JournalPath, SnapshotStorePath];
        return ConfigurationFactory.ParseString(string.Join("\n", paths.Select(p => $"{p}.data-dir = {quoted}")));
    }

    /// <summary>The embedded reference configuration (journal, snapshot store and read journal sections).</summary>
    public static Config DefaultConfiguration() =>
        ConfigurationFactory.FromResource<LmdbPersistence>("Runner.Persistence.Lmdb.reference.conf");

    /// <summary>
    /// Export, import, delete and fences over the store of the journal plugin at <paramref name="journalPluginPath"/>
    /// (shared with the journal and snapshot store that use the same data directory).
    /// </summary>
    public LmdbStateStore StateStore(string journalPluginPath = JournalPath) => new(StoreFor(journalPluginPath));

    /// <summary>Opens (or shares) the store described by the plugin section at <paramref name="pluginPath"/>.</summary>
    internal LmdbStore StoreFor(Config pluginConfig, string pluginPath)
    {
        var settings = LmdbStorageSettings.Create(pluginConfig, pluginPath);
        lock (_gate)
        {
            if (_terminated) throw new InvalidOperationException("The actor system is terminated.");
            if (_stores.TryGetValue(settings.DataDirectory, out var mine)) return mine;
            var store = StoreRegistry.Acquire(settings, _system.Log);
            _stores[settings.DataDirectory] = store;
            return store;
        }
    }

    /// <summary>Opens (or shares) the store configured at <paramref name="pluginPath"/> in the system's config.</summary>
    internal LmdbStore StoreFor(string pluginPath)
    {
        var config = _system.Settings.Config.GetConfig(pluginPath)
                     ?? throw new ConfigurationException($"No configuration at {pluginPath}.");
        return StoreFor(config.WithFallback(DefaultConfiguration().GetConfig(pluginPath) ?? Config.Empty), pluginPath);
    }

    private void ReleaseAll()
    {
        lock (_gate)
        {
            _terminated = true;
            foreach (var store in _stores.Values) StoreRegistry.Release(store);
            _stores.Clear();
        }
    }
}

/// <summary>Creates <see cref="LmdbPersistence"/>.</summary>
public sealed class LmdbPersistenceProvider : ExtensionIdProvider<LmdbPersistence>
{
    /// <inheritdoc />
    public override LmdbPersistence CreateExtension(ExtendedActorSystem system) => new(system);
}
