using Akka.Configuration;
using Runner.Placement.Custody;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>The custody keys a tenant's lifecycle waits by come from <c>runner.custody</c>, with their documented defaults.</summary>
public sealed class CustodySettingsSpec
{
    [Fact]
    public void Defaults_should_come_from_the_embedded_reference()
    {
        var settings = CustodySettings.Create(ConfigurationFactory.Empty);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.RequestTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(200), settings.WatchMinBackoff);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.WatchMaxBackoff);
        Assert.Equal(Runner.Nats.StreamPlacement.Default, settings.Placement);
    }

    [Fact]
    public void Watch_backoff_and_bucket_placement_should_be_read_from_their_keys()
    {
        var settings = CustodySettings.Create(ConfigurationFactory.ParseString(
            "runner.custody { watch-min-backoff = 1s, watch-max-backoff = 1m }\nrunner.nats.streams.placement-wait = 2m"));
        Assert.Equal(TimeSpan.FromSeconds(1), settings.WatchMinBackoff);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.WatchMaxBackoff);
        Assert.Equal(TimeSpan.FromMinutes(2), settings.Placement.Wait);
        Assert.Equal(TimeSpan.FromMinutes(2), PlacementSettings.Create(ConfigurationFactory.ParseString("runner.placement.ask-timeout = 3s\nrunner.nats.streams.placement-wait = 2m")).Placement.Wait);
    }

    [Fact]
    public void Timeout_and_retry_should_be_read_from_their_keys()
    {
        var settings = CustodySettings.Create(ConfigurationFactory.ParseString("runner.custody { timeout = 90s, retry-after = 500ms }"));
        Assert.Equal(TimeSpan.FromSeconds(90), settings.Timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.RetryAfter);
    }

    [Theory]
    [InlineData("timeout = 0s", "runner.custody.timeout")]
    [InlineData("retry-after = 0s", "runner.custody.retry-after")]
    [InlineData("watch-min-backoff = 0s", "runner.custody.watch-min-backoff")]
    [InlineData("watch-min-backoff = 10s, watch-max-backoff = 5s", "runner.custody.watch-max-backoff")]
    public void A_non_positive_wait_should_be_refused_naming_its_key(string hocon, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => CustodySettings.Create(ConfigurationFactory.ParseString("runner.custody { " + hocon + " }")));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }
}
