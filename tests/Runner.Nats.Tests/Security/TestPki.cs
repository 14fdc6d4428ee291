using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Runner.Nats.Tests.Security;

/// <summary>
/// A throwaway certificate authority and the certificates signed by it, written as PEM files into a directory: a
/// server certificate for 127.0.0.1 (SAN IP 127.0.0.1 and DNS localhost) and a client certificate.
/// </summary>
internal sealed class TestPki
{
    private readonly string _dir;
    private readonly X509Certificate2 _ca;

    public TestPki(string dir, string name = "runner-test-ca")
    {
        _dir = dir;
        Directory.CreateDirectory(dir);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CaFile = Path.Combine(dir, name + ".pem");
        File.WriteAllText(CaFile, _ca.ExportCertificatePem());
    }

    /// <summary>The CA certificate (PEM).</summary>
    public string CaFile { get; }

    /// <summary>A certificate for the server at 127.0.0.1: (cert file, key file).</summary>
    public (string Cert, string Key) Server(string name = "server")
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        return Issue(name, "CN=127.0.0.1", san.Build(), new Oid("1.3.6.1.5.5.7.3.1")); // serverAuth
    }

    /// <summary>A client certificate: (cert file, key file).</summary>
    public (string Cert, string Key) Client(string name = "client") =>
        Issue(name, $"CN={name}", null, new Oid("1.3.6.1.5.5.7.3.2")); // clientAuth

    private (string, string) Issue(string name, string subject, X509Extension? san, Oid usage)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        if (san is not null) request.CertificateExtensions.Add(san);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var cert = request.Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        var certFile = Path.Combine(_dir, name + ".pem");
        var keyFile = Path.Combine(_dir, name + "-key.pem");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }
}
