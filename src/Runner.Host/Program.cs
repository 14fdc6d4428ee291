using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
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
        public static IHost Build(string[] args, Config config, IEnumerable<ISagaDefinition>? extraSagas = null)
        {
            ArgumentNullException.ThrowIfNull(config);
            var node = RunnerNodeSettings.Create(config);
            var natsSettings = NatsSettings.Create(config) with { NodeId = node.ShardId };
            var runtime = RuntimeSettings.Create(config);
            var placement = PlacementSettings.Create(config);
            // A node with neither an allowlist nor a placement bucket takes the tenants nothing else places.
            var roles = PlacementRoles.For(node.ShardId, node.Allowlist, open: node.Allowlist.Count == 0 && !placement.UsesBucket);
            var catalog = new SagaCatalog();
            if (node.Samples) catalog.Add(new Runner.Sagas.Samples.OrderSaga(config.GetTimeSpan("runner.samples.order.payment-timeout", TimeSpan.FromMinutes(15))));
            foreach (var assembly in node.SagaAssemblies)
            {
                foreach (var saga in SagaCatalog.LoadFromAssembly(assembly)) catalog.Add(saga);
            }

            foreach (var saga in extraSagas ?? []) catalog.Add(saga);
            if (catalog.All.Count == 0) throw new ConfigurationException("No saga is registered: enable runner.node.samples or list runner.node.saga-assemblies.");

            // With TLS the node's addresses, and so its seed nodes', are akka.ssl.tcp://.
            var remoteTls = RemoteTlsSettings.Create(config);
            var (sslSetup, tlsHocon, tlsDescription) = RemoteTls.Build(remoteTls);
            var self = $"{remoteTls.Scheme}://runner@{node.PublicHostname}:{node.Port.ToString(CultureInfo.InvariantCulture)}";
            // Under cluster bootstrap there are no seed nodes: it joins the node's own address or the members others report.
            var seeds = ClusterFormation.SeedNodes(node, remoteTls.Scheme, self);
            var clusterHocon = ConfigurationFactory.ParseString($$"""
                akka.remote.dot-netty.tcp {
                  hostname = "{{node.Hostname}}"
                  public-hostname = "{{node.PublicHostname}}"
                  port = {{node.Port.ToString(CultureInfo.InvariantCulture)}}
                }
                akka.cluster.seed-nodes = [{{string.Join(", ", seeds.Select(s => "\"" + s + "\""))}}]
                akka.cluster.roles = [{{string.Join(", ", roles.Select(r => "\"" + r + "\""))}}]
                akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.lmdb"
                """).WithFallback(tlsHocon);

            var admin = AdminSettings.Create(config);
            if (node.Discovery.UsesBootstrap && (node.Discovery.ManagementPort == admin.Port || node.Discovery.ManagementPort == node.Port))
                throw new ConfigurationException(
                    $"runner.node.management.port (RUNNER_MANAGEMENT_PORT) {node.Discovery.ManagementPort} is also the " +
                    $"{(node.Discovery.ManagementPort == admin.Port ? "admin endpoint's (RUNNER_ADMIN_PORT)" : "remoting port (RUNNER_PORT)")}: give it a port of its own.");
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

            builder.Services.AddSingleton(admin);
            builder.Services.AddSingleton(new DrainReport());
            builder.Logging.ClearProviders();
            // Every log line written inside a span carries its trace and span ids (in its scope).
            builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
            if (node.LogFormat == RunnerLogFormat.Json)
                builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
            else
                builder.Logging.AddSimpleConsole(o =>
                {
                    o.IncludeScopes = true;
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss.fff ";
                });

            builder.Services.AddSingleton(node);
            builder.Services.AddSingleton(new RemoteTlsStatus(tlsDescription));
            builder.Services.AddSingleton(placement);
            var custodySettings = Runner.Placement.Custody.CustodySettings.Create(config);
            builder.Services.AddSingleton(custodySettings);
            builder.Services.AddSingleton(sp => new NatsEdge(natsSettings, sp.GetRequiredService<ILogger<NatsEdge>>()));
            builder.Services.AddSingleton(sp =>
            {
                var nats = sp.GetRequiredService<NatsEdge>();
                return new TenantServices(catalog, runtime, SystemClock.Instance, nats, nats)
                {
                    Region = () => sp.GetRequiredService<ActorRegistry>().Get<TenantRegion>(),
                    CustodyRetry = custodySettings.RetryAfter,
                    CustodyTimeout = custodySettings.Timeout,
                };
            });
            // Liveness and readiness of the actor system and cluster (Akka.Hosting's checks), read by /healthz and /ready.
            builder.Services.AddHealthChecks();
            builder.Services.AddAkka("runner", (akka, _) =>
            {
                akka.AddHocon(clusterHocon.WithFallback(config), HoconAddMode.Prepend);
                if (sslSetup is not null) akka.AddSetup(sslSetup);
                akka.WithClusterFormation(node.Discovery);
                akka.WithActorSystemLivenessCheck();
                akka.WithAkkaClusterReadinessCheck();
                akka.ConfigureLoggers(l =>
                {
                    l.ClearLoggers();
                    l.AddLoggerFactory();
                });
            });
            if (node.Discovery.UsesBootstrap) builder.Services.AddHostedService<ManagementEndpoint>();
            builder.Services.AddHostedService<RunnerStartup>();
            var app = builder.Build();
            app.MapPrometheusScrapingEndpoint("/metrics");
            AdminApi.Map(app, admin);
            return app;
        }
    }
}
