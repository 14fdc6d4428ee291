using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;

namespace Runner.Host;

/// <summary>
/// TLS between nodes, read once from Akka.Remote's own keys (<c>akka.remote.dot-netty.tcp.enable-ssl</c>,
/// <c>akka.remote.dot-netty.tcp.ssl.*</c>) and <c>runner.remote.tls.trusted-ca</c>, which Akka.Remote has no key for.
/// </summary>
/// <remarks>
/// The host loads the certificate itself and hands Akka.Remote a <c>DotNettySslSetup</c> (<see cref="RemoteTls"/>): that is
/// the only way Akka.Remote 1.5 takes a validator, and a validator is what lets peers be checked against the cluster's own
/// CA instead of the machine's trust store.
/// </remarks>
public sealed record RemoteTlsSettings
{
    private const string Ssl = "akka.remote.dot-netty.tcp.ssl";

    /// <summary>Whether nodes talk TLS (<c>akka.remote.dot-netty.tcp.enable-ssl</c>).</summary>
    public bool Enabled { get; init; }

    /// <summary>PKCS#12 (.pfx/.p12) file with the node's certificate and private key.</summary>
    public string CertificatePath { get; init; } = "";

    /// <summary>Password of <see cref="CertificatePath"/> (never logged).</summary>
    public string CertificatePassword { get; init; } = "";

    /// <summary>Thumbprint of a certificate in the store, used instead of the file when set.</summary>
    public string Thumbprint { get; init; } = "";

    /// <summary>Store that holds <see cref="Thumbprint"/> (<c>My</c> when empty).</summary>
    public string StoreName { get; init; } = "My";

    /// <summary>Location of the store.</summary>
    public StoreLocation StoreLocation { get; init; } = StoreLocation.CurrentUser;

    /// <summary>PEM (or DER) file with the CA certificate(s) a peer's certificate must chain to; empty = the machine's trust store.</summary>
    public string TrustedCaPath { get; init; } = "";

    /// <summary>Accept any peer certificate (development only).</summary>
    public bool SuppressValidation { get; init; }

    /// <summary>Both ends present a certificate and check the other's (Akka.Remote's default: on).</summary>
    public bool RequireMutualAuthentication { get; init; } = true;

    /// <summary>The server certificate must name the host it is reached by.</summary>
    public bool ValidateHostname { get; init; }

    /// <summary>The scheme of the node's addresses: <c>akka.ssl.tcp</c> with TLS, <c>akka.tcp</c> without.</summary>
    public string Scheme => Enabled ? "akka.ssl.tcp" : "akka.tcp";

