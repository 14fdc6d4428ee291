using System.Net;
using Akka.Configuration;

namespace Runner.Host;

/// <summary>Settings of the admin HTTP endpoint (<c>runner.admin</c>), read once.</summary>
public sealed record AdminSettings
{
    /// <summary>Address the endpoint binds.</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>Port; 0 = any free port (logged at start).</summary>
    public int Port { get; init; } = 8558;

    /// <summary>Bearer token required on <c>/admin/*</c>; empty = none (allowed on a loopback address only).</summary>
    public string Token { get; init; } = "";

    /// <summary>Whether a token is required.</summary>
    public bool RequiresToken => Token.Length > 0;

    /// <summary>Reads and validates the settings: a non-loopback address without a token is refused.</summary>
    public static AdminSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.GetConfig("runner.admin");
        var settings = new AdminSettings
        {
            Hostname = c?.GetString("hostname", "127.0.0.1") ?? "127.0.0.1",
            Port = c?.GetInt("port", 8558) ?? 8558,
            Token = c?.GetString("token", "") ?? "",
        };
        if (settings.Port is < 0 or > 65535) throw new ConfigurationException($"runner.admin.port (RUNNER_ADMIN_PORT) must be a port number, not {settings.Port}.");
        if (!settings.RequiresToken && !IsLoopback(settings.Hostname))
            throw new ConfigurationException(
                $"runner.admin.hostname (RUNNER_ADMIN_HOSTNAME) '{settings.Hostname}' is not a loopback address: set RUNNER_ADMIN_TOKEN, " +
                "the admin endpoint is not exposed without one.");
        return settings;
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}
