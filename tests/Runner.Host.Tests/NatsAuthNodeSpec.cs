using System.Net;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// A node against a NATS server that wants a user and password: refused credentials stop the process at once with a
/// clear message and exit code 2; credentials revoked while it runs make it unready until they are valid again.
/// </summary>
public sealed class NatsAuthNodeSpec
{
    private const string Password = "node-pa55-never-shown";

    private static string Users(bool withRunner) => $$"""
        authorization {
          users = [
            { user: "scenario", password: "scenario-password" }
            {{(withRunner ? $"{{ user: \"runner\", password: \"{Password}\" }}" : "")}}
          ]
        }
        """;

    [Fact]
    public async Task A_node_with_refused_credentials_should_exit_2_naming_server_and_mode_without_the_password()
    {
        await using var server = NatsServerFixture.WithConfig(Users(withRunner: true));
        await using var s = new Scenario(server);
        var env = NodeEnvironment.For(s, server, "");
        env["RUNNER_NATS_USER"] = "runner";
        env["RUNNER_NATS_PASSWORD"] = "wrong-" + Password;

        await using var node = NodeProcess.Launch(env);
        var code = await node.ExitCodeAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        Assert.Contains($"cannot connect to NATS at {server.Url} (auth user-password (user 'runner'), tls auto)", node.Output, StringComparison.Ordinal);
        Assert.Contains("the server refused the credentials", node.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, node.Output, StringComparison.Ordinal);
        Assert.Single(server.Output.Split('\n'), l => l.Contains("authentication error", StringComparison.Ordinal)); // one attempt, no retry loop
    }

    [Fact]
    public async Task Revoked_credentials_should_make_the_node_unready_until_they_are_valid_again()
    {
        await using var server = NatsServerFixture.WithConfig(Users(withRunner: true));
        await using var s = new Scenario(server, $$"""runner.nats.auth { user = "runner", password = "{{Password}}" }""");
        await s.StartNodeAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{s.AdminPort}") };
        await ReadyIsAsync(http, HttpStatusCode.OK);

        await server.ReloadAsync(Users(withRunner: false));
        var unready = await ReadyIsAsync(http, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("\"natsConnected\":false", unready, StringComparison.Ordinal);

        await server.ReloadAsync(Users(withRunner: true));
        var ready = await ReadyIsAsync(http, HttpStatusCode.OK);
        Assert.Contains("\"natsConnected\":true", ready, StringComparison.Ordinal);
    }

    private static async Task<string> ReadyIsAsync(HttpClient http, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var response = await http.GetAsync(new Uri("/ready", UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == expected) return body;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"/ready stayed {(int)response.StatusCode} {body}, expected {(int)expected}");
            await Task.Delay(50); // polling the endpoint for the condition
        }
    }
}
