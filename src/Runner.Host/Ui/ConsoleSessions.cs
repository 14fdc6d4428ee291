using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Runner.Host.Ui;

/// <summary>
/// Browser sessions of the operator console. Signing in with an admin token sets a session cookie (HttpOnly, SameSite=Strict)
/// that carries the access the token gives, its expiry and a random CSRF nonce, signed with an HMAC keyed by that token: no
/// session state on the node, and changing a token ends the sessions it opened. Actions through the cookie (anything but
/// GET and HEAD) also need the nonce in the <see cref="CsrfHeader"/> header, which only the console's own script can read
/// from the <see cref="CsrfCookie"/> cookie.
/// </summary>
internal sealed class ConsoleSessions(AdminSettings settings, TimeProvider time)
{
    public const string Cookie = "runner_session";
    public const string CsrfCookie = "runner_csrf";
    public const string CsrfHeader = "X-Runner-Csrf";

    /// <summary>What a valid session cookie says.</summary>
    public sealed record Session(AdminSettings.Access Access, string Nonce, DateTimeOffset ExpiresAt);

    /// <summary>The cookie value of a new session of <paramref name="access"/> (Read or Operate), and its CSRF nonce.</summary>
    public (string Value, string Nonce, DateTimeOffset ExpiresAt) Issue(AdminSettings.Access access)
    {
        if (access is not (AdminSettings.Access.Read or AdminSettings.Access.Operate))
            throw new ArgumentOutOfRangeException(nameof(access), access, "only the read and the operator token open a session");
        var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var expires = time.GetUtcNow() + settings.ConsoleSessionTtl;
        var payload = string.Join('.', "v1", Name(access), expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), nonce);
        return (payload + "." + Mac(access, payload), nonce, expires);
    }

    /// <summary>The session the cookie value proves, or null (absent, forged, signed by a token no longer configured, expired).</summary>
    public Session? Verify(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        var parts = value.Split('.');
        if (parts.Length != 5 || parts[0] != "v1") return null;
        var access = parts[1] switch
        {
            "read" => AdminSettings.Access.Read,
            "operate" => AdminSettings.Access.Operate,
            _ => AdminSettings.Access.None,
        };
        if (access == AdminSettings.Access.None || TokenOf(access).Length == 0) return null;
        if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var unix)) return null;
        var payload = string.Join('.', parts[..4]);
        var expected = Encoding.ASCII.GetBytes(Mac(access, payload));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[4]))) return null;
        var expires = DateTimeOffset.FromUnixTimeSeconds(unix);
        return expires <= time.GetUtcNow() ? null : new Session(access, parts[3], expires);
    }

    public static string Name(AdminSettings.Access access) => access == AdminSettings.Access.Operate ? "operate" : "read";

    private string TokenOf(AdminSettings.Access access) => access == AdminSettings.Access.Operate ? settings.OperatorToken : settings.ReadToken;

    private string Mac(AdminSettings.Access access, string payload)
    {
        // The key is derived from the token (never the token itself in the cookie): a new token ends the old sessions.
        var key = SHA256.HashData(Encoding.UTF8.GetBytes("runner-console-session|" + TokenOf(access)));
        return Convert.ToHexString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(payload)));
    }
}
