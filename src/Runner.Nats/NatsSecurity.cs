using System.Text;
using NATS.Client.Core;

namespace Runner.Nats;

/// <summary>How the node proves who it is to NATS.</summary>
public enum NatsAuthMode
{
    /// <summary>No credentials (or only those written in the URL).</summary>
    None,

    /// <summary>A user name and password.</summary>
    UserPassword,

    /// <summary>A token.</summary>
    Token,

    /// <summary>An NKey: the seed file's private key signs the server's nonce.</summary>
    NKey,

    /// <summary>A <c>.creds</c> file: a user JWT and the NKey seed that signs with it (decentralised, operator mode).</summary>
    Creds,
}

/// <summary>Whether and how the connection is encrypted.</summary>
public enum NatsTlsMode
{
    /// <summary>TLS when the URL is <c>tls://</c>, a CA or client certificate is set, or the server offers it.</summary>
    Auto,

    /// <summary>TLS or no connection.</summary>
    Require,

    /// <summary>TLS handshake before the server's first message (server <c>tls { handshake_first: true }</c>, nats-server 2.10+).</summary>
    First,

    /// <summary>Never TLS (behind a TLS-terminating proxy).</summary>
    Disable,
}

/// <summary>
/// Credentials and TLS of the NATS connection, read from <c>runner.nats.auth</c> and <c>runner.nats.tls</c> with the
/// <c>RUNNER_NATS_*</c> variables over them. Secrets (password, token) are held here only; <see cref="ToString"/>,
/// <see cref="Describe()"/> and every message built from this type show the mode and file paths, never a secret. Seeds
/// and JWTs stay in their files, which the client reads when it connects.
/// </summary>
public sealed record NatsSecurity
{
    /// <summary>Environment variable over <c>runner.nats.auth.user</c>.</summary>
    public const string UserVariable = "RUNNER_NATS_USER";

    /// <summary>Environment variable over <c>runner.nats.auth.password</c>.</summary>
    public const string PasswordVariable = "RUNNER_NATS_PASSWORD";

    /// <summary>Environment variable over <c>runner.nats.auth.password-file</c>.</summary>
    public const string PasswordFileVariable = "RUNNER_NATS_PASSWORD_FILE";

    /// <summary>Environment variable over <c>runner.nats.auth.token</c>.</summary>
    public const string TokenVariable = "RUNNER_NATS_TOKEN";

    /// <summary>Environment variable over <c>runner.nats.auth.token-file</c>.</summary>
    public const string TokenFileVariable = "RUNNER_NATS_TOKEN_FILE";

    /// <summary>Environment variable over <c>runner.nats.auth.nkey-seed-file</c>.</summary>
    public const string NKeySeedFileVariable = "RUNNER_NATS_NKEY_SEED_FILE";

    /// <summary>Environment variable over <c>runner.nats.auth.creds-file</c>.</summary>
    public const string CredsFileVariable = "RUNNER_NATS_CREDS_FILE";

    /// <summary>Environment variable over <c>runner.nats.tls.mode</c>.</summary>
    public const string TlsModeVariable = "RUNNER_NATS_TLS_MODE";

    /// <summary>Environment variable over <c>runner.nats.tls.ca-file</c>.</summary>
    public const string TlsCaFileVariable = "RUNNER_NATS_TLS_CA_FILE";

    /// <summary>Environment variable over <c>runner.nats.tls.cert-file</c>.</summary>
    public const string TlsCertFileVariable = "RUNNER_NATS_TLS_CERT_FILE";

    /// <summary>Environment variable over <c>runner.nats.tls.key-file</c>.</summary>
    public const string TlsKeyFileVariable = "RUNNER_NATS_TLS_KEY_FILE";

    private const string Hidden = "***";

    /// <summary>No credentials, TLS as the server and URL ask.</summary>
    public static NatsSecurity None { get; } = new();

    /// <summary>How the node authenticates.</summary>
    public NatsAuthMode Auth { get; init; } = NatsAuthMode.None;

    /// <summary>User name (user-password mode); not a secret, shown in messages.</summary>
    public string? User { get; init; }

    /// <summary>Password (user-password mode); never shown.</summary>
    public string? Password { get; init; }

    /// <summary>Where the password was read from, when from a file.</summary>
    public string? PasswordFile { get; init; }

