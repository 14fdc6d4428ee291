using System.Globalization;
using System.Text;
using Akka.Configuration;
using Runner.Actors;
using Runner.Nats;
using Runner.Persistence.Lmdb;

namespace Runner.Host;

/// <summary>
/// Builds the node's configuration: environment variables over HOCON files over the embedded reference.conf of
/// every assembly.
/// </summary>
public static class RunnerConfiguration
{
    /// <summary>Comma-separated HOCON files to load (later files win).</summary>
    public const string ConfigFilesVariable = "RUNNER_CONFIG";

    /// <summary>The embedded defaults of the host and every assembly it uses.</summary>
    public static Config Defaults() =>
        ConfigurationFactory.FromResource<RunnerNodeSettings>("Runner.Host.reference.conf")
            .WithFallback(RuntimeSettings.DefaultConfiguration())
            .WithFallback(NatsSettings.DefaultConfiguration())
            .WithFallback(Runner.Placement.PlacementSettings.DefaultConfiguration())
            .WithFallback(LmdbPersistence.DefaultConfiguration());

    /// <summary>Loads env over files over defaults. <paramref name="environment"/> defaults to the process's.</summary>
    public static Config Load(IEnumerable<string>? files = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        files ??= (environment.GetValueOrDefault(ConfigFilesVariable) ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        var config = Defaults();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new ConfigurationException($"{ConfigFilesVariable} names '{file}', which does not exist.");
            config = ConfigurationFactory.ParseString(File.ReadAllText(file)).WithFallback(config);
        }

        return EnvironmentOverrides(environment).WithFallback(config);
    }

