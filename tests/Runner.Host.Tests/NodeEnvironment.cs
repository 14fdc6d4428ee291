using Runner.TestKit;

namespace Runner.Host.Tests;

/// <summary>The environment of a node process of a scenario.</summary>
public static class NodeEnvironment
{
    /// <summary>The environment of a node for <paramref name="s"/>, with a HOCON file for what has no variable.</summary>
    public static Dictionary<string, string> For(Scenario s, NatsServerFixture nats, string extraHocon)
    {
        var file = Path.Combine(s.Data.Path, "node.conf");
        File.WriteAllText(file, $$"""
            runner.nats.streams { events = "{{s.EventsStream}}", commands = "{{s.CommandsStream}}", dead-letters = "{{s.DeadLetterStream}}" }
            runner.nats.consumer { min-backoff = 100ms, max-backoff = 1s, checkpoint-interval = 200ms }
            runner.custody { homes-bucket = "{{s.Name}}-homes", state-bucket = "{{s.Name}}-state" }
            {{extraHocon}}
            """);
        return new Dictionary<string, string>
        {
            ["RUNNER_NATS_URL"] = nats.Url,
            ["RUNNER_SUBJECT_PREFIX"] = s.Prefix,
            ["RUNNER_DATA_DIR"] = Path.Combine(s.Data.Path, "lmdb"),
            ["RUNNER_PORT"] = NatsServerFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RUNNER_SHARD_ID"] = s.Name,
            ["RUNNER_ADMIN_PORT"] = NatsServerFixture.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RUNNER_CONFIG"] = file,
            ["RUNNER_LOG_LEVEL"] = "INFO",
        };
    }
}
