using Akka.Configuration;
using Runner.Persistence.Lmdb.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Hosting;

/// <summary>
/// The HOCON that <see cref="LmdbJournalOptions"/> and <see cref="LmdbSnapshotOptions"/> generate: default options leave
/// every key of the embedded reference.conf alone, set options land on the right keys, and a custom identifier moves
/// the whole block (the approach of Akka.Persistence.Sql.Hosting's settings specs).
/// </summary>
public sealed class LmdbHostingSettingsSpec(ITestOutputHelper output)
{
    private static Config Reference(string path) => LmdbPersistence.DefaultConfiguration().GetConfig(path);

    /// <summary>Every key of the reference section (the sections are flat).</summary>
    private static List<string> KeysOf(Config section) => section.AsEnumerable().Select(kv => kv.Key).ToList();

    private static void AssertSameAsReference(Config actual, string path)
    {
        var reference = Reference(path);
        var keys = KeysOf(reference);
        Assert.NotEmpty(keys);
        foreach (var key in keys)
            Assert.True(reference.GetString(key) == actual.GetString(key),
                $"{path}.{key}: reference '{reference.GetString(key)}', generated '{actual.GetString(key)}'");
    }

    [Fact]
    public void Default_journal_options_should_not_override_the_reference_configuration()
    {
        var options = new LmdbJournalOptions(true);
        var generated = options.ToConfig();
        output.WriteLine(generated.ToString());

        AssertSameAsReference(generated.WithFallback(options.DefaultConfig).GetConfig(LmdbPersistence.JournalPath), LmdbPersistence.JournalPath);
        AssertSameAsReference(generated.WithFallback(LmdbPersistence.DefaultConfiguration()).GetConfig(LmdbPersistence.JournalPath),
            LmdbPersistence.JournalPath);
        Assert.Equal(LmdbPersistence.JournalPath, generated.GetString("akka.persistence.journal.plugin"));
    }

    [Fact]
    public void Default_snapshot_options_should_not_override_the_reference_configuration()
    {
        var options = new LmdbSnapshotOptions(true);
        var generated = options.ToConfig();
        output.WriteLine(generated.ToString());

        AssertSameAsReference(generated.WithFallback(options.DefaultConfig).GetConfig(LmdbPersistence.SnapshotStorePath),
            LmdbPersistence.SnapshotStorePath);
        AssertSameAsReference(generated.WithFallback(LmdbPersistence.DefaultConfiguration()).GetConfig(LmdbPersistence.SnapshotStorePath),
            LmdbPersistence.SnapshotStorePath);
        Assert.Equal(LmdbPersistence.SnapshotStorePath, generated.GetString("akka.persistence.snapshot-store.plugin"));
    }

    [Fact]
    public void Default_options_should_emit_no_storage_key()
    {
        var journal = new LmdbJournalOptions(true).ToConfig().GetConfig(LmdbPersistence.JournalPath);
        var snapshot = new LmdbSnapshotOptions(true).ToConfig().GetConfig(LmdbPersistence.SnapshotStorePath);
        string[] storageKeys = ["data-dir", "map-size", "max-map-size", "durability", "max-batch-size", "max-batch-wait", "max-readers", "replay-batch-size"];
        foreach (var key in storageKeys)
        {
            Assert.False(journal.HasPath(key), $"default journal options set {key}");
            Assert.False(snapshot.HasPath(key), $"default snapshot options set {key}");
        }
    }

    [Fact]
    public void Non_default_options_should_not_select_the_plugin()
    {
        Assert.False(new LmdbJournalOptions(false).ToConfig().HasPath("akka.persistence.journal.plugin"));
        Assert.False(new LmdbSnapshotOptions(false).ToConfig().HasPath("akka.persistence.snapshot-store.plugin"));
    }

