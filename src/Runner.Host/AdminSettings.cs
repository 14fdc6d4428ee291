using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;

namespace Runner.Host;

/// <summary>Settings of the admin HTTP endpoint (<c>runner.admin</c>), read once.</summary>
public sealed record AdminSettings
{
    /// <summary>Address the endpoint binds.</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>Port; 0 = any free port (logged at start).</summary>
    public int Port { get; init; } = 8558;

    /// <summary>
    /// Bearer token of reads and actions on <c>/admin/*</c> (<c>operator-token</c>, or <c>token</c>, its older name); empty = none.
    /// </summary>
    public string OperatorToken { get; init; } = "";

    /// <summary>Bearer token of reads (GET, HEAD) on <c>/admin/*</c>; empty = none.</summary>
    public string ReadToken { get; init; } = "";

    /// <summary>Whether <c>/admin/*</c> needs a token (any is set; without one, loopback only).</summary>
    public bool RequiresToken => OperatorToken.Length > 0 || ReadToken.Length > 0;

    /// <summary>Certificate of HTTPS: PKCS#12 file or PEM certificate; empty = plain HTTP.</summary>
    public string CertificatePath { get; init; } = "";

    /// <summary>PEM private key of a PEM certificate (empty: in the certificate's file).</summary>
    public string CertificateKeyPath { get; init; } = "";

    /// <summary>Password of the PKCS#12 file or encrypted PEM key (never logged).</summary>
    public string CertificatePassword { get; init; } = "";

    /// <summary>How long an admin request waits for an actor of this node (placement view, intake, tenant region).</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a tenant-routed request waits for the node that runs the tenant (504 after it).</summary>
    public TimeSpan TenantAnswerTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <c>POST /admin/drain?wait=true</c> waits for the drain to finish (504 after it).</summary>
    public TimeSpan DrainWait { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long <c>GET /admin/regions</c> gives every region of the cluster to report its tenants.</summary>
    public TimeSpan RegionsStatsTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long the tenant views give every region of the cluster to report where each tenant is hosted.</summary>
    public TimeSpan TenantsStatsTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a tenant view waits for a tenant running on this node to say what it is doing.</summary>
    public TimeSpan TenantStatusTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a starting drain waits for the tenant region to list the tenants running on this node.</summary>
    public TimeSpan DrainRegionTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether the endpoint serves the operator console at <c>/ui</c>.</summary>
    public bool ConsoleEnabled { get; init; } = true;

    /// <summary>How long a console sign-in lasts.</summary>
    public TimeSpan ConsoleSessionTtl { get; init; } = TimeSpan.FromHours(8);

    /// <summary>How often the console's history of each tenant's lag and applied position is sampled on this node.</summary>
    public TimeSpan ConsoleSampleInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How many samples of each tenant are kept (the span of the console's charts).</summary>
    public int ConsoleSamplesKept { get; init; } = 120;

    /// <summary>Whether the endpoint serves HTTPS.</summary>
    public bool UsesHttps => CertificatePath.Length > 0;

    /// <summary>The endpoint's URL as Kestrel binds it.</summary>
    public string Url => $"{(UsesHttps ? "https" : "http")}://{Hostname}:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>What a request's bearer token may do.</summary>
    internal enum Access
    {
        /// <summary>No token, or one that matches none.</summary>
        None,

        /// <summary>The read token: GET and HEAD.</summary>
        Read,

        /// <summary>The operator token (or no token needed): everything.</summary>
        Operate,
    }

    /// <summary>What the <c>Authorization</c> header allows (constant time in the token's bytes).</summary>
    internal Access AccessOf(string authorization)
    {
        if (!RequiresToken) return Access.Operate;
        const string Scheme = "Bearer ";
        if (!authorization.StartsWith(Scheme, StringComparison.Ordinal)) return Access.None;
        var presented = System.Text.Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim());
        if (presented.Length == 0) return Access.None;
        if (OperatorToken.Length > 0 && CryptographicOperations.FixedTimeEquals(presented, System.Text.Encoding.UTF8.GetBytes(OperatorToken))) return Access.Operate;
        if (ReadToken.Length > 0 && CryptographicOperations.FixedTimeEquals(presented, System.Text.Encoding.UTF8.GetBytes(ReadToken))) return Access.Read;
        return Access.None;
    }

    /// <summary>Reads and validates the settings: a non-loopback address without a token is refused.</summary>
    public static AdminSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.GetConfig("runner.admin");
        var legacy = c?.GetString("token", "") ?? "";
        var operatorToken = c?.GetString("operator-token", "") ?? "";
        if (legacy.Length > 0 && operatorToken.Length > 0 && !string.Equals(legacy, operatorToken, StringComparison.Ordinal))
            throw new ConfigurationException(
                "runner.admin.token (RUNNER_ADMIN_TOKEN) and runner.admin.operator-token (RUNNER_ADMIN_OPERATOR_TOKEN) are two names of the operator token " +
                "and are set to different values: set one of them.");
        var settings = new AdminSettings
        {
            Hostname = c?.GetString("hostname", "127.0.0.1") ?? "127.0.0.1",
            Port = c?.GetInt("port", 8558) ?? 8558,
            OperatorToken = operatorToken.Length > 0 ? operatorToken : legacy,
            ReadToken = c?.GetString("read-token", "") ?? "",
            CertificatePath = c?.GetString("tls.certificate", "") ?? "",
            CertificateKeyPath = c?.GetString("tls.key", "") ?? "",
            CertificatePassword = c?.GetString("tls.password", "") ?? "",
            AskTimeout = Positive(c, "ask-timeout", TimeSpan.FromSeconds(5)),
            TenantAnswerTimeout = Positive(c, "tenant-answer-timeout", TimeSpan.FromSeconds(30)),
            DrainWait = Positive(c, "drain-wait", TimeSpan.FromMinutes(3)),
            RegionsStatsTimeout = Positive(c, "regions-stats-timeout", TimeSpan.FromSeconds(3)),
            TenantsStatsTimeout = Positive(c, "tenants-stats-timeout", TimeSpan.FromSeconds(2)),
            TenantStatusTimeout = Positive(c, "tenant-status-timeout", TimeSpan.FromSeconds(2)),
            DrainRegionTimeout = Positive(c, "drain-region-timeout", TimeSpan.FromSeconds(5)),
            ConsoleEnabled = c?.GetBoolean("console.enabled", true) ?? true,
            ConsoleSessionTtl = Positive(c, "console.session-ttl", TimeSpan.FromHours(8)),
            ConsoleSampleInterval = Positive(c, "console.sample-interval", TimeSpan.FromSeconds(5)),
            ConsoleSamplesKept = c?.GetInt("console.samples-kept", 120) ?? 120,
        };
        if (settings.ConsoleSamplesKept is < 2 or > 10_000)
            throw new ConfigurationException($"runner.admin.console.samples-kept must be between 2 and 10000, not {settings.ConsoleSamplesKept}.");
        if (settings.Port is < 0 or > 65535) throw new ConfigurationException($"runner.admin.port (RUNNER_ADMIN_PORT) must be a port number, not {settings.Port}.");
        if (settings.ReadToken.Length > 0 && string.Equals(settings.ReadToken, settings.OperatorToken, StringComparison.Ordinal))
            throw new ConfigurationException("runner.admin.read-token (RUNNER_ADMIN_READ_TOKEN) is the operator token: give reads a token of their own.");
        if (!settings.RequiresToken && !IsLoopback(settings.Hostname))
            throw new ConfigurationException(
                $"runner.admin.hostname (RUNNER_ADMIN_HOSTNAME) '{settings.Hostname}' is not a loopback address: set RUNNER_ADMIN_OPERATOR_TOKEN (or RUNNER_ADMIN_TOKEN) " +
                "and/or RUNNER_ADMIN_READ_TOKEN, the admin endpoint is not exposed without one.");
        if (settings.CertificatePath.Length == 0 && settings.CertificateKeyPath.Length > 0)
            throw new ConfigurationException("runner.admin.tls.key (RUNNER_ADMIN_TLS_KEY) is set without runner.admin.tls.certificate (RUNNER_ADMIN_TLS_CERT).");
        return settings;
    }

