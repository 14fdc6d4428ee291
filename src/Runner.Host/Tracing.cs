namespace Runner.Host;

/// <summary>
/// Whether the node exports traces: when an OTLP endpoint is configured the standard way
/// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>) and <c>OTEL_TRACES_EXPORTER</c> is not
/// <c>none</c>. The exporter itself reads the other <c>OTEL_*</c> variables (protocol, headers, service name, sampler).
/// Without it no span is made, and commands still carry their event's <c>traceparent</c>.
/// These are OpenTelemetry's standard variables, not runner settings: the SDK reads them itself, so they are
/// deliberately not mapped to HOCON keys by <see cref="RunnerConfiguration.EnvironmentOverrides"/>, and this check reads
/// them the same way the exporter does.
/// </summary>
internal static class Tracing
{
    public static bool Enabled(Func<string, string?> environment) =>
        !string.Equals(environment("OTEL_TRACES_EXPORTER"), "none", StringComparison.OrdinalIgnoreCase)
        && (!string.IsNullOrWhiteSpace(environment("OTEL_EXPORTER_OTLP_ENDPOINT"))
            || !string.IsNullOrWhiteSpace(environment("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")));
}
