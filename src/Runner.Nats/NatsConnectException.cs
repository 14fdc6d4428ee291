using System.Net.Sockets;
using System.Security.Authentication;
using NATS.Client.Core;

namespace Runner.Nats;

/// <summary>What kept the first connection to NATS from opening.</summary>
public enum NatsConnectFailure
{
    /// <summary>The server refused the credentials (or asked for some and none were given).</summary>
    Credentials,

    /// <summary>The TLS handshake failed: the server's certificate is not trusted, or the server refused the client's.</summary>
    Tls,

    /// <summary>No server answered.</summary>
    Unreachable,

    /// <summary>Anything else.</summary>
    Other,
}

/// <summary>
/// The node could not open its first connection to NATS. The message names the server (credentials in the URL
/// redacted), the auth and TLS mode with their files, and the reason, and never holds a password, token or seed. An
/// <see cref="InvalidOperationException"/>, so the host stops with exit code 2 and the message, without a stack trace.
/// </summary>
public sealed class NatsConnectException : InvalidOperationException
{
    private NatsConnectException(string message, NatsConnectFailure failure)
        : base(message) => Failure = failure;

    /// <summary>What kept the connection from opening.</summary>
    public NatsConnectFailure Failure { get; }

    /// <summary>The exception for <paramref name="cause"/>, a failed first connect with <paramref name="settings"/>.</summary>
    /// <remarks>The cause is not kept as the inner exception: client messages may quote what was sent; only its redacted text is used.</remarks>
    public static NatsConnectException From(NatsSettings settings, Exception cause)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return From(settings.Url, settings.Security, cause);
    }

    /// <summary>The exception for <paramref name="cause"/>, a failed first connect to <paramref name="url"/> with <paramref name="security"/>.</summary>
    public static NatsConnectException From(string url, NatsSecurity security, Exception cause)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(security);
        ArgumentNullException.ThrowIfNull(cause);
        var chain = new List<Exception>();
        for (var e = cause; e is not null; e = e.InnerException) chain.Add(e);
        var text = string.Join(" / ", chain.Select(e => e.Message).Distinct(StringComparer.Ordinal));
        var failure = Classify(chain);
        var reason = failure switch
        {
            NatsConnectFailure.Credentials =>
                "the server refused the credentials (check runner.nats.auth / RUNNER_NATS_USER, _PASSWORD(_FILE), _TOKEN(_FILE), _NKEY_SEED_FILE, _CREDS_FILE)",
            NatsConnectFailure.Tls =>
                "the TLS handshake failed: the server's certificate is not trusted (runner.nats.tls.ca-file / RUNNER_NATS_TLS_CA_FILE) " +
                "or does not match the host, or the server refused the client certificate (runner.nats.tls.cert-file, key-file)",
            NatsConnectFailure.Unreachable => "no NATS server answered",
            _ => "the connection failed",
        };
        return new NatsConnectException(
            $"cannot connect to NATS at {NatsSecurity.RedactUrls(url)} ({security.Describe(url)}): {reason}. Client said: {security.Redact(text)}",
            failure);
    }

    private static NatsConnectFailure Classify(List<Exception> chain)
    {
        if (chain.Any(e => e is AuthenticationException)) return NatsConnectFailure.Tls;
        if (chain.Any(e => e is NatsServerException s && IsAuthError(s.Message)) || chain.Any(e => IsAuthError(e.Message))) return NatsConnectFailure.Credentials;
        if (chain.Any(e => e.Message.Contains("TLS", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("SSL", StringComparison.OrdinalIgnoreCase)))
            return NatsConnectFailure.Tls;
        if (chain.Any(e => e is SocketException)) return NatsConnectFailure.Unreachable;
        return NatsConnectFailure.Other;
    }

    private static bool IsAuthError(string message) =>
        message.Contains("authorization violation", StringComparison.OrdinalIgnoreCase)
        || message.Contains("authentication", StringComparison.OrdinalIgnoreCase)
        || message.Contains("user authentication", StringComparison.OrdinalIgnoreCase);
}