    /// <summary>The HTTPS certificate with its private key (PKCS#12, or PEM with the key in its file or the key file).</summary>
    public X509Certificate2 LoadCertificate()
    {
        if (!File.Exists(CertificatePath))
            throw new ConfigurationException($"admin endpoint: certificate file '{CertificatePath}' (RUNNER_ADMIN_TLS_CERT) does not exist.");
        if (CertificateKeyPath.Length > 0 && !File.Exists(CertificateKeyPath))
            throw new ConfigurationException($"admin endpoint: key file '{CertificateKeyPath}' (RUNNER_ADMIN_TLS_KEY) does not exist.");
        var password = CertificatePassword.Length == 0 ? null : CertificatePassword;
        X509Certificate2 certificate;
        try
        {
            if (!File.ReadAllText(CertificatePath).Contains("-----BEGIN", StringComparison.Ordinal))
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, password);
            }
            else
            {
                using var pem = password is null
                    ? X509Certificate2.CreateFromPemFile(CertificatePath, CertificateKeyPath.Length > 0 ? CertificateKeyPath : null)
                    : X509Certificate2.CreateFromEncryptedPemFile(CertificatePath, password, CertificateKeyPath.Length > 0 ? CertificateKeyPath : null);
                // A PEM key is ephemeral; through PKCS#12 it becomes one that every TLS stack takes for a server.
                certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
        }
        catch (CryptographicException e)
        {
            throw new ConfigurationException(
                $"admin endpoint: certificate '{CertificatePath}' (RUNNER_ADMIN_TLS_CERT{(CertificateKeyPath.Length > 0 ? ", RUNNER_ADMIN_TLS_KEY" : "")}) " +
                $"cannot be read with the given password (RUNNER_ADMIN_TLS_PASSWORD): {e.Message}");
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new ConfigurationException($"admin endpoint: certificate '{CertificatePath}' (RUNNER_ADMIN_TLS_CERT) has no private key (set RUNNER_ADMIN_TLS_KEY).");
        }

        return certificate;
    }

    private static TimeSpan Positive(Config? c, string key, TimeSpan fallback)
    {
        TimeSpan value;
        try
        {
            value = c?.GetTimeSpan(key, fallback) ?? fallback;
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"runner.admin.{key} must be a positive duration, not '{c?.GetString(key, "")}': {e.Message}", e);
        }

        return value > TimeSpan.Zero ? value : throw new ConfigurationException($"runner.admin.{key} must be positive, not {value}.");
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}
