using Akka.Configuration;
using Xunit;

namespace Runner.Nats.Tests;

/// <summary>The replica settings: <c>runner.nats.streams.replicas</c> / RUNNER_NATS_REPLICAS and the consumers' own.</summary>
public sealed class ReplicaSettingsSpec
{
    private static Config Hocon(string hocon = "") => ConfigurationFactory.ParseString(hocon);

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Replicas_should_default_to_one_for_streams_and_consumers()
    {
        var settings = NatsSettings.Create(Hocon(), Env());
        Assert.Equal(1, settings.Replicas);
        Assert.Equal(1, settings.ConsumerReplicas);
        Assert.Equal(1, NatsSettings.StreamReplicas(Hocon(), Env()));
    }

    [Fact]
    public void Replicas_should_come_from_RUNNER_NATS_REPLICAS_over_the_hocon_key()
    {
        var config = Hocon("runner.nats.streams.replicas = 5");
        Assert.Equal(5, NatsSettings.Create(config, Env()).Replicas);
        Assert.Equal(3, NatsSettings.Create(config, Env(("RUNNER_NATS_REPLICAS", "3"))).Replicas);
        Assert.Equal(3, NatsSettings.StreamReplicas(config, Env(("RUNNER_NATS_REPLICAS", " 3 "))));
        Assert.Equal(5, NatsSettings.StreamReplicas(config, Env(("RUNNER_NATS_REPLICAS", ""))));
    }

    [Theory]
    [InlineData("three")]
    [InlineData("0")]
    [InlineData("6")]
    [InlineData("-1")]
    [InlineData("2.5")]
    [InlineData("3x")]
    public void RUNNER_NATS_REPLICAS_should_refuse_what_is_not_a_whole_number_from_1_to_5(string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => NatsSettings.Create(Hocon(), Env(("RUNNER_NATS_REPLICAS", value))));
        Assert.Contains("RUNNER_NATS_REPLICAS must be a whole number of replicas from 1 to 5", e.Message, StringComparison.Ordinal);
        Assert.Contains($"not '{value}'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("7")]
    [InlineData("\"many\"")]
    public void The_hocon_key_should_refuse_what_is_not_a_whole_number_from_1_to_5(string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => NatsSettings.StreamReplicas(Hocon($"runner.nats.streams.replicas = {value}"), Env()));
        Assert.StartsWith("runner.nats.streams.replicas must be a whole number of replicas from 1 to 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Consumer_replicas_should_come_from_RUNNER_NATS_CONSUMER_REPLICAS_over_the_hocon_key()
    {
        var config = Hocon("""
            runner.nats.streams.replicas = 3
            runner.nats.consumer.replicas = 3
            """);
        Assert.Equal(3, NatsSettings.Create(config, Env()).ConsumerReplicas);
        Assert.Equal(1, NatsSettings.Create(config, Env(("RUNNER_NATS_CONSUMER_REPLICAS", "1"))).ConsumerReplicas);
        var e = Assert.Throws<ConfigurationException>(() => NatsSettings.Create(config, Env(("RUNNER_NATS_CONSUMER_REPLICAS", "none"))));
        Assert.Contains("RUNNER_NATS_CONSUMER_REPLICAS must be a whole number of replicas from 1 to 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Consumer_replicas_should_be_refused_above_the_stream_replicas()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            NatsSettings.Create(Hocon("runner.nats.streams.replicas = 3"), Env(("RUNNER_NATS_REPLICAS", "1"), ("RUNNER_NATS_CONSUMER_REPLICAS", "3"))));
        Assert.Contains("runner.nats.consumer.replicas (RUNNER_NATS_CONSUMER_REPLICAS) is 3, more than the 1 replica(s) of the streams", e.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_mode_should_say_whether_missing_streams_and_buckets_are_created()
    {
        Assert.True(NatsSettings.CreatesStreams(Hocon()));
        Assert.False(NatsSettings.CreatesStreams(Hocon("runner.nats.streams.mode = validate")));
        Assert.False(NatsSettings.Create(Hocon("runner.nats.streams.mode = VALIDATE"), Env()).CreateStreams);
        var e = Assert.Throws<ConfigurationException>(() => NatsSettings.CreatesStreams(Hocon("runner.nats.streams.mode = maybe")));
        Assert.Contains("must be create or validate, not 'maybe'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RUNNER_NATS_URL_should_still_win_over_the_hocon_url()
    {
        var settings = NatsSettings.Create(Hocon("runner.nats.url = \"nats://from-file:4222\""), Env(("RUNNER_NATS_URL", "nats://a:4222,nats://b:4222")));
        Assert.Equal("nats://a:4222,nats://b:4222", settings.Url);
    }
}
