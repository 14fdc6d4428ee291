using Akka.Configuration;
using Xunit;

namespace Runner.Nats.Tests;

/// <summary>
/// The NATS edge's timeouts come from <c>runner.nats</c> with the former constants as defaults, and the RUNNER_NATS_*
/// variables reach the settings only through <see cref="NatsSettings.EnvironmentOverrides"/>.
/// </summary>
public sealed class NatsTimeoutSettingsSpec
{
    private static NatsSettings Create(string hocon = "") => NatsSettings.Create(ConfigurationFactory.ParseString(hocon));

    [Fact]
    public void Defaults_should_be_the_former_constants()
    {
        var settings = Create();
        Assert.Equal(TimeSpan.FromSeconds(30), settings.StandbyMaxRetryInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.StandbyUnansweredHold);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.ReaderInactiveThreshold);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.PlacementWait);
        Assert.Equal(TimeSpan.FromMilliseconds(250), settings.PlacementRetryInterval);
        Assert.Equal(StreamPlacement.Default, settings.Placement);
        Assert.Equal(StreamPlacement.Default, NatsSettings.StreamPlacementOf(ConfigurationFactory.Empty));
    }

    [Fact]
    public void Each_key_should_override_its_default()
    {
        var settings = Create("""
            runner.nats {
              consumer.standby { max-retry-interval = 1m, unanswered-hold = 20s }
              consumer.reader-inactive-threshold = 5m
              streams { placement-wait = 2m, placement-retry-interval = 1s }
            }
            """);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.StandbyMaxRetryInterval);
        Assert.Equal(TimeSpan.FromSeconds(20), settings.StandbyUnansweredHold);
        Assert.Equal(TimeSpan.FromMinutes(5), settings.ReaderInactiveThreshold);
        Assert.Equal(new StreamPlacement(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(1)), settings.Placement);
    }

    [Theory]
    [InlineData("consumer.standby.max-retry-interval = 1s", "runner.nats.consumer.standby.max-retry-interval")]
    [InlineData("consumer.standby.unanswered-hold = 0s", "runner.nats.consumer.standby.unanswered-hold")]
    [InlineData("consumer.reader-inactive-threshold = 0s", "runner.nats.consumer.reader-inactive-threshold")]
    [InlineData("streams.placement-wait = 0s", "runner.nats.streams.placement-wait")]
    [InlineData("streams.placement-retry-interval = 0s", "runner.nats.streams.placement-retry-interval")]
    [InlineData("streams { placement-wait = 1s, placement-retry-interval = 2s }", "runner.nats.streams.placement-retry-interval")]
    public void An_invalid_value_should_be_refused_naming_its_key(string hocon, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => Create("runner.nats { " + hocon + " }"));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_should_read_only_their_configuration()
    {
        // A variable of the process is no longer read by Create: it reaches it through EnvironmentOverrides.
        var overrides = NatsSettings.EnvironmentOverrides(name => name switch
        {
            NatsSettings.UrlVariable => "nats://from-env:4222",
            NatsSettings.ReplicasVariable => " 3 ",
            NatsSettings.ConsumerReplicasVariable => "",
            NatsSecurity.TokenVariable => "s3cret",
            NatsSecurity.TlsModeVariable => "require",
            _ => null,
        });
        Assert.Equal("nats://from-env:4222", overrides.GetString("runner.nats.url"));
        Assert.Equal(3, overrides.GetInt("runner.nats.streams.replicas"));
        Assert.False(overrides.HasPath("runner.nats.consumer.replicas"));
        Assert.Equal("s3cret", overrides.GetString("runner.nats.auth.token"));
        Assert.Equal("require", overrides.GetString("runner.nats.tls.mode"));

        var settings = NatsSettings.Create(overrides);
        Assert.Equal("nats://from-env:4222", settings.Url);
        Assert.Equal(3, settings.Replicas);
        Assert.Equal(NatsAuthMode.Token, settings.Security.Auth);
        Assert.True(NatsSettings.EnvironmentOverrides(_ => null).IsEmpty);
    }

    [Fact]
    public void A_blank_url_variable_should_leave_the_key_alone()
    {
        Assert.False(NatsSettings.EnvironmentOverrides(name => name == NatsSettings.UrlVariable ? "  " : null).HasPath("runner.nats.url"));
    }
}