    /// <summary>Token (token mode); never shown.</summary>
    public string? Token { get; init; }

    /// <summary>Where the token was read from, when from a file.</summary>
    public string? TokenFile { get; init; }

    /// <summary>File holding the NKey seed (<c>SU...</c>) in NKey mode.</summary>
    public string? NKeySeedFile { get; init; }

    /// <summary>The <c>.creds</c> file (user JWT and NKey seed) in creds mode.</summary>
    public string? CredsFile { get; init; }

    /// <summary>TLS mode.</summary>
    public NatsTlsMode Tls { get; init; } = NatsTlsMode.Auto;

    /// <summary>PEM file of the CA(s) that sign the server's certificate; the system's trust store when unset.</summary>
    public string? TlsCaFile { get; init; }

    /// <summary>PEM client certificate (with <see cref="TlsKeyFile"/>) for servers that verify clients.</summary>
    public string? TlsCertFile { get; init; }

    /// <summary>PEM private key of <see cref="TlsCertFile"/>.</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>The auth mode as the configuration spells it (none, user-password, token, nkey, creds).</summary>
    public string AuthName => Auth switch
    {
        NatsAuthMode.UserPassword => "user-password",
        NatsAuthMode.Token => "token",
        NatsAuthMode.NKey => "nkey",
        NatsAuthMode.Creds => "creds",
        _ => "none",
    };

    /// <summary>
    /// Reads the settings. <paramref name="key"/> gives the value of a key under <c>runner.nats</c> (<c>auth.user</c>,
    /// <c>tls.mode</c>, ...; null or empty when unset), the <c>RUNNER_NATS_*</c> variables already in it
    /// (<see cref="NatsSettings.EnvironmentOverrides"/>). Password and token files are read now; seed, creds and
    /// certificate files must exist. Messages name each key with its variable.
    /// </summary>
    /// <exception cref="ArgumentException">An invalid or contradictory setting; the message names it and holds no secret.</exception>
    public static NatsSecurity Create(Func<string, string?> key)
    {
        ArgumentNullException.ThrowIfNull(key);
        string? Read(string k) => key(k) is { Length: > 0 } c ? c : null;
        static string Name(string k, string variable) => $"runner.nats.{k} ({variable})";

        var user = Read("auth.user");
        var password = Read("auth.password");
        var passwordFile = Read("auth.password-file");
        var token = Read("auth.token");
        var tokenFile = Read("auth.token-file");
        var nkeyFile = Read("auth.nkey-seed-file");
        var credsFile = Read("auth.creds-file");

        if (password is not null && passwordFile is not null)
            throw new ArgumentException($"Set {Name("auth.password", PasswordVariable)} or {Name("auth.password-file", PasswordFileVariable)}, not both.");
        if (token is not null && tokenFile is not null)
            throw new ArgumentException($"Set {Name("auth.token", TokenVariable)} or {Name("auth.token-file", TokenFileVariable)}, not both.");

        var modes = new List<NatsAuthMode>();
        if (user is not null || password is not null || passwordFile is not null) modes.Add(NatsAuthMode.UserPassword);
        if (token is not null || tokenFile is not null) modes.Add(NatsAuthMode.Token);
        if (nkeyFile is not null) modes.Add(NatsAuthMode.NKey);
        if (credsFile is not null) modes.Add(NatsAuthMode.Creds);
        if (modes.Count > 1)
            throw new ArgumentException(
                $"runner.nats.auth sets more than one way to authenticate ({string.Join(", ", modes.Select(m => new NatsSecurity { Auth = m }.AuthName))}): " +
                "set one of user and password, token, nkey-seed-file or creds-file.");

        var security = new NatsSecurity
        {
            Auth = modes.Count == 0 ? NatsAuthMode.None : modes[0],
            User = user,
            Password = passwordFile is not null ? ReadSecret(passwordFile, Name("auth.password-file", PasswordFileVariable)) : password,
            PasswordFile = passwordFile,
            Token = tokenFile is not null ? ReadSecret(tokenFile, Name("auth.token-file", TokenFileVariable)) : token,
            TokenFile = tokenFile,
            NKeySeedFile = nkeyFile is not null ? SeedFile(nkeyFile, Name("auth.nkey-seed-file", NKeySeedFileVariable)) : null,
            CredsFile = credsFile is not null ? Existing(credsFile, Name("auth.creds-file", CredsFileVariable)) : null,
            Tls = TlsModeOf(Read("tls.mode") ?? "auto"),
            TlsCaFile = Read("tls.ca-file") is { } ca ? Existing(ca, Name("tls.ca-file", TlsCaFileVariable)) : null,
            TlsCertFile = Read("tls.cert-file") is { } cert ? Existing(cert, Name("tls.cert-file", TlsCertFileVariable)) : null,
            TlsKeyFile = Read("tls.key-file") is { } k ? Existing(k, Name("tls.key-file", TlsKeyFileVariable)) : null,
        };

        if (security.Auth == NatsAuthMode.UserPassword && (security.User is null || security.Password is null))
            throw new ArgumentException(
                $"runner.nats.auth needs both a user ({UserVariable}) and a password ({PasswordVariable} or {PasswordFileVariable}), or neither.");
        if ((security.TlsCertFile is null) != (security.TlsKeyFile is null))
            throw new ArgumentException(
                $"runner.nats.tls.cert-file ({TlsCertFileVariable}) and runner.nats.tls.key-file ({TlsKeyFileVariable}) go together: a client certificate needs its key.");
        if (security.Tls == NatsTlsMode.Disable && (security.TlsCaFile ?? security.TlsCertFile) is not null)
            throw new ArgumentException("runner.nats.tls.mode is disable, yet a CA or client certificate file is set.");
        return security;
    }

