using Akka.Configuration;
using Xunit;

namespace Runner.Actors.Tests;

/// <summary>The runtime's timeouts and back-offs come from <c>runner.runtime</c>, with the values the code had before as defaults.</summary>
public sealed class RuntimeSettingsSpec
{
    private static RuntimeSettings Create(string hocon = "") =>
        RuntimeSettings.Create(ConfigurationFactory.ParseString(hocon).WithFallback(RuntimeSettings.DefaultConfiguration()));

    [Fact]
    public void Defaults_should_be_the_former_constants()
    {
        foreach (var settings in new[] { Create(), RuntimeSettings.Default })
        {
            Assert.Equal(TimeSpan.FromSeconds(20), settings.AdminQueryStallTimeout);
            Assert.Equal(TimeSpan.FromSeconds(2), settings.ReplayRetryAfter);
            Assert.Equal(TimeSpan.FromMilliseconds(250), settings.ReplayPollInterval);
            Assert.Equal(TimeSpan.FromMilliseconds(200), settings.ScheduleFollowMinBackoff);
            Assert.Equal(TimeSpan.FromSeconds(5), settings.ScheduleFollowMaxBackoff);
            Assert.Equal(TimeSpan.FromSeconds(5), settings.ParkLogInterval);
            Assert.Equal(256, settings.IntakeAckBatch);
            Assert.Equal(TimeSpan.FromMilliseconds(200), settings.IntakeAckWithin);
            Assert.Equal(TimeSpan.FromMinutes(10), settings.DryRunRetention);
        }
    }

    [Fact]
    public void Each_key_should_override_its_default()
    {
        var settings = Create("""
            runner.runtime {
              admin.query-stall-timeout = 45s
              replay { retry-after = 3s, poll-interval = 1s, dry-run-retention = 1h }
              schedule-follow { min-backoff = 1s, max-backoff = 1m }
              park-log-interval = 30s
              intake { ack-batch = 64, ack-within = 50ms }
            }
            """);
        Assert.Equal(TimeSpan.FromSeconds(45), settings.AdminQueryStallTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.ReplayRetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.ReplayPollInterval);
        Assert.Equal(TimeSpan.FromHours(1), settings.DryRunRetention);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.ScheduleFollowMinBackoff);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.ScheduleFollowMaxBackoff);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.ParkLogInterval);
        Assert.Equal(64, settings.IntakeAckBatch);
        Assert.Equal(TimeSpan.FromMilliseconds(50), settings.IntakeAckWithin);
    }

    [Theory]
    [InlineData("admin.query-stall-timeout = 0s", "runner.runtime.admin.query-stall-timeout")]
    [InlineData("replay.retry-after = 0s", "runner.runtime.replay.retry-after")]
    [InlineData("replay.poll-interval = -1s", "runner.runtime.replay.poll-interval")]
    [InlineData("replay.dry-run-retention = 0s", "runner.runtime.replay.dry-run-retention")]
    [InlineData("schedule-follow.min-backoff = 0s", "runner.runtime.schedule-follow.min-backoff")]
    [InlineData("schedule-follow { min-backoff = 10s, max-backoff = 5s }", "runner.runtime.schedule-follow.max-backoff")]
    [InlineData("park-log-interval = 0s", "runner.runtime.park-log-interval")]
    [InlineData("intake.ack-batch = 0", "runner.runtime.intake.ack-batch")]
    [InlineData("intake.ack-within = 0ms", "runner.runtime.intake.ack-within")]
    public void An_invalid_value_should_be_refused_naming_its_key(string hocon, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => Create("runner.runtime { " + hocon + " }"));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }
}
