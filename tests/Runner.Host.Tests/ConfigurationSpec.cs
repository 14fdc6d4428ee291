using Akka.Configuration;
using Runner.Nats;
using Xunit;

namespace Runner.Host.Tests;

public sealed class ConfigurationSpec
{
    private static Dictionary<string, string?> Env(params (string Key, string Value)[] vars) =>
        vars.ToDictionary(v => v.Key, v => (string?)v.Value, StringComparer.Ordinal);

    [Fact]
    public void Environment_should_win_over_files_which_win_over_reference()
    {
        var file = Path.Combine(Path.GetTempPath(), $"runner-{Guid.NewGuid():N}.conf");
        File.WriteAllText(file, """
            runner.nats.url = "nats://from-file:4222"
            runner.node.port = 5001
            runner.tenants.allowlist = ["file-tenant"]
            """);
        try
        {
            var config = RunnerConfiguration.Load([file], Env(("RUNNER_NATS_URL", "nats://from-env:4222"), ("RUNNER_TENANT_ALLOWLIST", "t1, t2")));
            Assert.Equal("nats://from-env:4222", config.GetString("runner.nats.url"));
            Assert.Equal(5001, config.GetInt("runner.node.port"));                 // file over reference (4053)
            Assert.Equal("runner", config.GetString("runner.nats.subject-prefix")); // reference
            var node = RunnerNodeSettings.Create(config);
            Assert.Equal(["t1", "t2"], node.Allowlist);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Data_dir_env_should_set_both_lmdb_plugins()
    {
        var config = RunnerConfiguration.Load([], Env(("RUNNER_DATA_DIR", "/var/lib/x")));
        Assert.Equal("/var/lib/x", config.GetString("akka.persistence.journal.lmdb.data-dir"));
        Assert.Equal("/var/lib/x", config.GetString("akka.persistence.snapshot-store.lmdb.data-dir"));
    }

    [Theory]
    [InlineData("RUNNER_TENANT_ALLOWLIST", "good,Bad.Tenant", "Bad.Tenant")]
    [InlineData("RUNNER_SHARD_ID", "Node 1", "RUNNER_SHARD_ID")]
    [InlineData("RUNNER_PORT", "http", "RUNNER_PORT")]
    [InlineData("RUNNER_SEED_NODES", "10.0.0.1:4053,node-b", "'node-b'")]
    [InlineData("RUNNER_SEED_NODES", "node-a:http", "RUNNER_SEED_NODES")]
    public void Invalid_settings_should_be_refused_with_a_message_naming_them(string variable, string value, string named)
    {
        var e = Assert.Throws<ConfigurationException>(() => RunnerNodeSettings.Create(RunnerConfiguration.Load([], Env((variable, value)))));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_config_file_should_be_refused()
    {
        var e = Assert.Throws<ConfigurationException>(() => RunnerConfiguration.Load(["/nonexistent/runner.conf"], Env()));
        Assert.Contains("/nonexistent/runner.conf", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nats_settings_should_refuse_an_ack_wait_not_above_the_processing_timeout()
    {
        var config = ConfigurationFactory.ParseString("runner.nats.consumer { ack-wait = 5s, processing-timeout = 10s }")
            .WithFallback(RunnerConfiguration.Defaults());
        var e = Assert.Throws<ConfigurationException>(() => NatsSettings.Create(config));
        Assert.Contains("ack-wait", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hocon/runner.conf")]
    [InlineData("hocon/runner.conf", "hocon/environments/development.conf")]
    [InlineData("hocon/runner.conf", "hocon/environments/production.conf")]
    public void Shipped_hocon_files_should_load_into_valid_settings(params string[] files)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Runner.Actors.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        var config = RunnerConfiguration.Load(files.Select(f => Path.Combine(root, f)), Env(("RUNNER_SHARD_ID", "node-1")));
        Assert.Equal("node-1", RunnerNodeSettings.Create(config).ShardId);
        Runner.Nats.NatsSettings.Create(config);
        Runner.Placement.PlacementSettings.Create(config);
        Runner.Placement.Custody.CustodySettings.Create(config);
        AdminSettings.Create(config);
        Runner.Actors.RuntimeSettings.Create(config);
    }
}