    /// <summary>The client options with these credentials and TLS settings applied.</summary>
    public NatsOpts Apply(NatsOpts opts)
    {
        ArgumentNullException.ThrowIfNull(opts);
        var auth = Auth switch
        {
            NatsAuthMode.UserPassword => NatsAuthOpts.Default with { Username = User, Password = Password },
            NatsAuthMode.Token => NatsAuthOpts.Default with { Token = Token },
            // Read at every connect (a rotated seed file is picked up on reconnect); the public key is derived from the seed,
            // so the file may hold the seed alone, as nk writes it.
            NatsAuthMode.NKey => NatsAuthOpts.Default with { AuthCredCallback = NKeyCredentialsAsync },
            NatsAuthMode.Creds => NatsAuthOpts.Default with { CredsFile = CredsFile },
            _ => opts.AuthOpts,
        };
        var tls = opts.TlsOpts with
        {
            Mode = Tls switch
            {
                NatsTlsMode.Require => TlsMode.Require,
                NatsTlsMode.First => TlsMode.Implicit,
                NatsTlsMode.Disable => TlsMode.Disable,
                _ => TlsMode.Auto,
            },
            CaFile = TlsCaFile ?? opts.TlsOpts.CaFile,
            CertFile = TlsCertFile ?? opts.TlsOpts.CertFile,
            KeyFile = TlsKeyFile ?? opts.TlsOpts.KeyFile,
        };
        return opts with { AuthOpts = auth, TlsOpts = tls };
    }

    private async ValueTask<NatsAuthCred> NKeyCredentialsAsync(Uri server, CancellationToken cancellationToken)
    {
        var seed = ReadSeed(await File.ReadAllLinesAsync(NKeySeedFile!, cancellationToken).ConfigureAwait(false))
                   ?? throw new NatsException($"runner.nats.auth.nkey-seed-file '{NKeySeedFile}' holds no user NKey seed (a line starting with SU).");
        return NatsAuthCred.FromNkey(seed);
    }

    private static string? ReadSeed(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("SU", StringComparison.Ordinal));

    /// <summary>
    /// The mode and files in force, for logs and errors: <c>auth user-password (user 'runner'), tls require (ca /etc/ca.pem)</c>.
    /// Never a password, token or seed.
    /// </summary>
    public string Describe() => Describe(null);

