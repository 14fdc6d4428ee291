using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests;

/// <summary>
/// TestKit spec whose journal and snapshot store are LMDB in a fresh temporary directory.
/// Durability is <c>nosync</c> unless a spec asks otherwise (crash-safety specs do).
/// </summary>
public abstract class LmdbSpecBase : Akka.TestKit.Xunit2.TestKit
{
    protected LmdbSpecBase(ITestOutputHelper output, TempDirectory dir, string extraHocon = "")
        : base(Config(dir.Path, extraHocon), output: output)
    {
        Dir = dir;
        TestSystems.WarmUp(Sys);
    }

    protected LmdbSpecBase(ITestOutputHelper output, string extraHocon = "")
        : this(output, new TempDirectory(), extraHocon)
    {
    }

    protected TempDirectory Dir { get; }

    /// <summary>HOCON that selects the LMDB plugins with data in <paramref name="dataDir"/>.</summary>
    public static Config Config(string dataDir, string extraHocon = "", string durability = "nosync")
    {
        var dir = dataDir.Replace("\\", "/", StringComparison.Ordinal);
        return ConfigurationFactory.ParseString(extraHocon)
            .WithFallback(ConfigurationFactory.ParseString($$"""
                akka.loglevel = INFO
                akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.lmdb"
                akka.persistence.journal.lmdb { data-dir = "{{dir}}", durability = {{durability}} }
                akka.persistence.snapshot-store.lmdb { data-dir = "{{dir}}", durability = {{durability}} }
                """))
            .WithFallback(LmdbPersistence.DefaultConfiguration());
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        Dir.Dispose();
    }
}
