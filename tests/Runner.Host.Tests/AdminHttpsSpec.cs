using Runner.Ctl;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>The admin endpoint over HTTPS (a PKCS#12 or PEM certificate of a test CA) with two tokens, through <c>runnerctl</c>.</summary>
public sealed class AdminHttpsSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>, IDisposable
{
    private readonly TempDirectory _dir = new("runner-admin-tls");

    private static async Task<(int Code, string Out, string Err)> Ctl(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("pfx")]
    [InlineData("pem")]
    public async Task Runnerctl_should_talk_HTTPS_trusting_the_given_CA_and_send_the_right_token(string format)
    {
        var certs = new TestCertificates(_dir.Path);
        var (ca, caPem) = certs.Ca("admin-ca");
        var certificate = TestCertificates.Node("admin", ca);
        string tls;
        if (format == "pfx")
        {
            tls = $$"""tls { certificate = "{{certs.Pfx(certificate, "admin")}}", password = "{{TestCertificates.Password}}" }""";
        }
        else
        {
            var (cert, key) = certs.Pem(certificate, "admin");
            tls = $$"""tls { certificate = "{{cert}}", key = "{{key}}" }""";
        }

        await using var s = new Scenario(nats, $$"""runner.admin { read-token = "reader", operator-token = "operator", {{tls}} }""");
        await s.StartNodeAsync();
        var at = "127.0.0.1:" + s.AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // --ca-file makes host:port https://; the read token reads.
        var shown = await Ctl(at, "cluster", "show", "--ca-file", caPem, "--read-token", "reader");
        Assert.True(shown.Code == 0, shown.Err);
        Assert.Contains("akka.tcp://runner@", shown.Out, StringComparison.Ordinal);

        // An action with the read token only: the node's 403, exit 1.
        var refused = await Ctl(at, "runner", "drain", "--ca-file", caPem, "--read-token", "reader");
        Assert.Equal(1, refused.Code);
        Assert.Contains("403", refused.Err, StringComparison.Ordinal);
        Assert.Contains("operator token", refused.Err, StringComparison.Ordinal);

        // Both tokens: GETs go with the read token, actions with the operator token (a dry-run purge is an action).
        var purged = await Ctl(at, "dlq", "purge", "--dry-run", "--ca-file", caPem, "--read-token", "reader", "--token", "operator", "--json");
        Assert.True(purged.Code == 0, purged.Err);
        Assert.Contains("\"dryRun\":true", purged.Out, StringComparison.Ordinal);

        // The machine does not trust the test CA, nor does another CA: refused before any request, with what to do.
        var untrusted = await Ctl("https://" + at, "cluster", "show", "--token", "operator");
        Assert.Equal(3, untrusted.Code);
        Assert.Contains("not trusted", untrusted.Err, StringComparison.Ordinal);
        var (_, otherCa) = certs.Ca("other-ca");
        Assert.Equal(3, (await Ctl(at, "cluster", "show", "--ca-file", otherCa, "--token", "operator")).Code);

        // Plain HTTP to an HTTPS endpoint answers nothing useful: not a silent success.
        Assert.NotEqual(0, (await Ctl("http://" + at, "cluster", "show", "--token", "operator")).Code);
    }

    public void Dispose() => _dir.Dispose();
}
