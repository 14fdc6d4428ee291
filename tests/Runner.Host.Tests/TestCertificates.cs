using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Runner.Host.Tests;

/// <summary>
/// Certificates made for one spec in a directory of its own: CAs (PEM) and node certificates for 127.0.0.1 and localhost
/// (PKCS#12 with a password, or PEM certificate and key), ECDSA P-256 so that making them is quick.
/// </summary>
public sealed class TestCertificates(string directory)
{
    public const string Password = "pfx-pass-w0rd";

    /// <summary>A CA: its certificate with the private key (to sign), and its certificate as a PEM file (to trust).</summary>
    public (X509Certificate2 Ca, string PemPath) Ca(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var pem = Path.Combine(directory, name + ".ca.pem");
        File.WriteAllText(pem, ca.ExportCertificatePem());
        return (ca, pem);
    }

    /// <summary>A node certificate for 127.0.0.1 and localhost (server and client use), signed by <paramref name="issuer"/> or self-signed.</summary>
    public static X509Certificate2 Node(string name, X509Certificate2? issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-1);
        var notAfter = DateTimeOffset.UtcNow.AddHours(12);
        if (issuer is null) return request.CreateSelfSigned(notBefore, notAfter);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        using var signed = request.Create(issuer, notBefore, notAfter, RandomNumberGenerator.GetBytes(12));
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Writes <paramref name="certificate"/> with its key as a PKCS#12 file protected by <see cref="Password"/>.</summary>
    public string Pfx(X509Certificate2 certificate, string name)
    {
        var path = Path.Combine(directory, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, Password));
        return path;
    }

    /// <summary>Writes <paramref name="certificate"/> and its (unencrypted) key as two PEM files.</summary>
    public (string Certificate, string Key) Pem(X509Certificate2 certificate, string name)
    {
        var cert = Path.Combine(directory, name + ".crt.pem");
        var key = Path.Combine(directory, name + ".key.pem");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        using var ecdsa = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("no ECDSA key");
        File.WriteAllText(key, ecdsa.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }
}
