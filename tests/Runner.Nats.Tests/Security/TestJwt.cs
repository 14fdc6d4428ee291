using System.Globalization;
using System.Text;
using System.Text.Json;
using NATS.NKeys;

namespace Runner.Nats.Tests.Security;

/// <summary>
/// A decentralised (operator mode) NATS setup made without nsc: an operator, an account with JetStream and a user,
/// each an NKey, with the JWTs that chain them (header <c>ed25519-nkey</c>, claims signed by the issuer's key).
/// <see cref="ServerConfig"/> is the server's operator block with a memory resolver; <see cref="WriteCreds"/> the
/// user's <c>.creds</c> file as nsc writes it.
/// </summary>
internal sealed class TestJwt
{
    private readonly KeyPair _operator = KeyPair.CreatePair(PrefixByte.Operator);
    private readonly KeyPair _account = KeyPair.CreatePair(PrefixByte.Account);
    private readonly KeyPair _system = KeyPair.CreatePair(PrefixByte.Account);

    public TestJwt()
    {
        OperatorJwt = Sign(_operator, _operator.GetPublicKey(), "operator", new Dictionary<string, object> { ["type"] = "operator", ["version"] = 2 });
        SystemJwt = Sign(_operator, _system.GetPublicKey(), "SYS", new Dictionary<string, object> { ["type"] = "account", ["version"] = 2 });
        AccountJwt = Sign(_operator, _account.GetPublicKey(), "runner-account", new Dictionary<string, object>
        {
            ["limits"] = new Dictionary<string, object>
            {
                ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["imports"] = -1, ["exports"] = -1, ["wildcards"] = true,
                ["conn"] = -1, ["leaf"] = -1, ["mem_storage"] = -1, ["disk_storage"] = -1, ["streams"] = -1, ["consumer"] = -1,
            },
            ["default_permissions"] = new Dictionary<string, object> { ["pub"] = new Dictionary<string, object>(), ["sub"] = new Dictionary<string, object>() },
            ["type"] = "account",
            ["version"] = 2,
        });
    }

    public string OperatorJwt { get; }

    public string AccountJwt { get; }

    public string SystemJwt { get; }

    public string AccountPublicKey => _account.GetPublicKey();

    /// <summary>Server configuration: trust the operator, know the account.</summary>
    public string ServerConfig => $$"""
        operator: "{{OperatorJwt}}"
        system_account: "{{_system.GetPublicKey()}}"
        resolver: MEMORY
        resolver_preload: {
          {{AccountPublicKey}}: "{{AccountJwt}}"
          {{_system.GetPublicKey()}}: "{{SystemJwt}}"
        }
        """;

    /// <summary>A new user as a .creds file, signed by the account (or, unless <paramref name="signedByAccount"/>, by an account the server does not know).</summary>
    public string WriteCreds(string path, bool signedByAccount = true)
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        using var stranger = KeyPair.CreatePair(PrefixByte.Account);
        var jwt = Sign(signedByAccount ? _account : stranger, user.GetPublicKey(), "runner", new Dictionary<string, object>
        {
            ["pub"] = new Dictionary<string, object>(), ["sub"] = new Dictionary<string, object>(),
            ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["type"] = "user", ["version"] = 2,
        });
        File.WriteAllText(path, $"""
            -----BEGIN NATS USER JWT-----
            {jwt}
            ------END NATS USER JWT------

            ************************* IMPORTANT *************************
            NKEY Seed printed below can be used to sign and prove identity.
            NKEYs are sensitive and should be treated as secrets.

            -----BEGIN USER NKEY SEED-----
            {user.GetSeed()}
            ------END USER NKEY SEED------

            *************************************************************

            """);
        return path;
    }

    private static string Sign(KeyPair issuer, string subject, string name, Dictionary<string, object> nats)
    {
        var header = Base64Url("""{"typ":"JWT","alg":"ed25519-nkey"}"""u8.ToArray());
        var claims = new Dictionary<string, object>
        {
            ["jti"] = Guid.NewGuid().ToString("N").ToUpperInvariant(),
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["iss"] = issuer.GetPublicKey(),
            ["name"] = name,
            ["sub"] = subject,
            ["nats"] = nats,
        };
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = new byte[64];
        issuer.Sign(Encoding.ASCII.GetBytes($"{header}.{payload}"), signature);
        return string.Create(CultureInfo.InvariantCulture, $"{header}.{payload}.{Base64Url(signature)}");
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
