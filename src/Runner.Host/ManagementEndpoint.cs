using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Akka.Management.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;

namespace Runner.Host;

/// <summary>
/// The node's cluster-bootstrap contact point (<c>GET /bootstrap/seed-nodes</c> on the management host and port) and the
/// start of Akka.Management's cluster bootstrap once it listens.
/// </summary>
/// <remarks>
/// Akka.Management 1.5.73 serves its routes with Ceen.Httpd 0.9.9, whose listening method 0.9.10 (the version this
/// registry serves) no longer has, so its own HTTP server cannot start. The node serves the one route bootstrap needs itself
/// (Kestrel), with Akka.Management's own message types and serializer, so other nodes' bootstrap reads it as Akka.Management's:
/// the node's address and its reachable members that are up, weakly up or joining (none while it leaves). Discovery, probing
/// and the join decision stay Akka.Management's (<see cref="ClusterBootstrap"/>); only the HTTP server is the node's.
/// </remarks>
internal sealed partial class ManagementEndpoint(ActorSystem system, RunnerNodeSettings node, ILogger<ManagementEndpoint> logger)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var discovery = node.Discovery;
        var port = discovery.ManagementPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{discovery.ManagementBindHostname}:{port}");
        var app = builder.Build();
        var maxSeeds = ClusterBootstrapSettings.Create(system.Settings.Config, system.Log).ContactPoint.MaxSeedNodesToExpose;
        app.MapGet("/bootstrap/seed-nodes", () => Results.Content(SeedNodesJson(system, maxSeeds), "application/json"));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException(
                $"the management endpoint cannot listen on {discovery.ManagementBindHostname}:{port} (runner.node.management.port, RUNNER_MANAGEMENT_PORT): {e.Message}", e);
        }

        _app = app;
        // Bootstrap recognises itself among the contact points by this address (on Kubernetes the pod IP), then starts.
        var self = new Uri($"http://{discovery.ManagementHostname}:{port}/");
        var bootstrap = ClusterBootstrap.Get(system);
        bootstrap.Routes(ManagementRouteProviderSettings.Create(self, true));
        await bootstrap.Start().ConfigureAwait(false);
        LogStarted(logger, node.ShardId, discovery.Method.ToString().ToLowerInvariant(), self.ToString(),
            discovery.Method == ClusterDiscovery.Kubernetes ? $"pods '{discovery.EffectivePodLabelSelector}'" : string.Join(", ", discovery.ConfigEndpoints),
            discovery.RequiredContactPoints);
    }

    /// <summary>What Akka.Management's contact point answers: the node's address and its members other nodes may join through.</summary>
    internal static string SeedNodesJson(ActorSystem system, int maxSeeds)
    {
        var cluster = Cluster.Get(system);
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, []));
        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(maxSeeds)
            .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        return JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, members));
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app) await app.DisposeAsync().ConfigureAwait(false);
        _app = null;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Runner node {ShardId}: cluster bootstrap ({Discovery} discovery) started, contact point {ContactPoint}, looking for {Targets}, at least {Required} contact points")]
    private static partial void LogStarted(ILogger logger, string shardId, string discovery, string contactPoint, string targets, int required);
}