    /// <summary>
    /// The HOCON that the RUNNER_* environment variables stand for: every variable of the node is mapped here, the
    /// RUNNER_NATS_* ones through <see cref="NatsSettings.EnvironmentOverrides"/> (which runnerctl shares). The settings
    /// records read only the result. (OTEL_* are OpenTelemetry's own variables, read by its exporter.)
    /// </summary>
    public static Config EnvironmentOverrides(IReadOnlyDictionary<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var sb = new StringBuilder();
        void Str(string variable, params string[] keys)
        {
            if (env.GetValueOrDefault(variable) is { Length: > 0 } v)
                foreach (var key in keys) sb.AppendLine(CultureInfo.InvariantCulture, $"{key} = {Quote(v)}");
        }

        void Bool(string variable, string key)
        {
            if (env.GetValueOrDefault(variable) is not { Length: > 0 } v) return;
            var on = v.Trim().ToLowerInvariant() switch
            {
                "on" or "true" or "yes" or "1" => true,
                "off" or "false" or "no" or "0" => false,
                _ => throw new ConfigurationException($"{variable} must be on or off, not '{v}'."),
            };
            sb.AppendLine(CultureInfo.InvariantCulture, $"{key} = {(on ? "on" : "off")}");
        }

        void Int(string variable, string key, int min, int max)
        {
            if (env.GetValueOrDefault(variable) is not { Length: > 0 } v) return;
            if (!int.TryParse(v.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
                throw new ConfigurationException(max == int.MaxValue
                    ? $"{variable} must be a number of {min} or more, not '{v}'."
                    : $"{variable} must be a number from {min} to {max}, not '{v}'.");
            sb.AppendLine(CultureInfo.InvariantCulture, $"{key} = {n}");
        }

        void List(string variable, string key)
        {
            if (env.GetValueOrDefault(variable) is { } v)
            {
                var items = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                sb.AppendLine(CultureInfo.InvariantCulture, $"{key} = [{string.Join(", ", items.Select(Quote))}]");
            }
        }

        Str("RUNNER_SUBJECT_PREFIX", "runner.nats.subject-prefix");
        Str("RUNNER_HOSTNAME", "runner.node.hostname");
        if (env.GetValueOrDefault("RUNNER_PORT") is { Length: > 0 } port)
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 0 or > 65535)
                throw new ConfigurationException($"RUNNER_PORT must be a port number, not '{port}'.");
            sb.AppendLine(CultureInfo.InvariantCulture, $"runner.node.port = {p}");
        }

        Str("RUNNER_PUBLIC_HOSTNAME", "runner.node.public-hostname");
        Str("RUNNER_SHARD_ID", "runner.node.shard-id");
        List("RUNNER_SEED_NODES", "runner.node.seed-nodes");
        Str("RUNNER_DISCOVERY", "runner.node.discovery");
        Str("RUNNER_MANAGEMENT_HOSTNAME", "runner.node.management.hostname");
        Int("RUNNER_MANAGEMENT_PORT", "runner.node.management.port", 1, 65535);
        Str("RUNNER_BOOTSTRAP_SERVICE_NAME", "runner.node.bootstrap.service-name");
        Int("RUNNER_BOOTSTRAP_REQUIRED_CONTACT_POINTS", "runner.node.bootstrap.required-contact-points", 1, int.MaxValue);
        Bool("RUNNER_BOOTSTRAP_NEW_CLUSTER", "runner.node.bootstrap.new-cluster-enabled");
        Str("RUNNER_BOOTSTRAP_PORT_NAME", "runner.node.bootstrap.port-name");
        List("RUNNER_BOOTSTRAP_ENDPOINTS", "runner.node.bootstrap.config-endpoints");
        Str("RUNNER_KUBERNETES_POD_LABEL_SELECTOR", "runner.node.bootstrap.kubernetes.pod-label-selector");
        Str("RUNNER_KUBERNETES_NAMESPACE", "runner.node.bootstrap.kubernetes.namespace");
        List("RUNNER_TENANT_ALLOWLIST", "runner.tenants.allowlist");
        Str("RUNNER_TENANT_PLACEMENT_BUCKET", "runner.placement.bucket");
        Str("RUNNER_ADMIN_HOSTNAME", "runner.admin.hostname");
        Str("RUNNER_ADMIN_TOKEN", "runner.admin.token");
        Str("RUNNER_ADMIN_READ_TOKEN", "runner.admin.read-token");
        Str("RUNNER_ADMIN_OPERATOR_TOKEN", "runner.admin.operator-token");
        Str("RUNNER_ADMIN_TLS_CERT", "runner.admin.tls.certificate");
        Str("RUNNER_ADMIN_TLS_KEY", "runner.admin.tls.key");
        Str("RUNNER_ADMIN_TLS_PASSWORD", "runner.admin.tls.password");
        Bool("RUNNER_ADMIN_CONSOLE", "runner.admin.console.enabled");
        Bool("RUNNER_REPLICATION", "runner.replication.enabled");
        if (env.GetValueOrDefault("RUNNER_ADMIN_PORT") is { Length: > 0 } adminPort)
        {
            if (!int.TryParse(adminPort, NumberStyles.None, CultureInfo.InvariantCulture, out var ap) || ap is < 0 or > 65535)
                throw new ConfigurationException($"RUNNER_ADMIN_PORT must be a port number, not '{adminPort}'.");
            sb.AppendLine(CultureInfo.InvariantCulture, $"runner.admin.port = {ap}");
        }

        // TLS between nodes: Akka.Remote's own keys. A certificate (file or thumbprint) turns it on; RUNNER_REMOTE_TLS=off wins.
        const string Ssl = "akka.remote.dot-netty.tcp.ssl";
        if (env.GetValueOrDefault("RUNNER_REMOTE_TLS_CERT") is { Length: > 0 } || env.GetValueOrDefault("RUNNER_REMOTE_TLS_THUMBPRINT") is { Length: > 0 })
            sb.AppendLine("akka.remote.dot-netty.tcp.enable-ssl = on");
        if (env.GetValueOrDefault("RUNNER_REMOTE_TLS_THUMBPRINT") is { Length: > 0 }) sb.AppendLine($"{Ssl}.certificate.use-thumbprint-over-file = on");
        Bool("RUNNER_REMOTE_TLS", "akka.remote.dot-netty.tcp.enable-ssl");
        Str("RUNNER_REMOTE_TLS_CERT", $"{Ssl}.certificate.path");
        Str("RUNNER_REMOTE_TLS_PASSWORD", $"{Ssl}.certificate.password");
        Str("RUNNER_REMOTE_TLS_THUMBPRINT", $"{Ssl}.certificate.thumbprint");
        Str("RUNNER_REMOTE_TLS_STORE_NAME", $"{Ssl}.certificate.store-name");
        Str("RUNNER_REMOTE_TLS_STORE_LOCATION", $"{Ssl}.certificate.store-location");
        Str("RUNNER_REMOTE_TLS_CA", "runner.remote.tls.trusted-ca");
        Bool("RUNNER_REMOTE_TLS_SUPPRESS_VALIDATION", $"{Ssl}.suppress-validation");

        List("RUNNER_SAGA_ASSEMBLIES", "runner.node.saga-assemblies");
        Str("RUNNER_LOG_LEVEL", "akka.loglevel");
        Str(RunnerNodeSettings.LogFormatVariable, "runner.node.log-format");
        return ConfigurationFactory.ParseString(sb.ToString())
            .WithFallback(NatsSettings.EnvironmentOverrides(variable => env.GetValueOrDefault(variable)))
            .WithFallback(LmdbPersistence.EnvironmentOverrides(variable => env.GetValueOrDefault(variable)));
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