    [Fact]
    public void Set_storage_options_should_appear_as_their_hocon_keys()
    {
        using var dir = new TempDirectory();
        var storage = new LmdbStorageOptions
        {
            DataDirectory = dir.Path,
            MapSize = 8L << 20,
            MaxMapSize = 1L << 30,
            Durability = LmdbDurability.NoMetaSync,
            MaxBatchSize = 64,
            MaxBatchWait = TimeSpan.FromMilliseconds(5),
            MaxReaders = 126,
            ReplayBatchSize = 250,
            NameCacheSize = 1234,
        };
        var journal = new LmdbJournalOptions(true) { Storage = storage };
        var snapshot = new LmdbSnapshotOptions(true) { Storage = storage };

        foreach (var (generated, path, defaults) in new[]
                 {
                     (journal.ToConfig(), LmdbPersistence.JournalPath, journal.DefaultConfig),
                     (snapshot.ToConfig(), LmdbPersistence.SnapshotStorePath, snapshot.DefaultConfig),
                 })
        {
            output.WriteLine(generated.ToString());
            var section = generated.GetConfig(path);
            Assert.Equal(dir.Path, section.GetString("data-dir"));
            Assert.Equal(8L << 20, section.GetByteSize("map-size"));
            Assert.Equal(1L << 30, section.GetByteSize("max-map-size"));
            Assert.Equal("nometasync", section.GetString("durability"));
            Assert.Equal(64, section.GetInt("max-batch-size"));
            Assert.Equal(TimeSpan.FromMilliseconds(5), section.GetTimeSpan("max-batch-wait"));
            Assert.Equal(126, section.GetInt("max-readers"));
            Assert.Equal(250, section.GetInt("replay-batch-size"));
            Assert.Equal(1234, section.GetInt("name-cache-size"));

            // And the plugin reads them back as typed settings.
            var settings = LmdbStorageSettings.Create(generated.WithFallback(defaults).GetConfig(path), path);
            Assert.Equal(
                new LmdbStorageSettings(settings.DataDirectory, 8L << 20, 1L << 30, LmdbDurability.NoMetaSync, 64, TimeSpan.FromMilliseconds(5), 126, 250, 1234),
                settings);
        }
    }

    [Theory]
    [InlineData(LmdbDurability.Sync, "sync")]
    [InlineData(LmdbDurability.NoMetaSync, "nometasync")]
    [InlineData(LmdbDurability.NoSync, "nosync")]
    public void Durability_option_should_become_the_reference_spelling(LmdbDurability durability, string hocon)
    {
        var options = new LmdbJournalOptions(true) { Storage = new LmdbStorageOptions { Durability = durability } };
        var section = options.ToConfig().WithFallback(options.DefaultConfig).GetConfig(LmdbPersistence.JournalPath);
        Assert.Equal(hocon, section.GetString("durability"));
        Assert.Equal(durability, LmdbStorageSettings.Create(section, LmdbPersistence.JournalPath).Durability);
    }

    [Fact]
    public void Data_directory_option_should_survive_characters_hocon_treats_specially()
    {
        const string odd = "/tmp/runner data/with:colon,comma#hash \"quote\" and {braces}";
        var options = new LmdbJournalOptions(true) { Storage = new LmdbStorageOptions { DataDirectory = odd } };
        Assert.Equal(odd, options.ToConfig().GetConfig(LmdbPersistence.JournalPath).GetString("data-dir"));
    }

    [Fact]
    public void Custom_identifier_should_place_the_blocks_under_its_own_path()
    {
        var journal = new LmdbJournalOptions(true, "custom") { Storage = new LmdbStorageOptions { MaxReaders = 7 } };
        var snapshot = new LmdbSnapshotOptions(true, "custom") { Storage = new LmdbStorageOptions { MaxReaders = 7 } };
        var config = journal.ToConfig().WithFallback(snapshot.ToConfig()).WithFallback(journal.DefaultConfig).WithFallback(snapshot.DefaultConfig);
        output.WriteLine(config.ToString());

        Assert.Equal("akka.persistence.journal.custom", config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal("akka.persistence.snapshot-store.custom", config.GetString("akka.persistence.snapshot-store.plugin"));
        Assert.False(config.HasPath(LmdbPersistence.JournalPath));
        Assert.False(config.HasPath(LmdbPersistence.SnapshotStorePath));

        var journalSection = config.GetConfig("akka.persistence.journal.custom");
        var snapshotSection = config.GetConfig("akka.persistence.snapshot-store.custom");
        Assert.Equal(7, journalSection.GetInt("max-readers"));
        Assert.Equal(7, snapshotSection.GetInt("max-readers"));
        Assert.Equal(Reference(LmdbPersistence.JournalPath).GetString("class"), journalSection.GetString("class"));
        Assert.Equal(Reference(LmdbPersistence.SnapshotStorePath).GetString("class"), snapshotSection.GetString("class"));

        // Apart from the key that was set, the moved defaults are the reference values.
        foreach (var key in KeysOf(Reference(LmdbPersistence.JournalPath)).Where(k => k != "max-readers"))
            Assert.Equal(Reference(LmdbPersistence.JournalPath).GetString(key), journalSection.GetString(key));
        foreach (var key in KeysOf(Reference(LmdbPersistence.SnapshotStorePath)).Where(k => k != "max-readers"))
            Assert.Equal(Reference(LmdbPersistence.SnapshotStorePath).GetString(key), snapshotSection.GetString(key));
    }
}
