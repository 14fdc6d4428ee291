using Akka.Configuration;

namespace Runner.Placement.Custody;

/// <summary>Settings of custody (<c>runner.custody</c>), read once.</summary>
public sealed record CustodySettings
{
    /// <summary>Whether homes are tracked and state moves with tenants.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>KV bucket of home records.</summary>
    public string HomesBucket { get; init; } = "runner-tenant-homes";

    /// <summary>Object store bucket that carries state between nodes.</summary>
    public string StateBucket { get; init; } = "runner-tenant-state";

    /// <summary>How long a release request waits for the owner.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads <c>runner.custody</c> over the embedded defaults.</summary>
    public static CustodySettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.GetConfig("runner.custody").WithFallback(PlacementSettings.DefaultConfiguration().GetConfig("runner.custody"));
        return new CustodySettings
        {
            Enabled = c.GetBoolean("enabled", true),
            HomesBucket = c.GetString("homes-bucket", "runner-tenant-homes"),
            StateBucket = c.GetString("state-bucket", "runner-tenant-state"),
            RequestTimeout = c.GetTimeSpan("request-timeout", TimeSpan.FromSeconds(5)),
        };
    }
}