    /// <summary>As <see cref="Describe()"/>, with <c>auth url-credentials</c> when no auth key is set and <paramref name="url"/> carries credentials.</summary>
    public string Describe(string? url)
    {
        var urlCredentials = Auth == NatsAuthMode.None && url is not null && UrlHasCredentials(url);
        var sb = new StringBuilder("auth ").Append(urlCredentials ? "url-credentials" : AuthName);
        switch (Auth)
        {
            case NatsAuthMode.UserPassword:
                sb.Append(" (user '").Append(User).Append('\'');
                if (PasswordFile is not null) sb.Append(", password from ").Append(PasswordFile);
                sb.Append(')');
                break;
            case NatsAuthMode.Token when TokenFile is not null:
                sb.Append(" (from ").Append(TokenFile).Append(')');
                break;
            case NatsAuthMode.NKey:
                sb.Append(" (seed file ").Append(NKeySeedFile).Append(')');
                break;
            case NatsAuthMode.Creds:
                sb.Append(" (creds file ").Append(CredsFile).Append(')');
                break;
        }

        sb.Append(", tls ").Append(Tls.ToString().ToLowerInvariant());
        var files = new List<string>();
        if (TlsCaFile is not null) files.Add("ca " + TlsCaFile);
        if (TlsCertFile is not null) files.Add($"client cert {TlsCertFile}, key {TlsKeyFile}");
        if (files.Count > 0) sb.Append(" (").Append(string.Join(", ", files)).Append(')');
        return sb.ToString();
    }

    /// <summary>
    /// <paramref name="text"/> with every secret this node holds (password, token, URL user info) replaced by <c>***</c>:
    /// for messages that carry text from elsewhere (a client exception, a server's detail).
    /// </summary>
    public string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        foreach (var secret in new[] { Password, Token })
        {
            if (!string.IsNullOrEmpty(secret)) text = text.Replace(secret, Hidden, StringComparison.Ordinal);
        }

        return RedactUrls(text);
    }

    /// <summary><paramref name="urls"/> (one or comma-separated) with any user info (<c>user:password@</c>, <c>token@</c>) replaced by <c>***@</c>.</summary>
    public static string RedactUrls(string urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        var sb = new StringBuilder(urls.Length);
        var i = 0;
        while (i < urls.Length)
        {
            var scheme = urls.IndexOf("://", i, StringComparison.Ordinal);
            if (scheme < 0) break;
            var hostStart = scheme + 3;
            var end = hostStart;
            while (end < urls.Length && urls[end] is not (',' or ' ' or '/' or '\'' or '"' or ')' or ']' or '\n')) end++;
            var at = urls.LastIndexOf('@', end - 1, end - hostStart);
            sb.Append(urls, i, hostStart - i);
            if (at >= hostStart)
            {
                sb.Append(Hidden).Append('@');
                sb.Append(urls, at + 1, end - at - 1);
            }
            else sb.Append(urls, hostStart, end - hostStart);

            i = end;
        }

        sb.Append(urls, i, urls.Length - i);
        return sb.ToString();
    }

    /// <summary>Whether any of <paramref name="urls"/> carries user info (credentials in the URL).</summary>
    public static bool UrlHasCredentials(string urls) => !string.Equals(RedactUrls(urls), urls, StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => Describe();

    private static NatsTlsMode TlsModeOf(string raw) => raw.Trim().ToLowerInvariant() switch
    {
        "auto" => NatsTlsMode.Auto,
        "require" or "required" => NatsTlsMode.Require,
        "first" or "tls-first" => NatsTlsMode.First,
        "disable" or "disabled" => NatsTlsMode.Disable,
        _ => throw new ArgumentException($"runner.nats.tls.mode ({TlsModeVariable}) must be auto, require, first or disable, not '{raw}'."),
    };

    private static string Existing(string path, string setting) =>
        File.Exists(path) ? path : throw new ArgumentException($"{setting} names '{path}', which does not exist or is not a file.");

    private static string SeedFile(string path, string setting)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(Existing(path, setting));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{setting}: '{path}' cannot be read ({e.GetType().Name}).", e);
        }

        return ReadSeed(lines) is not null ? path : throw new ArgumentException($"{setting}: '{path}' holds no user NKey seed (a line starting with SU).");
    }

    private static string ReadSecret(string path, string setting)
    {
        string text;
        try
        {
            text = File.ReadAllText(Existing(path, setting));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{setting}: '{path}' cannot be read ({e.GetType().Name}).", e);
        }

        // A secret mounted from a Kubernetes Secret or written by echo ends with a newline that is not part of it.
        var secret = text.TrimEnd('\r', '\n');
        return secret.Length > 0 ? secret : throw new ArgumentException($"{setting}: '{path}' is empty.");
    }
}
