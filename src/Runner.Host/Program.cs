using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using NATS.Client.OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Microsoft.Extensions.Logging;
using Runner.Actors;
using Runner.Host;
using Runner.Nats;
using Runner.Placement;
using Runner.Sagas;

if (args.Length > 0 && args[0] == "demo") { Console.Error.WriteLine("runner: the demo feeder is a sample program: dotnet run --project src/Runner.Sagas.Samples.Feeder"); return 2; }
if (args.Length > 0 && args[0] is "placement" or "custody") { Console.Error.WriteLine($"runner: {args[0]} is a runnerctl verb: runnerctl {string.Join(' ', args)}"); return 2; }

try
{
    var host = RunnerNode.CreateBuilder(args).Build();
    var drain = host.Services.GetRequiredService<DrainReport>(); // RunAsync disposes the host
    await host.RunAsync().ConfigureAwait(false);
    if (drain.Started && drain.Incomplete.Any())
    {
        await Console.Error.WriteLineAsync($"runner: DRAIN INCOMPLETE for tenant(s) {string.Join(", ", drain.Incomplete)}: see the receipts above").ConfigureAwait(false);
        return 3;
    }

    return 0;
}
catch (Exception e) when (e is ConfigurationException or InvalidOperationException or ArgumentException)
{
    Console.Error.WriteLine($"runner: {e.Message}");
    // A start that failed half-way may have left threads running (an actor system, a NATS connection): the process ends
    // here rather than hang, so a supervisor sees the failure and restarts it.
    Environment.Exit(2);
    return 2;
}

namespace Runner.Host
{
    /// <summary>
    /// Builds a Runner node: <c>RunnerNode.CreateBuilder(args).WithSaga&lt;MySaga&gt;().Build().RunAsync()</c>.
    /// Configuration is environment over HOCON files (<c>RUNNER_CONFIG</c>) over the embedded defaults; sagas come
    /// from the builder, from <c>runner.node.saga-assemblies</c>, and (unless disabled) the shipped samples.
    /// </summary>
    public sealed class RunnerNodeBuilder
    {
        private readonly string[] _args;
        private readonly List<ISagaDefinition> _sagas = [];
        private Config _config;

        internal RunnerNodeBuilder(string[] args, Config config)
        {
            _args = args;
            _config = config;
        }

        /// <summary>Registers a saga definition type with a parameterless constructor.</summary>
        public RunnerNodeBuilder WithSaga<TSaga>() where TSaga : ISagaDefinition, new() => WithSaga(new TSaga());

        /// <summary>Registers a saga definition instance.</summary>
        public RunnerNodeBuilder WithSaga(ISagaDefinition saga)
        {
            ArgumentNullException.ThrowIfNull(saga);
            _sagas.Add(saga);
            return this;
        }

        /// <summary>Adds HOCON that wins over everything loaded so far (including the environment).</summary>
        public RunnerNodeBuilder WithHocon(Config hocon)
        {
            ArgumentNullException.ThrowIfNull(hocon);
            _config = hocon.WithFallback(_config);
            return this;
        }

        /// <summary>Builds the generic host.</summary>
        public IHost Build() => RunnerNode.Build(_args, _config, _sagas);
    }

    /// <summary>Builds the node's generic host.</summary>
    public static class RunnerNode
    {
        /// <summary>A builder over env, <c>RUNNER_CONFIG</c> files and the embedded defaults.</summary>
        public static RunnerNodeBuilder CreateBuilder(string[] args) => new(args, RunnerConfiguration.Load());

        /// <summary>A builder over an explicit configuration (tests, embedding).</summary>
        public static RunnerNodeBuilder CreateBuilder(string[] args, Config config) => new(args, config);

        /// <summary>A host for <paramref name="config"/> (env over files over defaults) with the configured sagas.</summary>
        public static IHost Build(string[] args, Config config, IEnumerable<ISagaDefinition>? extraSagas = null) =>
            Build(args, RunnerOptions.Create(config, extraSagas));

        /// <summary>A host for typed <paramref name="options"/>: the admin endpoint, telemetry and logging, and <c>AddRunner</c>.</summary>
        public static IHost Build(string[] args, RunnerOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var admin = options.Admin;
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
            builder.WebHost.UseUrls(admin.Url);
            if (admin.UsesHttps)
            {
                var adminCertificate = admin.LoadCertificate();
                builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = adminCertificate));
            }

            var telemetry = builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(RunnerMetrics.MeterName).AddPrometheusExporter());
            if (Tracing.Enabled(Environment.GetEnvironmentVariable))
            {
                // Spans of the runner and of the NATS client, exported over OTLP as the standard OTEL_* variables say.
                telemetry.WithTracing(t => t.AddSource(RunnerTracing.SourceName).AddNatsClientInstrumentation().AddOtlpExporter());
            }

            builder.Logging.ClearProviders();
            // Every log line written inside a span carries its trace and span ids (in its scope).
            builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
            if (options.Node.LogFormat == RunnerLogFormat.Json)
                builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
            else
                builder.Logging.AddSimpleConsole(o =>
                {
                    o.IncludeScopes = true;
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss.fff ";
                });

            builder.Services.AddRunner(options);
            builder.Services.TryAddSingleton(TimeProvider.System);
            builder.Services.AddSingleton<Ui.ConsoleSessions>();
            builder.Services.AddSingleton<Ui.ConsoleSamples>();
            if (admin.ConsoleEnabled) builder.Services.AddHostedService(sp => sp.GetRequiredService<Ui.ConsoleSamples>());
            var app = builder.Build();
            app.MapPrometheusScrapingEndpoint("/metrics");
            var sessions = app.Services.GetRequiredService<Ui.ConsoleSessions>();
            AdminApi.Map(app, admin, sessions);
            if (admin.ConsoleEnabled) Ui.ConsoleEndpoints.Map(app, admin, sessions);
            return app;
        }
    }
}
