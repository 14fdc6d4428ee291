using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Runner.Actors;
using Runner.Actors.Protocol;
using Runner.Host.Ui;
using Runner.Nats;
using Runner.Persistence.Lmdb;
using Runner.Placement;
using Runner.Placement.Custody;
using Runner.Sagas;

namespace Runner.Host;

/// <summary>
/// The node's admin HTTP endpoint: <c>/healthz</c>, <c>/ready</c>, <c>/metrics</c> (Prometheus) and, behind the bearer
/// tokens when any is set (reads: read or operator token; actions, any method but GET and HEAD: the operator token), <c>/admin/cluster</c>, <c>/admin/tenants</c>, <c>/admin/tenants/{tenant}</c>, <c>/admin/dlq...</c>
/// (<see cref="DeadLetterApi"/>).
/// Invalid input is a 400 with a message, an unknown tenant a 404.
/// </summary>
internal static class AdminApi
{
    public static void Map(WebApplication app, AdminSettings settings, ConsoleSessions sessions)
    {
        app.MapGet("/healthz", Alive);
        app.MapGet("/ready", Ready);

        var admin = app.MapGroup("/admin");
        admin.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var authorization = http.Request.Headers.Authorization.ToString();
            var access = settings.AccessOf(authorization);
            if (access == AdminSettings.Access.None && authorization.Length == 0 && sessions.Verify(http.Request.Cookies[ConsoleSessions.Cookie]) is { } session)
            {
                // The console's session cookie: its actions also carry the session's CSRF nonce, which another site cannot read.
                if (!IsRead(http.Request.Method) && !string.Equals(http.Request.Headers[ConsoleSessions.CsrfHeader].ToString(), session.Nonce, StringComparison.Ordinal))
                {
                    return Error(StatusCodes.Status403Forbidden,
                        $"{http.Request.Method} {http.Request.Path} with a console session needs the session's {ConsoleSessions.CsrfHeader} header");
                }

                access = session.Access;
            }

            if (access == AdminSettings.Access.Operate || (access == AdminSettings.Access.Read && IsRead(http.Request.Method)))
                return await next(context).ConfigureAwait(false);
            if (access == AdminSettings.Access.Read)
            {
                return Error(StatusCodes.Status403Forbidden, settings.OperatorToken.Length > 0
                    ? $"{http.Request.Method} {http.Request.Path} is an action: the read token may only read; send the operator token (RUNNER_ADMIN_OPERATOR_TOKEN)"
                    : $"{http.Request.Method} {http.Request.Path} is an action, and this node has no operator token (RUNNER_ADMIN_OPERATOR_TOKEN): its admin endpoint is read-only");
            }

            return Error(StatusCodes.Status401Unauthorized, settings.ReadToken.Length > 0
                ? "a valid bearer token is required (Authorization: Bearer <token>): the read token (RUNNER_ADMIN_READ_TOKEN) for GETs, the operator token (RUNNER_ADMIN_OPERATOR_TOKEN) for everything"
                : "a valid bearer token is required (Authorization: Bearer <RUNNER_ADMIN_OPERATOR_TOKEN or RUNNER_ADMIN_TOKEN>)");
        });
        admin.MapGet("/cluster", ClusterStatus);
        admin.MapGet("/tenants", Tenants);
        admin.MapGet("/tenants/{tenant}", Tenant);
        admin.MapGet("/tenants/{tenant}/sagas", Sagas);
        admin.MapGet("/tenants/{tenant}/sagas/{saga}/{**correlationId}", Saga);
        admin.MapGet("/tenants/{tenant}/replays", (string tenant, [AsParameters] AdminContext context, CancellationToken ct) =>
            ToTenantAsync(tenant, ListReplays.Instance, context, ct));
        admin.MapGet("/tenants/{tenant}/samples", Samples);
        admin.MapGet("/tenants/{tenant}/timers", (string tenant, [AsParameters] AdminContext context, CancellationToken ct) =>
            ToTenantAsync(tenant, ListTimers.Instance, context, ct));
        admin.MapPost("/replay", Replay);
        admin.MapGet("/replay/{id}", (string id, [AsParameters] AdminContext context, CancellationToken ct) =>
            Actors.Replay.ReplayIds.TenantOf(id) is { } tenant
                ? ToTenantAsync(tenant, new GetReplay(id), context, ct)
                : Task.FromResult(Error(StatusCodes.Status400BadRequest, $"'{id}' is not a replay id (<tenant>.<saga>.<suffix>)")));
        DeadLetterApi.Map(admin);
        admin.MapPost("/drain", Drain);
        admin.MapPost("/cluster/leave", (ActorSystem system) =>
        {
            // Leaving runs the same CoordinatedShutdown as a drain once the member is removed.
            var cluster = Cluster.Get(system);
            cluster.Leave(cluster.SelfAddress);
            return Results.Json(new { leaving = cluster.SelfAddress.ToString() }, statusCode: StatusCodes.Status202Accepted);
        });
        admin.MapGet("/regions", Regions);
        admin.MapGet("/consumers", Consumers);
        admin.MapGet("/drain", (DrainReport report) => Results.Json(report.ToJson()));
        admin.MapGet("/replication", (ReplicationStatus status) => Results.Json(status.ToJson()));
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    /// <summary>400 with the rule the tenant id breaks, or null when it is valid.</summary>
    private static IResult? InvalidTenant(string tenant)
    {
        try
        {
            TenantId.Validate(tenant);
            return null;
        }
        catch (ArgumentException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
    }

    private static IResult UnknownTenant(string tenant) =>
        Error(StatusCodes.Status404NotFound, $"tenant '{tenant}' is not known to this cluster (no placement, no home record, no events seen)");

    /// <summary>Whether the cluster knows the tenant: placement names it, the intake has seen it, or it has a home record.</summary>
    private static async Task<bool> KnownAsync(string tenant, IEnumerable<string> seen, TenantHomes? homes, CancellationToken ct) =>
        seen.Contains(tenant, StringComparer.Ordinal) || (homes is not null && (await homes.GetAsync(tenant, ct).ConfigureAwait(false)).Home is not null);

    /// <summary>
    /// Sends an operator request to the tenant wherever it runs (through the tenant shard region: the node that owns it
    /// answers with data from its own LMDB) and returns its answer, as <see cref="AdminReplies"/> renders it. Refused first: an invalid tenant id (400), a tenant the
    /// cluster does not know (404), a tenant placement runs nowhere (409).
    /// </summary>
    private static async Task<IResult> ToTenantAsync(string tenant, ITenantAdminRequest request, AdminContext context, CancellationToken ct)
    {
        var (registry, nats, custody, admin) = (context.Registry, context.Nats, context.Custody, context.Admin);
        if (InvalidTenant(tenant) is { } invalid) return invalid;
        var placement = await registry.Get<PlacementView>().Ask<PlacementSnapshot>(PlacementView.GetPlacement.Instance, admin.AskTimeout, ct).ConfigureAwait(false);
        var known = await registry.Get<Intake>().Ask<IntakeActor.KnownTenants>(IntakeActor.GetKnownTenants.Instance, admin.AskTimeout, ct).ConfigureAwait(false);
        var homes = custody.Enabled ? new TenantHomes(nats.JetStream, custody.HomesBucket) : null;
        if (!await KnownAsync(tenant, placement.NamedTenants.Union(known.Tenants), homes, ct).ConfigureAwait(false)) return UnknownTenant(tenant);
        var decision = placement.Resolve(tenant);
        if (!decision.CanRun) return Error(StatusCodes.Status409Conflict, $"tenant '{tenant}' runs nowhere now: {decision.Describe()}");

        var wait = admin.TenantAnswerTimeout;
        try
        {
            var reply = await registry.Get<TenantRegion>().Ask<ITenantAdminReply>(new TenantEnvelope(tenant, request), wait, ct).ConfigureAwait(false);
            return AdminReplies.ToResult(reply);
        }
        catch (AskTimeoutException)
        {
            return Error(StatusCodes.Status504GatewayTimeout, $"tenant '{tenant}' did not answer within {wait.TotalSeconds:0}s (placed on {decision.ShardId}: starting, or its node is busy)");
        }
    }

    /// <summary>
    /// <c>POST /admin/replay</c> with <c>{"tenant_id", "saga_name", "mode", "from_seq"?, "dry_run"?}</c>: 202 with the replay's id and
    /// status (follow it with <c>GET /admin/replay/{id}</c>).
    /// </summary>
    private static async Task<IResult> Replay(HttpRequest http, [AsParameters] AdminContext context, CancellationToken ct)
    {
        ReplayRequest request;
        try
        {
            request = await ReplayRequest.ReadAsync(http.Body, ct).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }

        if (!context.Catalog.TryGet(request.Saga, out _)) return UnknownSaga(context.Catalog, request.Saga);
        return await ToTenantAsync(request.Tenant, new StartReplay(request.Saga, request.Mode, request.FromSeq, request.DryRun), context, ct)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /admin/tenants/{tenant}/sagas?saga=&amp;state=&amp;search=&amp;offset=&amp;limit=</c>: the tenant's instances, paged
    /// (<c>search</c>: correlation ids containing it, case-insensitive).
    /// </summary>
    private static Task<IResult> Sagas(string tenant, string? saga, string? state, string? search, int? offset, int? limit, [AsParameters] AdminContext context,
        CancellationToken ct)
    {
        if (saga is not null && !context.Catalog.TryGet(saga, out _)) return Task.FromResult(UnknownSaga(context.Catalog, saga));
        if (offset is < 0) return Task.FromResult(Error(StatusCodes.Status400BadRequest, "offset must be 0 or more"));
        if (limit is < 1 or > MaxPage) return Task.FromResult(Error(StatusCodes.Status400BadRequest, $"limit must be between 1 and {MaxPage}"));
        return ToTenantAsync(tenant, new ListSagas(saga, string.IsNullOrWhiteSpace(state) ? null : state.Trim(), offset ?? 0, limit ?? 50,
            string.IsNullOrWhiteSpace(search) ? null : search.Trim()), context, ct);
    }

    private const int MaxPage = 500;

    /// <summary><c>GET /admin/tenants/{tenant}/sagas/{saga}/{correlationId}?history=N</c>: one instance and its journal.</summary>
    private static Task<IResult> Saga(string tenant, string saga, string correlationId, int? history, [AsParameters] AdminContext context,
        CancellationToken ct)
    {
        if (!context.Catalog.TryGet(saga, out _)) return Task.FromResult(UnknownSaga(context.Catalog, saga));
        if (history is < 1 or > 10_000) return Task.FromResult(Error(StatusCodes.Status400BadRequest, "history must be between 1 and 10000"));
        // A catch-all route value keeps %2F encoded: correlation ids may contain '/'.
        var id = correlationId.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        return ToTenantAsync(tenant, new ShowSaga(saga, id, history ?? 200), context, ct);
    }

    private static IResult UnknownSaga(SagaCatalog catalog, string saga) =>
        Error(StatusCodes.Status404NotFound, $"no saga named '{saga}' runs on this cluster (sagas: {string.Join(", ", catalog.All.Select(x => x.Name))})");

    /// <summary>What the tenant-routed endpoints need.</summary>
    internal sealed record AdminContext(ActorRegistry Registry, NatsEdge Nats, SagaCatalog Catalog, CustodySettings Custody, AdminSettings Admin);

    /// <summary>Whether the method only reads (the read token may send it); anything else is an action.</summary>
    private static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    /// <summary>
    /// Starts the drain (idempotent: CoordinatedShutdown runs once). <c>?wait=true</c> answers when it is over, with the
    /// receipts; otherwise 202 at once (<c>GET /admin/drain</c> shows the receipts as they come).
    /// </summary>
    private static async Task<IResult> Drain(ActorSystem system, DrainReport report, AdminSettings admin, bool? wait)
    {
        var done = CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        if (wait != true) return Results.Json(report.ToJson(), statusCode: StatusCodes.Status202Accepted);
        try
        {
            await done.WaitAsync(admin.DrainWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return Results.Json(report.ToJson(), statusCode: StatusCodes.Status504GatewayTimeout);
        }

        return Results.Json(report.ToJson(), statusCode: report.Incomplete.Any() ? StatusCodes.Status500InternalServerError : StatusCodes.Status200OK);
    }

    private static async Task<IResult> Regions(ActorRegistry registry, AdminSettings admin)
    {
        var stats = await registry.Get<TenantRegion>()
            .Ask<ClusterShardingStats>(new GetClusterShardingStats(admin.RegionsStatsTimeout), admin.AskTimeout).ConfigureAwait(false);
        return Results.Json(new
        {
            regions = stats.Regions.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal).Select(r => new
            {
                address = r.Key.ToString(),
                tenants = r.Value.Stats.Keys.Order(StringComparer.Ordinal),
                failed = r.Value.Failed?.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>(),
            }),
        });
    }

    /// <summary>
    /// Where every (tenant, saga) consumption on this node stands, from the node's own bookkeeping (no NATS call, so it
    /// answers while a NATS server is down): applied position, lag, running, seconds since progress, stalled, the server of
    /// its consumer and its standby consumers (on a NATS cluster).
    /// </summary>
    private static IResult Consumers(NatsEdge nats)
    {
        var stallAfter = nats.Settings.StallWarningAfter;
        return Results.Json(new
        {
            stallWarningAfterSeconds = stallAfter.TotalSeconds,
            consumers = RunnerMetrics.Consumption().Select(c => new
            {
                tenant = c.Tenant,
                saga = c.Saga,
                consumer = c.Consumer,
                server = nats.ActiveServer(c.Tenant, c.Saga),
                standbys = nats.Standbys(c.Tenant, c.Saga).Select(s => new { consumer = s.Consumer, server = s.Server, startSeq = s.StartSeq }),
                appliedSeq = c.AppliedSeq,
                lag = c.Lag,
                running = c.Running,
                secondsSinceProgress = Math.Round(c.SinceProgress.TotalSeconds, 3),
                stalled = c.SinceProgress >= stallAfter,
                reason = c.Reason,
            }),
        });
    }

    /// <summary>
    /// Liveness: 200 <c>alive</c> while Akka.Hosting's liveness checks (the actor system runs) pass, 503 with the failing
    /// checks once they do not (the process is alive but its actor system is gone: restart it).
    /// </summary>
    private static async Task<IResult> Alive(HealthCheckService health, CancellationToken ct)
    {
        var liveness = await HealthProbes.RunAsync(health, HealthProbes.LivenessTag, ct).ConfigureAwait(false);
        if (liveness.Healthy) return Results.Text("alive\n");
        var failing = liveness.Checks.Where(c => c.Status != nameof(HealthStatus.Healthy)).Select(c => $"{c.Name}: {c.Description ?? c.Status}");
        return Results.Text($"not alive: {string.Join("; ", failing)}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>
    /// Readiness: joined to the cluster, connected to NATS, the LMDB store open, not draining, and Akka.Hosting's readiness
    /// checks (the cluster join) passing; 503 with every condition otherwise.
    /// </summary>
    private static async Task<IResult> Ready(ActorSystem system, NatsEdge nats, HealthCheckService health, CancellationToken ct)
    {
        var akka = await HealthProbes.RunAsync(health, HealthProbes.ReadinessTag, ct).ConfigureAwait(false);
        var cluster = Cluster.Get(system);
        var joined = cluster.SelfMember.Status == MemberStatus.Up;
        var natsConnected = nats.IsConnected;
        bool storage;
        try
        {
            storage = LmdbPersistence.Get(system).StateStore().IsOpen;
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            storage = false;
        }

        var draining = CoordinatedShutdown.Get(system).ShutdownReason is not null;
        var ready = joined && natsConnected && storage && !draining && akka.Healthy;
        return Results.Json(new
            {
                ready,
                joined,
                natsConnected,
                storageOpen = storage,
                draining,
                akka = akka.Checks.Select(c => new { name = c.Name, status = c.Status, description = c.Description }),
            },
            statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult ClusterStatus(ActorSystem system)
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        return Results.Json(new
        {
            self = cluster.SelfAddress.ToString(),
            leader = state.Leader?.ToString(),
            members = state.Members.Select(m => new
            {
                address = m.Address.ToString(),
                status = m.Status.ToString(),
                shardId = PlacementRoles.ShardIdOf(m.Roles),
                roles = m.Roles.Order(StringComparer.Ordinal),
                reachable = !state.Unreachable.Contains(m),
            }),
        });
    }

    /// <summary>
    /// <c>GET /admin/tenants?search=&amp;offset=&amp;limit=</c>: every tenant the cluster knows, in order, with its placement, custody,
    /// status and backlog; paged when <c>limit</c> is given (only the page's tenants are looked up), filtered by <c>search</c>
    /// (tenant ids containing it, case-insensitive).
    /// </summary>
    private static async Task<IResult> Tenants(ActorSystem system, ActorRegistry registry, NatsEdge nats, SagaCatalog catalog, CustodySettings custody,
        AdminSettings admin, string? search, int? offset, int? limit, CancellationToken ct)
    {
        if (offset is < 0) return Error(StatusCodes.Status400BadRequest, "offset must be 0 or more");
        if (limit is < 1 or > MaxPage) return Error(StatusCodes.Status400BadRequest, $"limit must be between 1 and {MaxPage}");
        var view = await ViewAsync(system, registry, nats, catalog, custody, admin).ConfigureAwait(false);
        var term = search?.Trim() ?? "";
        List<string> matching = [.. view.Tenants.Where(t => t.Contains(term, StringComparison.OrdinalIgnoreCase))];
        var page = matching.Skip(offset ?? 0).Take(limit ?? int.MaxValue).ToList();
        var rows = new List<object>();
        foreach (var tenant in page) rows.Add(await RowAsync(view, tenant, ct).ConfigureAwait(false));
        return Results.Json(new { node = view.NodeShardId, total = matching.Count, offset = offset ?? 0, more = (offset ?? 0) + page.Count < matching.Count, tenants = rows });
    }

    /// <summary>
    /// <c>GET /admin/tenants/{tenant}/samples</c>: the console's recent samples of the tenant on this node (applied position and
    /// lag per saga), oldest first; empty when the tenant has not run here lately.
    /// </summary>
    private static IResult Samples(string tenant, ConsoleSamples samples, NatsEdge nats)
    {
        if (InvalidTenant(tenant) is { } invalid) return invalid;
        return Results.Json(new
        {
            tenant,
            node = nats.Settings.NodeId,
            intervalSeconds = samples.Interval.TotalSeconds,
            samples = samples.Of(tenant).Select(s => new
            {
                at = s.At,
                lag = s.Sagas.Aggregate(0UL, (sum, x) => sum + x.Lag),
                sagas = s.Sagas.Select(x => new { saga = x.Saga, appliedSeq = x.AppliedSeq, lag = x.Lag, running = x.Running }),
            }),
        });
    }

    private static async Task<IResult> Tenant(string tenant, ActorSystem system, ActorRegistry registry, NatsEdge nats, SagaCatalog catalog, CustodySettings custody,
        AdminSettings admin, CancellationToken ct)
    {
        if (InvalidTenant(tenant) is { } invalid) return invalid;
        var view = await ViewAsync(system, registry, nats, catalog, custody, admin).ConfigureAwait(false);
        if (!await KnownAsync(tenant, view.Tenants, view.Homes, ct).ConfigureAwait(false)) return UnknownTenant(tenant);
        return Results.Json(await RowAsync(view, tenant, ct).ConfigureAwait(false));
    }

    private sealed record NodeView(string NodeShardId, PlacementSnapshot Placement, ImmutableSortedSet<string> Tenants, ImmutableHashSet<string> RunningHere,
        NatsEdge Nats, IReadOnlyList<string> Sagas, TenantHomes? Homes, IActorRef Region, ImmutableDictionary<string, string> HostedOn, TimeSpan StatusTimeout);

    private static async Task<NodeView> ViewAsync(ActorSystem system, ActorRegistry registry, NatsEdge nats, SagaCatalog catalog, CustodySettings custody,
        AdminSettings admin)
    {
        var placement = await registry.Get<PlacementView>().Ask<PlacementSnapshot>(PlacementView.GetPlacement.Instance, admin.AskTimeout).ConfigureAwait(false);
        var known = await registry.Get<Intake>().Ask<IntakeActor.KnownTenants>(IntakeActor.GetKnownTenants.Instance, admin.AskTimeout).ConfigureAwait(false);
        var region = await registry.Get<TenantRegion>().Ask<CurrentShardRegionState>(GetShardRegionState.Instance, admin.AskTimeout).ConfigureAwait(false);
        var tenants = placement.NamedTenants.Union(known.Tenants);
        // Where each tenant shard is hosted now, by the shard id of the member (every region answers, or is left out).
        var hostedOn = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        try
        {
            var stats = await registry.Get<TenantRegion>().Ask<ClusterShardingStats>(new GetClusterShardingStats(admin.TenantsStatsTimeout), admin.AskTimeout)
                .ConfigureAwait(false);
            var members = Cluster.Get(system).State.Members
                .ToDictionary(m => m.Address, m => PlacementRoles.ShardIdOf(m.Roles) ?? m.Address.ToString());
            foreach (var (address, regionStats) in stats.Regions)
            {
                foreach (var shard in regionStats.Stats.Keys)
                    hostedOn[shard] = members.TryGetValue(address, out var id) ? id : nats.Settings.NodeId;
            }
        }
        catch (AskTimeoutException)
        {
            // The status then says only what this node knows.
        }

        return new NodeView(nats.Settings.NodeId, placement, tenants, region.Shards.Select(s => s.ShardId).ToImmutableHashSet(StringComparer.Ordinal), nats,
            [.. catalog.All.Select(saga => saga.Name)], custody.Enabled ? new TenantHomes(nats.JetStream, custody.HomesBucket) : null,
            registry.Get<TenantRegion>(), hostedOn.ToImmutable(), admin.TenantStatusTimeout);
    }

    /// <summary>
    /// What the tenant is doing: its own word when it runs here (running, acquiring custody, not running and why, handing
    /// off), where it runs otherwise, or why it runs nowhere.
    /// </summary>
    private static async Task<string> StatusAsync(NodeView view, string tenant, PlacementDecision decision)
    {
        if (view.RunningHere.Contains(tenant))
        {
            try
            {
                var own = await view.Region.Ask<TenantActor.TenantView>(new TenantEnvelope(tenant, TenantActor.GetTenantView.Instance), view.StatusTimeout)
                    .ConfigureAwait(false);
                return own.Status + " on " + view.NodeShardId;
            }
            catch (AskTimeoutException)
            {
                return "hosted on " + view.NodeShardId + " (not answering)";
            }
        }

        if (view.HostedOn.TryGetValue(tenant, out var node)) return "hosted on " + node;
        return decision.CanRun ? $"not started yet (placed on {decision.ShardId})" : "unplaced";
    }

    private static async Task<ulong> StreamCountAsync(NatsEdge nats, string tenant, CancellationToken ct)
    {
        var stream = await nats.JetStream.GetStreamAsync(nats.Settings.EventsStream,
            new StreamInfoRequest { SubjectsFilter = nats.Settings.Subjects.TenantEvents(tenant) }, ct).ConfigureAwait(false);
        return (ulong)(stream.Info.State.Subjects?.Values.Sum() ?? 0);
    }

    private static async Task<object> RowAsync(NodeView view, string tenant, CancellationToken ct)
    {
        var decision = view.Placement.Resolve(tenant);
        var home = view.Homes is { } homes ? (await homes.GetAsync(tenant, ct).ConfigureAwait(false)).Home : null;
        var lag = new Dictionary<string, ulong?>(StringComparer.Ordinal);
        foreach (var saga in view.Sagas)
        {
            try
            {
                var consumer = await view.Nats.JetStream.GetConsumerAsync(view.Nats.Settings.EventsStream, view.Nats.ActiveConsumer(tenant, saga), ct)
                    .ConfigureAwait(false);
                lag[saga] = consumer.Info.NumPending + (ulong)Math.Max(0, consumer.Info.NumAckPending);
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                lag[saga] = null; // never consumed: the backlog is whatever the stream holds for the tenant
            }
        }

        return new
        {
            tenant,
            placement = new
            {
                shardId = decision.ShardId,
                source = decision.Source.ToString().ToLowerInvariant(),
                runnable = decision.CanRun,
                detail = decision.Describe(),
            },
            owner = home is null ? null : new { shardId = home.ShardId, epoch = home.Epoch, status = home.Status, reason = home.Reason, at = home.At },
            runningHere = view.RunningHere.Contains(tenant),
            status = await StatusAsync(view, tenant, decision).ConfigureAwait(false),
            unplaced = !decision.CanRun,
            lag,
            // Events not yet applied by every saga: the largest lag, or all of the tenant's events when a saga never consumed.
            backlog = lag.Values.All(l => l is not null) ? lag.Values.Max() ?? 0 : await StreamCountAsync(view.Nats, tenant, ct).ConfigureAwait(false),
        };
    }
}
