using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Runner.Host;

/// <summary>
/// Runs the health checks registered through Akka.Hosting (<c>WithActorSystemLivenessCheck</c>,
/// <c>WithAkkaClusterReadinessCheck</c>) for the admin endpoint's <c>/healthz</c> and <c>/ready</c>: liveness runs the
/// checks tagged <see cref="LivenessTag"/>, readiness those tagged <see cref="ReadinessTag"/>.
/// </summary>
internal static class HealthProbes
{
    /// <summary>Tag of Akka.Hosting's liveness checks.</summary>
    public const string LivenessTag = "liveness";

    /// <summary>Tag of Akka.Hosting's readiness checks.</summary>
    public const string ReadinessTag = "ready";

    /// <summary>One check's outcome.</summary>
    public sealed record Check(string Name, string Status, string? Description);

    /// <summary>The outcome of every check with a tag: healthy when each one is.</summary>
    public sealed record Report(bool Healthy, IReadOnlyList<Check> Checks);

    /// <summary>Runs the checks tagged <paramref name="tag"/> (none registered: healthy).</summary>
    public static async Task<Report> RunAsync(HealthCheckService health, string tag, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(tag), ct).ConfigureAwait(false);
        var checks = report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => new Check(e.Key, e.Value.Status.ToString(), e.Value.Description ?? e.Value.Exception?.Message))
            .ToArray();
        return new Report(report.Status == HealthStatus.Healthy, checks);
    }
}
