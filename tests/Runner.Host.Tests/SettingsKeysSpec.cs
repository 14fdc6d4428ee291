using Akka.Configuration;
using Runner.Nats;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// The host's timeouts and the log format are keys read into their settings records, with the former constants as
/// defaults, and the environment variables reach every settings record through <see cref="RunnerConfiguration.EnvironmentOverrides"/>.
/// </summary>
public sealed class SettingsKeysSpec
{
    private static Dictionary<string, string?> Env(params (string Key, string Value)[] vars) =>
        vars.ToDictionary(v => v.Key, v => (string?)v.Value, StringComparer.Ordinal);

    private static Config Load(string hocon = "", params (string Key, string Value)[] vars) =>
        ConfigurationFactory.ParseString(hocon).WithFallback(RunnerConfiguration.Load([], Env(vars)));

    [Fact]
    public void Admin_timeouts_should_default_to_the_former_constants()
    {
        var admin = AdminSettings.Create(Load());
        Assert.Equal(TimeSpan.FromSeconds(5), admin.AskTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), admin.TenantAnswerTimeout);
        Assert.Equal(TimeSpan.FromMinutes(3), admin.DrainWait);
        Assert.Equal(TimeSpan.FromSeconds(3), admin.RegionsStatsTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), admin.TenantsStatsTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), admin.TenantStatusTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), admin.DrainRegionTimeout);
        // The record's own defaults (settings built in code) are the embedded ones.
        Assert.Equal(new AdminSettings(), admin);
    }

    [Fact]
    public void Admin_timeouts_should_be_read_from_their_keys()
    {
        var admin = AdminSettings.Create(Load("""
            runner.admin {
              ask-timeout = 7s, tenant-answer-timeout = 1m, drain-wait = 10m, regions-stats-timeout = 4s
              tenants-stats-timeout = 6s, tenant-status-timeout = 3s, drain-region-timeout = 9s
            }
            """));
        Assert.Equal(TimeSpan.FromSeconds(7), admin.AskTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), admin.TenantAnswerTimeout);
        Assert.Equal(TimeSpan.FromMinutes(10), admin.DrainWait);
        Assert.Equal(TimeSpan.FromSeconds(4), admin.RegionsStatsTimeout);
        Assert.Equal(TimeSpan.FromSeconds(6), admin.TenantsStatsTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), admin.TenantStatusTimeout);
        Assert.Equal(TimeSpan.FromSeconds(9), admin.DrainRegionTimeout);
    }

    [Theory]
    [InlineData("ask-timeout = 0s")]
    [InlineData("tenant-answer-timeout = -1s")]
    [InlineData("drain-wait = 0s")]
    [InlineData("regions-stats-timeout = 0s")]
    [InlineData("tenants-stats-timeout = 0s")]
    [InlineData("tenant-status-timeout = 0s")]
    [InlineData("drain-region-timeout = 0s")]
    public void A_non_positive_admin_timeout_should_be_refused_naming_its_key(string hocon)
    {
        var e = Assert.Throws<ConfigurationException>(() => AdminSettings.Create(Load("runner.admin { " + hocon + " }")));
        Assert.Contains("runner.admin." + hocon[..hocon.IndexOf(' ', StringComparison.Ordinal)], e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", RunnerLogFormat.Text)]
    [InlineData("json", RunnerLogFormat.Json)]
    [InlineData("JSON", RunnerLogFormat.Json)]
    [InlineData("text", RunnerLogFormat.Text)]
    public void RUNNER_LOG_FORMAT_should_set_the_log_format(string value, RunnerLogFormat expected)
    {
        var config = RunnerConfiguration.Load([], Env(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_LOG_FORMAT", value)));
        Assert.Equal(expected, RunnerNodeSettings.Create(config).LogFormat);
    }

    [Fact]
    public void The_log_format_should_be_read_from_its_key_and_the_variable_should_win()
    {
        Assert.Equal(RunnerLogFormat.Json, RunnerNodeSettings.Create(Load("runner.node { log-format = json, shard-id = node-1 }")).LogFormat);
        var config = ConfigurationFactory.ParseString("runner.node.log-format = json").WithFallback(RunnerConfiguration.Defaults());
        config = RunnerConfiguration.EnvironmentOverrides(Env(("RUNNER_LOG_FORMAT", "text"), ("RUNNER_SHARD_ID", "node-1"))).WithFallback(config);
        Assert.Equal(RunnerLogFormat.Text, RunnerNodeSettings.Create(config).LogFormat);
    }

    [Fact]
    public void An_unknown_log_format_should_be_refused_naming_the_key_and_the_variable()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            RunnerNodeSettings.Create(RunnerConfiguration.Load([], Env(("RUNNER_SHARD_ID", "node-1"), ("RUNNER_LOG_FORMAT", "xml")))));
        Assert.Contains("runner.node.log-format (RUNNER_LOG_FORMAT)", e.Message, StringComparison.Ordinal);
        Assert.Contains("'xml'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_order_sample_payment_timeout_should_be_read_once_into_the_node_settings()
    {
        Assert.Equal(TimeSpan.FromMinutes(15), RunnerNodeSettings.Create(Load("runner.node.shard-id = node-1")).OrderPaymentTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5),
            RunnerNodeSettings.Create(Load("runner.node.shard-id = node-1\nrunner.samples.order.payment-timeout = 5m")).OrderPaymentTimeout);
    }

    [Fact]
    public void Nats_variables_should_reach_the_nats_settings_through_the_environment_overrides()
    {
        var config = RunnerConfiguration.Load([], Env(
            ("RUNNER_NATS_URL", "nats://from-env:4222"), ("RUNNER_NATS_REPLICAS", "3"), ("RUNNER_NATS_CONSUMER_REPLICAS", "3"),
            ("RUNNER_NATS_TOKEN", "s3cret")));
        var nats = NatsSettings.Create(config);
        Assert.Equal("nats://from-env:4222", nats.Url);
        Assert.Equal(3, nats.Replicas);
        Assert.Equal(3, nats.ConsumerReplicas);
        Assert.Equal(NatsAuthMode.Token, nats.Security.Auth);
        Assert.Equal(3, Runner.Placement.PlacementSettings.Create(config).Replicas);
        Assert.Equal(3, Runner.Placement.Custody.CustodySettings.Create(config).Replicas);
    }

    [Fact]
    public void An_invalid_RUNNER_NATS_REPLICAS_should_keep_its_message()
    {
        var e = Assert.Throws<ConfigurationException>(() => RunnerConfiguration.Load([], Env(("RUNNER_NATS_REPLICAS", "seven"))));
        Assert.Contains("RUNNER_NATS_REPLICAS must be a whole number of replicas from 1 to 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nats_timeouts_should_be_keys_a_config_file_sets()
    {
        var nats = NatsSettings.Create(Load("runner.nats.streams.placement-wait = 1m\nrunner.nats.consumer.standby.unanswered-hold = 15s"));
        Assert.Equal(TimeSpan.FromMinutes(1), nats.PlacementWait);
        Assert.Equal(TimeSpan.FromSeconds(15), nats.StandbyUnansweredHold);
    }
}
