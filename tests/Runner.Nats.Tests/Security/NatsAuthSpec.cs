using System.Diagnostics;
using System.Text;
using NATS.NKeys;
using Runner.TestKit;
using Xunit;

namespace Runner.Nats.Tests.Security;

/// <summary>
/// The node's NATS edge against a real nats-server started with a configuration file for each way to authenticate and
/// encrypt: it connects and uses JetStream with the right credentials, and with wrong ones stops at once with the
/// server and mode named and no secret in the message.
/// </summary>
public sealed class NatsAuthSpec : IDisposable
{
    private const string Password = "pa55-w0rd-never-shown";
    private const string Token = "t0ken-never-shown";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_user_and_password_should_connect_and_wrong_ones_should_fail_once_naming_server_and_mode()
    {
        await using var server = NatsServerFixture.WithConfig(UsersConfig(withRunner: true));
        await using (var edge = await StartedEdgeAsync(server, new NatsSecurity { Auth = NatsAuthMode.UserPassword, User = "runner", Password = Password }))
            await AssertPublishesAsync(edge);

        var e = await ConnectFailsAsync(server, new NatsSecurity { Auth = NatsAuthMode.UserPassword, User = "runner", Password = "wrong-" + Password });
        Assert.Equal(NatsConnectFailure.Credentials, e.Failure);
        Assert.Contains(server.Url, e.Message, StringComparison.Ordinal);
        Assert.Contains("auth user-password (user 'runner')", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Credentials_in_the_url_should_connect_and_never_be_shown()
    {
        await using var server = NatsServerFixture.WithConfig(UsersConfig(withRunner: true));
        var url = $"nats://runner:wrong-{Password}@127.0.0.1:{server.Port}";
        var e = await ConnectFailsAsync(server, NatsSecurity.None, url);
        Assert.Equal(NatsConnectFailure.Credentials, e.Failure);
        Assert.Contains($"nats://***@127.0.0.1:{server.Port}", e.Message, StringComparison.Ordinal);
        Assert.Contains("auth url-credentials", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, e.Message, StringComparison.Ordinal);

        await using var edge = await StartedEdgeAsync(server, NatsSecurity.None, $"nats://runner:{Password}@127.0.0.1:{server.Port}");
        Assert.DoesNotContain(Password, edge.Settings.RedactedUrl, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, edge.Settings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_should_connect_and_a_wrong_one_should_fail_without_being_shown()
    {
        await using var server = NatsServerFixture.WithConfig($$"""authorization { token: "{{Token}}" }""");
        var tokenFile = Path.Combine(_dir.Path, "token");
        await File.WriteAllTextAsync(tokenFile, Token + "\n"); // as a mounted secret or echo writes it
        var fromFile = NatsSecurity.Create(k => k == "auth.token-file" ? tokenFile : null);
        await using (var edge = await StartedEdgeAsync(server, fromFile))
            await AssertPublishesAsync(edge);

        var e = await ConnectFailsAsync(server, new NatsSecurity { Auth = NatsAuthMode.Token, Token = "not-" + Token });
        Assert.Equal(NatsConnectFailure.Credentials, e.Failure);
        Assert.Contains("auth token", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_nkey_seed_file_should_connect_and_an_unknown_key_should_fail()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        using var stranger = KeyPair.CreatePair(PrefixByte.User);
        await using var server = NatsServerFixture.WithConfig($$"""authorization { users = [ { nkey: "{{user.GetPublicKey()}}" } ] }""");
        var seedFile = Path.Combine(_dir.Path, "user.nk");
        await File.WriteAllTextAsync(seedFile, user.GetSeed() + "\n");
        await using (var edge = await StartedEdgeAsync(server, new NatsSecurity { Auth = NatsAuthMode.NKey, NKeySeedFile = seedFile }))
            await AssertPublishesAsync(edge);

        var strangerFile = Path.Combine(_dir.Path, "stranger.nk");
        await File.WriteAllTextAsync(strangerFile, stranger.GetSeed());
        var e = await ConnectFailsAsync(server, new NatsSecurity { Auth = NatsAuthMode.NKey, NKeySeedFile = strangerFile });
        Assert.Equal(NatsConnectFailure.Credentials, e.Failure);
        Assert.Contains($"auth nkey (seed file {strangerFile})", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(stranger.GetSeed(), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_creds_file_should_connect_to_a_server_in_operator_mode_and_a_foreign_one_should_fail()
    {
        var jwt = new TestJwt();
        await using var server = NatsServerFixture.WithConfig(jwt.ServerConfig);
        var creds = jwt.WriteCreds(Path.Combine(_dir.Path, "runner.creds"));
        await using (var edge = await StartedEdgeAsync(server, new NatsSecurity { Auth = NatsAuthMode.Creds, CredsFile = creds }))
            await AssertPublishesAsync(edge);

        var foreign = jwt.WriteCreds(Path.Combine(_dir.Path, "foreign.creds"), signedByAccount: false);
        var e = await ConnectFailsAsync(server, new NatsSecurity { Auth = NatsAuthMode.Creds, CredsFile = foreign });
        Assert.Equal(NatsConnectFailure.Credentials, e.Failure);
        Assert.Contains($"auth creds (creds file {foreign})", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_with_a_ca_file_should_connect_and_an_untrusted_server_certificate_should_fail()
    {
        var pki = new TestPki(Path.Combine(_dir.Path, "pki"));
        var (cert, key) = pki.Server();
        await using var server = NatsServerFixture.WithConfig(TlsConfig(cert, key, pki.CaFile, verifyClients: false));
        await using (var edge = await StartedEdgeAsync(server, new NatsSecurity { Tls = NatsTlsMode.Require, TlsCaFile = pki.CaFile }))
        {
            await AssertPublishesAsync(edge);
            Assert.True(edge.Connection.ServerInfo?.TlsRequired);
        }

        var other = new TestPki(Path.Combine(_dir.Path, "other"), "some-other-ca");
        var e = await ConnectFailsAsync(server, new NatsSecurity { TlsCaFile = other.CaFile });
        Assert.Equal(NatsConnectFailure.Tls, e.Failure);
        Assert.Contains(server.Url, e.Message, StringComparison.Ordinal);
        Assert.Contains($"tls auto (ca {other.CaFile})", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_certificate_should_connect_to_a_server_that_verifies_clients_and_none_should_fail()
    {
        var pki = new TestPki(Path.Combine(_dir.Path, "pki"));
        var (serverCert, serverKey) = pki.Server();
        var (clientCert, clientKey) = pki.Client();
        await using var server = NatsServerFixture.WithConfig(TlsConfig(serverCert, serverKey, pki.CaFile, verifyClients: true));
        var mutual = new NatsSecurity { Tls = NatsTlsMode.Require, TlsCaFile = pki.CaFile, TlsCertFile = clientCert, TlsKeyFile = clientKey };
        await using (var edge = await StartedEdgeAsync(server, mutual))
            await AssertPublishesAsync(edge);

        var e = await ConnectFailsAsync(server, mutual with { TlsCertFile = null, TlsKeyFile = null });
        Assert.Contains(server.Url, e.Message, StringComparison.Ordinal);
        Assert.Contains("tls require", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Credentials_revoked_at_run_time_should_drop_the_connection_and_it_should_come_back_when_they_are_valid_again()
    {
        await using var server = NatsServerFixture.WithConfig(UsersConfig(withRunner: true));
        await using var edge = await StartedEdgeAsync(server, new NatsSecurity { Auth = NatsAuthMode.UserPassword, User = "runner", Password = Password });
        Assert.True(edge.IsConnected);

        await server.ReloadAsync(UsersConfig(withRunner: false));
        await WaitUntilAsync(() => !edge.IsConnected, "the connection of a removed user is closed");
        // Refused reconnects do not end the retrying: the client is back once the user is.
        await server.ReloadAsync(UsersConfig(withRunner: true));
        await WaitUntilAsync(() => edge.IsConnected, "the node reconnects once its user is back");
        await AssertPublishesAsync(edge);
    }

    private static string UsersConfig(bool withRunner) => $$"""
        authorization {
          users = [
            { user: "operator", password: "operator-password" }
            {{(withRunner ? $"{{ user: \"runner\", password: \"{Password}\" }}" : "")}}
          ]
        }
        """;

    private static string TlsConfig(string cert, string key, string ca, bool verifyClients) => $$"""
        tls {
          cert_file: "{{cert}}"
          key_file: "{{key}}"
          ca_file: "{{ca}}"
          verify: {{(verifyClients ? "true" : "false")}}
          timeout: 2
        }
        """;

    private static NatsSettings Settings(NatsServerFixture server, NatsSecurity security, string? url = null)
    {
        var name = NatsServerFixture.UniqueName("auth");
        return new NatsSettings
        {
            Url = url ?? server.Url,
            Security = security,
            Subjects = new Subjects(name),
            EventsStream = name.ToUpperInvariant() + "_EVENTS",
            CommandsStream = name.ToUpperInvariant() + "_COMMANDS",
            DeadLetterStream = name.ToUpperInvariant() + "_DLQ",
            FileStorage = false,
            PublishTimeout = TimeSpan.FromSeconds(2),
        };
    }

    private static async Task<NatsEdge> StartedEdgeAsync(NatsServerFixture server, NatsSecurity security, string? url = null)
    {
        var edge = new NatsEdge(Settings(server, security, url));
        try
        {
            await edge.StartAsync().WaitAsync(TimeSpan.FromSeconds(20));
            return edge;
        }
        catch
        {
            await edge.DisposeAsync();
            throw;
        }
    }

    private static async Task<NatsConnectException> ConnectFailsAsync(NatsServerFixture server, NatsSecurity security, string? url = null)
    {
        await using var edge = new NatsEdge(Settings(server, security, url));
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<NatsConnectException>(() => edge.StartAsync().WaitAsync(TimeSpan.FromSeconds(20)));
        // One attempt, not a retry loop: the start fails within the client's connect timeout.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"failing took {clock.Elapsed}");
        Assert.False(edge.IsConnected);
        return e;
    }

    private static async Task AssertPublishesAsync(NatsEdge edge)
    {
        await edge.PublishCommandAsync("acme", "order", "o-1", "ReserveStock", Encoding.UTF8.GetBytes("{}"), Guid.NewGuid().ToString("N"), null, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(20));
        var stream = await edge.JetStream.GetStreamAsync(edge.Settings.CommandsStream);
        Assert.True(stream.Info.State.Messages >= 1);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within 20 s: {what}");
            await Task.Delay(25); // polling a connection state that has no awaitable signal for "closed by the server"
        }
    }
}
