using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace Runner.Host;

/// <summary>
/// What Akka.Remote needs for TLS between nodes: a <see cref="DotNettySslSetup"/> with the node's certificate and the validator
/// of peer certificates, and the HOCON that goes with it.
/// </summary>
/// <remarks>
/// Akka.Remote 1.5 on its own checks a peer's chain against the machine's trust store (or not at all with
/// <c>suppress-validation</c>), so a private CA would have to be installed into every node's system store. With
/// <c>runner.remote.tls.trusted-ca</c> the validator builds the peer's chain against that CA alone (custom root trust):
/// a certificate of any other issuer, including one the machine trusts, is refused. With mutual authentication (the
/// default) both ends do this, so a node without a certificate of the cluster's CA can neither join nor be joined.
/// </remarks>
public static class RemoteTls
{
    /// <summary>The setup and HOCON for <paramref name="settings"/>; null setup and empty HOCON when TLS is off.</summary>
    public static (DotNettySslSetup? Setup, Config Hocon, string Description) Build(RemoteTlsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.Enabled) return (null, Config.Empty, "off (nodes talk clear text)");

        var certificate = settings.LoadCertificate();
        var cas = settings.LoadTrustedCas();
        CertificateValidationCallback validator;
        string checks;
        if (settings.SuppressValidation)
        {
            validator = settings.ValidateHostname ? CertificateValidation.ValidateHostname() : static (_, _, _, _, _) => true;
            checks = "peer certificates NOT checked (suppress-validation)";
        }
        else if (cas.Count > 0)
        {
            validator = TrustedBy(cas, settings.ValidateHostname);
            checks = $"peer certificates must chain to {string.Join(", ", cas.Select(c => c.Subject))} ({settings.TrustedCaPath})";
        }
        else
        {
            validator = settings.ValidateHostname
                ? CertificateValidation.Combine(CertificateValidation.ValidateChain(), CertificateValidation.ValidateHostname())
                : CertificateValidation.ValidateChain();
            checks = "peer certificates checked against the machine's trust store";
        }

        var setup = new DotNettySslSetup(certificate, settings.SuppressValidation, settings.RequireMutualAuthentication, settings.ValidateHostname, validator);
        // The setup wins over the HOCON certificate; blanking it keeps Akka from warning that both are present.
        var hocon = ConfigurationFactory.ParseString("""
            akka.remote.dot-netty.tcp.enable-ssl = on
            akka.remote.dot-netty.tcp.ssl.certificate { path = "", password = "", thumbprint = "", use-thumbprint-over-file = off }
            """);
        var description = $"on: certificate {certificate.Subject} (thumbprint {certificate.Thumbprint}, expires {certificate.NotAfter:yyyy-MM-dd}), {checks}, " +
                          $"mutual authentication {(settings.RequireMutualAuthentication ? "on" : "OFF")}, host names {(settings.ValidateHostname ? "checked" : "not checked")}";
        return (setup, hocon, description);
    }

    /// <summary>
    /// Accepts a peer certificate only when it chains to one of <paramref name="cas"/> (and nothing else: custom root trust;
    /// no revocation check, no download of missing issuers) and, when asked, names the host it was reached by.
    /// </summary>
    internal static CertificateValidationCallback TrustedBy(X509Certificate2Collection cas, bool validateHostname) =>
        (certificate, chain, peer, errors, log) =>
        {
            if (certificate is null)
            {
                log.Error("TLS between nodes: refused {0}: it presented no certificate", peer);
                return false;
            }

            if (validateHostname && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                log.Error("TLS between nodes: refused the certificate of {0} ({1}): it does not name the host", peer, certificate.Subject);
                return false;
            }

            using var own = new X509Chain();
            own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            own.ChainPolicy.CustomTrustStore.AddRange(cas);
            own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            own.ChainPolicy.DisableCertificateDownloads = true;
            // Intermediates the peer sent help build the chain; they are not trusted for it.
            if (chain is not null)
            {
                foreach (var element in chain.ChainElements) own.ChainPolicy.ExtraStore.Add(element.Certificate);
            }

            if (own.Build(certificate)) return true;
            log.Error("TLS between nodes: refused the certificate of {0} ({1}, issued by {2}): {3}", peer, certificate.Subject, certificate.Issuer,
                string.Join("; ", own.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).DefaultIfEmpty("not trusted")));
            return false;
        };
}

