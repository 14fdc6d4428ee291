using Akka.Configuration;
using Xunit;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>Validation of the journal's HOCON section by <see cref="LmdbStorageSettings.Create"/>.</summary>
public sealed class LmdbStorageSettingsSpec : IDisposable
{
    private const string Path = LmdbPersistence.JournalPath;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Config Section(string hocon) => ConfigurationFactory.ParseString(hocon)
        .WithFallback(ConfigurationFactory.ParseString($"data-dir = \"{_dir.Path.Replace("\\", "/", StringComparison.Ordinal)}\""))
        .WithFallback(LmdbPersistence.DefaultConfiguration().GetConfig(Path));

    [Fact]
    public void Settings_should_read_the_reference_defaults()
    {
        var settings = LmdbStorageSettings.Create(Section(""), Path);
        Assert.Equal(System.IO.Path.GetFullPath(_dir.Path), settings.DataDirectory);
        Assert.Equal(64L * 1024 * 1024, settings.MapSize);
        Assert.Equal(64L * 1024 * 1024 * 1024, settings.MaxMapSize);
        Assert.Equal(LmdbDurability.Sync, settings.Durability);
        Assert.Equal(1024, settings.MaxBatchSize);
        Assert.Equal(TimeSpan.Zero, settings.MaxBatchWait);
        Assert.Equal(510, settings.MaxReaders);
        Assert.Equal(1000, settings.ReplayBatchSize);
        Assert.Equal(50_000, settings.NameCacheSize);
    }

    [Theory]
    [InlineData("sync", LmdbDurability.Sync)]
    [InlineData("NoMetaSync", LmdbDurability.NoMetaSync)]
    [InlineData("nosync", LmdbDurability.NoSync)]
    public void Settings_should_read_durability(string value, LmdbDurability expected) =>
        Assert.Equal(expected, LmdbStorageSettings.Create(Section($"durability = {value}"), Path).Durability);

    [Theory]
    [InlineData("map-size = 0", "map-size")]
    [InlineData("map-size = -1", "map-size")]
    [InlineData("map-size = -64MiB", "map-size")]
    [InlineData("map-size = lots", "map-size")]
    [InlineData("max-map-size = 0", "max-map-size")]
    [InlineData("max-map-size = -5", "max-map-size")]
    [InlineData("map-size = 128MiB\nmax-map-size = 64MiB", "max-map-size")]
    [InlineData("durability = fast", "durability")]
    [InlineData("max-batch-size = 0", "max-batch-size")]
    [InlineData("max-readers = 0", "max-readers")]
    [InlineData("replay-batch-size = 0", "replay-batch-size")]
    [InlineData("name-cache-size = 0", "name-cache-size")]
    [InlineData("max-batch-wait = -1s", "max-batch-wait")]
    [InlineData("max-batch-wait = soon", "max-batch-wait")]
    [InlineData("max-batch-size = many", "max-batch-size")]
    [InlineData("max-readers = 1.5", "max-readers")]
    [InlineData("replay-batch-size = all", "replay-batch-size")]
    [InlineData("data-dir = \"\"", "data-dir")]
    public void Settings_should_refuse_invalid_values_naming_the_full_key(string hocon, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => LmdbStorageSettings.Create(Section(hocon), Path));
        Assert.Contains($"{Path}.{key}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_should_refuse_a_data_dir_that_cannot_be_created()
    {
        var file = System.IO.Path.Combine(_dir.Path, "a-file");
        File.WriteAllText(file, "not a directory");
        var dataDir = System.IO.Path.Combine(file, "data");

        var e = Assert.Throws<ConfigurationException>(() => LmdbStorageSettings.Create(Section($"data-dir = \"{dataDir}\""), Path));
        Assert.Contains($"{Path}.data-dir", e.Message, StringComparison.Ordinal);
        Assert.Contains(dataDir, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_should_create_a_missing_data_dir()
    {
        var dataDir = System.IO.Path.Combine(_dir.Path, "nested", "data");
        var settings = LmdbStorageSettings.Create(Section($"data-dir = \"{dataDir}\""), Path);
        Assert.Equal(dataDir, settings.DataDirectory);
        Assert.True(Directory.Exists(dataDir));
    }
}

/// <summary>RUNNER_DATA_DIR as <see cref="LmdbPersistence.EnvironmentOverrides"/> maps it over the data-dir key.</summary>
public sealed class LmdbStorageSettingsEnvironmentSpec : IDisposable
{
    private const string Path = LmdbPersistence.JournalPath;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The journal's section with data-dir from the configuration and RUNNER_DATA_DIR (when given) over it.</summary>
    private static Config Section(string dataDir, string? variable) => LmdbPersistence
        .EnvironmentOverrides(name => name == LmdbStorageSettings.DataDirVariable ? variable : null, Path)
        .WithFallback(ConfigurationFactory.ParseString($"{Path}.data-dir = \"{dataDir.Replace("\\", "/", StringComparison.Ordinal)}\""))
        .WithFallback(LmdbPersistence.DefaultConfiguration())
        .GetConfig(Path);

    [Fact]
    public void RUNNER_DATA_DIR_should_override_data_dir()
    {
        var fromConfig = System.IO.Path.Combine(_dir.Path, "from-config");
        var fromEnv = System.IO.Path.Combine(_dir.Path, "from-env");

        var settings = LmdbStorageSettings.Create(Section(fromConfig, fromEnv), Path);

        Assert.Equal(fromEnv, settings.DataDirectory);
        Assert.True(Directory.Exists(fromEnv));
        Assert.False(Directory.Exists(fromConfig));
    }

    [Fact]
    public void Blank_RUNNER_DATA_DIR_should_leave_data_dir_alone()
    {
        var fromConfig = System.IO.Path.Combine(_dir.Path, "from-config");

        Assert.Equal(fromConfig, LmdbStorageSettings.Create(Section(fromConfig, "  "), Path).DataDirectory);
    }

    [Fact]
    public void RUNNER_DATA_DIR_that_cannot_be_created_should_be_named_in_the_error()
    {
        var file = System.IO.Path.Combine(_dir.Path, "a-file");
        File.WriteAllText(file, "not a directory");

        var e = Assert.Throws<ConfigurationException>(() => LmdbStorageSettings.Create(Section(_dir.Path, System.IO.Path.Combine(file, "data")), Path));
        Assert.Contains(LmdbStorageSettings.DataDirVariable, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RUNNER_DATA_DIR_should_set_every_plugin_path_given()
    {
        var overrides = LmdbPersistence.EnvironmentOverrides(_ => "/var/lib/x");

        Assert.Equal("/var/lib/x", overrides.GetString(LmdbPersistence.JournalPath + ".data-dir"));
        Assert.Equal("/var/lib/x", overrides.GetString(LmdbPersistence.SnapshotStorePath + ".data-dir"));
        Assert.True(LmdbPersistence.EnvironmentOverrides(_ => null).IsEmpty);
    }
}
