using Akka.Configuration;
using NATS.Client.Core;
using Runner.TestKit;
using Xunit;

namespace Runner.Nats.Tests.Security;

/// <summary><c>runner.nats.auth</c>, <c>runner.nats.tls</c> and their RUNNER_NATS_* variables: parsing, validation, redaction.</summary>
public sealed class NatsSecuritySettingsSpec : IDisposable
{
    private const string Secret = "s3cr3t-never-shown";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Config Hocon(string hocon = "") => ConfigurationFactory.ParseString(hocon);

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    private string File(string name, string content)
    {
        var path = Path.Combine(_dir.Path, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void No_auth_and_tls_keys_should_leave_the_client_anonymous_with_tls_as_the_server_asks()
    {
        var settings = NatsSettings.Create(Hocon(), Env());
        Assert.Equal(NatsAuthMode.None, settings.Security.Auth);
        Assert.Equal(NatsTlsMode.Auto, settings.Security.Tls);
        var opts = settings.ClientOptions();
        Assert.True(opts.AuthOpts.IsAnonymous);
        Assert.Equal(TlsMode.Auto, opts.TlsOpts.Mode);
        Assert.Equal("runner", opts.Name);
        Assert.Equal(-1, opts.MaxReconnectRetry);
        Assert.False(opts.RetryOnInitialConnect);
    }

    [Fact]
    public void User_and_password_should_come_from_hocon_and_the_environment_should_win()
    {
        var hocon = Hocon($"runner.nats.auth {{ user = \"from-file\", password = \"{Secret}\" }}");
        var fromFile = NatsSettings.Create(hocon, Env());
        Assert.Equal(NatsAuthMode.UserPassword, fromFile.Security.Auth);
        Assert.Equal("from-file", fromFile.ClientOptions().AuthOpts.Username);
        Assert.Equal(Secret, fromFile.ClientOptions().AuthOpts.Password);

        var fromEnv = NatsSettings.Create(hocon, Env(("RUNNER_NATS_USER", "from-env"), ("RUNNER_NATS_PASSWORD", "env-" + Secret)));
        Assert.Equal("from-env", fromEnv.Security.User);
        Assert.Equal("env-" + Secret, fromEnv.ClientOptions().AuthOpts.Password);
    }

    [Fact]
    public void Password_and_token_files_should_be_read_without_their_trailing_newline()
    {
        var passwordFile = File("password", Secret + "\n");
        var settings = NatsSettings.Create(Hocon("runner.nats.auth.user = runner"), Env(("RUNNER_NATS_PASSWORD_FILE", passwordFile)));
        Assert.Equal(Secret, settings.Security.Password);
        Assert.Contains($"password from {passwordFile}", settings.DescribeSecurity(), StringComparison.Ordinal);

        var tokenFile = File("token", Secret + "\r\n");
        var token = NatsSettings.Create(Hocon($"runner.nats.auth.token-file = \"{tokenFile}\""), Env());
        Assert.Equal(NatsAuthMode.Token, token.Security.Auth);
        Assert.Equal(Secret, token.ClientOptions().AuthOpts.Token);
    }

    [Fact]
    public void Seed_and_creds_files_should_be_named_and_handed_to_the_client()
    {
        var creds = File("runner.creds", "-----BEGIN NATS USER JWT-----\nx\n------END NATS USER JWT------\n");
        var settings = NatsSettings.Create(Hocon(), Env(("RUNNER_NATS_CREDS_FILE", creds)));
        Assert.Equal(NatsAuthMode.Creds, settings.Security.Auth);
        Assert.Equal(creds, settings.ClientOptions().AuthOpts.CredsFile);
        Assert.Equal($"auth creds (creds file {creds}), tls auto", settings.DescribeSecurity());

        var seed = File("user.nk", "SUAOY5JZ2WJKVR4UO2KJ2P3SW6FZFNWEOIMAXF4WZEUNVQXXUOKGM55CYE\n");
        var nkey = NatsSettings.Create(Hocon($"runner.nats.auth.nkey-seed-file = \"{seed}\""), Env());
        Assert.Equal(NatsAuthMode.NKey, nkey.Security.Auth);
        Assert.NotNull(nkey.ClientOptions().AuthOpts.AuthCredCallback);
        Assert.DoesNotContain("SUAOY5", nkey.ToString(), StringComparison.Ordinal);

        var notASeed = File("not-a-seed", "hello\n");
        var e = Assert.Throws<ConfigurationException>(() => NatsSettings.Create(Hocon(), Env(("RUNNER_NATS_NKEY_SEED_FILE", notASeed))));
        Assert.Contains("no user NKey seed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_files_and_mode_should_be_handed_to_the_client()
    {
        var ca = File("ca.pem", "ca");
        var cert = File("client.pem", "cert");
        var key = File("client-key.pem", "key");
        var settings = NatsSettings.Create(
            Hocon($"runner.nats.tls {{ ca-file = \"{ca}\", cert-file = \"{cert}\", key-file = \"{key}\" }}"),
            Env(("RUNNER_NATS_TLS_MODE", "require")));
        var tls = settings.ClientOptions().TlsOpts;
        Assert.Equal(TlsMode.Require, tls.Mode);
        Assert.Equal(ca, tls.CaFile);
        Assert.Equal(cert, tls.CertFile);
        Assert.Equal(key, tls.KeyFile);
        Assert.Equal($"auth none, tls require (ca {ca}, client cert {cert}, key {key})", settings.DescribeSecurity());

        Assert.Equal(TlsMode.Implicit, NatsSettings.Create(Hocon("runner.nats.tls.mode = first"), Env()).ClientOptions().TlsOpts.Mode);
        Assert.Equal(TlsMode.Disable, NatsSettings.Create(Hocon(), Env(("RUNNER_NATS_TLS_MODE", "disable"))).ClientOptions().TlsOpts.Mode);
    }

    [Theory]
    [InlineData("runner.nats.auth { user = a, password = b, token = c }", "more than one way to authenticate (user-password, token)")]
    [InlineData("runner.nats.auth.user = a", "needs both a user")]
    [InlineData("runner.nats.auth.password = b", "needs both a user")]
    [InlineData("runner.nats.auth { token = a, token-file = /etc/hostname }", "not both")]
    [InlineData("runner.nats.auth.creds-file = /nonexistent/runner.creds", "'/nonexistent/runner.creds', which does not exist")]
    [InlineData("runner.nats.tls.mode = sometimes", "must be auto, require, first or disable")]
    [InlineData("runner.nats.tls.cert-file = /etc/hostname", "go together")]
    [InlineData("runner.nats.tls { mode = disable, ca-file = /etc/hostname }", "mode is disable")]
    public void Invalid_or_contradictory_settings_should_stop_with_the_key_named(string hocon, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => NatsSettings.Create(Hocon(hocon), Env()));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_of_the_settings_should_never_hold_a_password_token_or_url_credentials()
    {
        var password = NatsSettings.Create(Hocon($"runner.nats.auth {{ user = runner, password = \"{Secret}\" }}"), Env());
        var token = NatsSettings.Create(Hocon(), Env(("RUNNER_NATS_TOKEN", Secret)));
        var url = NatsSettings.Create(Hocon(), Env(("RUNNER_NATS_URL", $"nats://runner:{Secret}@a:4222,nats://{Secret}@b:4222")));
        foreach (var s in new[] { password, token, url })
        {
            Assert.DoesNotContain(Secret, s.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, s.Security.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, s.DescribeSecurity(), StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, s.RedactedUrl, StringComparison.Ordinal);
        }

        Assert.Equal("nats://***@a:4222,nats://***@b:4222", url.RedactedUrl);
        Assert.StartsWith("auth url-credentials", url.DescribeSecurity(), StringComparison.Ordinal);
        Assert.Equal("auth user-password (user 'runner'), tls auto", password.DescribeSecurity());
        Assert.Equal("client said: *** refused at nats://***@host:4222",
            password.Security.Redact($"client said: {Secret} refused at nats://runner:{Secret}@host:4222"));
        Assert.Equal("nats://127.0.0.1:4222", NatsSecurity.RedactUrls("nats://127.0.0.1:4222"));
    }
}