    /// <summary>Reads the settings; an enabled TLS without a certificate is refused with the keys to set.</summary>
    public static RemoteTlsSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var enabled = config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl", false);
        if (!enabled) return new RemoteTlsSettings();
        var byThumbprint = config.GetBoolean($"{Ssl}.certificate.use-thumbprint-over-file", false);
        var settings = new RemoteTlsSettings
        {
            Enabled = true,
            CertificatePath = byThumbprint ? "" : config.GetString($"{Ssl}.certificate.path", "") ?? "",
            CertificatePassword = config.GetString($"{Ssl}.certificate.password", "") ?? "",
            Thumbprint = byThumbprint ? config.GetString($"{Ssl}.certificate.thumbprint", "") ?? "" : "",
            StoreName = config.GetString($"{Ssl}.certificate.store-name", "") is { Length: > 0 } store ? store : "My",
            StoreLocation = (config.GetString($"{Ssl}.certificate.store-location", "current-user") ?? "current-user") switch
            {
                "current-user" => StoreLocation.CurrentUser,
                "local-machine" => StoreLocation.LocalMachine,
                var other => throw new ConfigurationException(
                    $"{Ssl}.certificate.store-location (RUNNER_REMOTE_TLS_STORE_LOCATION) must be current-user or local-machine, not '{other}'."),
            },
            TrustedCaPath = config.GetString("runner.remote.tls.trusted-ca", "") ?? "",
            SuppressValidation = config.GetBoolean($"{Ssl}.suppress-validation", false),
            RequireMutualAuthentication = config.GetBoolean($"{Ssl}.require-mutual-authentication", true),
            ValidateHostname = config.GetBoolean($"{Ssl}.validate-certificate-hostname", false),
        };
        if (byThumbprint && settings.Thumbprint.Length == 0)
            throw new ConfigurationException($"{Ssl}.certificate.use-thumbprint-over-file is on but {Ssl}.certificate.thumbprint (RUNNER_REMOTE_TLS_THUMBPRINT) is empty.");
        if (!byThumbprint && settings.CertificatePath.Length == 0)
            throw new ConfigurationException(
                $"TLS between nodes is on (akka.remote.dot-netty.tcp.enable-ssl, RUNNER_REMOTE_TLS) but no certificate is set: {Ssl}.certificate.path " +
                $"(RUNNER_REMOTE_TLS_CERT, a .pfx) or {Ssl}.certificate.thumbprint (RUNNER_REMOTE_TLS_THUMBPRINT).");
        return settings;
    }

    /// <summary>The node's certificate with its private key, from the file or the store; a clear error naming the key otherwise.</summary>
    public X509Certificate2 LoadCertificate()
    {
        X509Certificate2 certificate;
        if (Thumbprint.Length > 0)
        {
            using var store = new X509Store(StoreName, StoreLocation);
            try
            {
                store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
            }
            catch (CryptographicException e)
            {
                throw new ConfigurationException($"TLS between nodes: certificate store {StoreLocation}/{StoreName} cannot be opened: {e.Message}");
            }

            // Not validOnly: a certificate of the cluster's own CA is not valid to the machine, and peers check it anyway.
            var found = store.Certificates.Find(X509FindType.FindByThumbprint, Thumbprint, validOnly: false);
            if (found.Count == 0)
                throw new ConfigurationException(
                    $"TLS between nodes: no certificate with thumbprint {Thumbprint} in store {StoreLocation}/{StoreName} " +
                    "(RUNNER_REMOTE_TLS_THUMBPRINT, RUNNER_REMOTE_TLS_STORE_NAME, RUNNER_REMOTE_TLS_STORE_LOCATION).");
            certificate = found[0];
        }
        else
        {
            if (!File.Exists(CertificatePath))
                throw new ConfigurationException($"TLS between nodes: certificate file '{CertificatePath}' (RUNNER_REMOTE_TLS_CERT) does not exist.");
            try
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, CertificatePassword.Length == 0 ? null : CertificatePassword);
            }
            catch (CryptographicException e)
            {
                // The message of a wrong password says so; the password itself is never part of it.
                throw new ConfigurationException(
                    $"TLS between nodes: certificate file '{CertificatePath}' (RUNNER_REMOTE_TLS_CERT) cannot be read as PKCS#12 with the given password " +
                    $"(RUNNER_REMOTE_TLS_PASSWORD): {e.Message}");
            }
        }

        if (!certificate.HasPrivateKey)
        {
            var source = Thumbprint.Length > 0 ? $"thumbprint {Thumbprint}" : $"'{CertificatePath}'";
            certificate.Dispose();
            throw new ConfigurationException($"TLS between nodes: the certificate {source} has no private key.");
        }

        return certificate;
    }

    /// <summary>The CA certificates of <see cref="TrustedCaPath"/> (PEM with one or more, or one DER), none when it is empty.</summary>
    public X509Certificate2Collection LoadTrustedCas()
    {
        var cas = new X509Certificate2Collection();
        if (TrustedCaPath.Length == 0) return cas;
        if (!File.Exists(TrustedCaPath))
            throw new ConfigurationException($"TLS between nodes: CA file '{TrustedCaPath}' (runner.remote.tls.trusted-ca, RUNNER_REMOTE_TLS_CA) does not exist.");
        try
        {
            var text = File.ReadAllText(TrustedCaPath);
            if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)) cas.ImportFromPem(text);
            else cas.Add(X509CertificateLoader.LoadCertificateFromFile(TrustedCaPath));
        }
        catch (CryptographicException e)
        {
            throw new ConfigurationException($"TLS between nodes: CA file '{TrustedCaPath}' (RUNNER_REMOTE_TLS_CA) holds no readable certificate: {e.Message}");
        }

        if (cas.Count == 0) throw new ConfigurationException($"TLS between nodes: CA file '{TrustedCaPath}' (RUNNER_REMOTE_TLS_CA) holds no certificate.");
        return cas;
    }
}
