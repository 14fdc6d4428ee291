using System.CommandLine;
using System.Text.Json;
using Akka.Configuration;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.Nats;
using Runner.Placement;
using Runner.Placement.Custody;
using Spectre.Console;
using TenantId = Runner.Sagas.TenantId;

namespace Runner.Ctl;

/// <summary>
/// <c>placement list|set|delete</c> and <c>custody show|override</c>: the verbs that write the runner's NATS buckets
/// directly (no node is asked). The server and credentials are the node's: <c>--nats</c> or <c>RUNNER_NATS_URL</c>, and
/// <c>RUNNER_NATS_USER</c>, <c>_PASSWORD(_FILE)</c>, <c>_TOKEN(_FILE)</c>, <c>_NKEY_SEED_FILE</c>, <c>_CREDS_FILE</c>,
/// <c>_TLS_*</c>, read by <see cref="NatsSettings"/> as the node reads them. The buckets are opened, never created:
/// the nodes create them at their replica count.
/// </summary>
internal static partial class Cli
{
    private const string PlacementBucketVariable = "RUNNER_TENANT_PLACEMENT_BUCKET";

    private static Command PlacementCommand(NatsVerbs nats)
    {
        var bucket = new Option<string?>("--bucket") { Description = $"placement bucket (default: {PlacementBucketVariable})", Recursive = true };
        string Bucket(ParseResult p) => p.GetValue(bucket) ?? nats.Env(PlacementBucketVariable)
            ?? throw new CliException($"{VerbPath(p)} needs the placement bucket: --bucket or {PlacementBucketVariable}", 2);

        var list = nats.Verb("list", "every tenant the placement bucket places, and where", async (p, s) =>
        {
            var b = Bucket(p);
            var store = await s.PlacementAsync(b).ConfigureAwait(false);
            var rows = new List<(string Tenant, string ShardId, ulong Revision)>();
            await foreach (var key in store.GetKeysAsync().ConfigureAwait(false))
            {
                try
                {
                    var entry = await store.GetEntryAsync<string>(key).ConfigureAwait(false);
                    rows.Add((key, entry.Value ?? "", entry.Revision));
                }
                catch (Exception e) when (e is NatsKVKeyNotFoundException or NatsKVKeyDeletedException)
                {
                    // deleted between the listing and the read
                }
            }

            if (s.Json)
            {
                s.Line(JsonSerializer.Serialize(new { bucket = b, placements = rows.Select(r => new { tenant = r.Tenant, shardId = r.ShardId, revision = r.Revision }) }));
                return 0;
            }

            if (rows.Count == 0)
            {
                s.Line($"placement bucket {b} places no tenant: tenants run where allowlists or open nodes put them");
                return 0;
            }

            var table = new Table().AddColumns("tenant", "shard id", "revision");
            foreach (var (tenant, shardId, revision) in rows.OrderBy(r => r.Tenant, StringComparer.Ordinal))
                table.AddRow(Markup.Escape(tenant), Markup.Escape(shardId), revision.ToString(System.Globalization.CultureInfo.InvariantCulture));
            s.Write(table);
            return 0;
        });

        var setTenant = new Argument<string>("tenant");
        var setShard = new Argument<string>("shard-id");
        var set = nats.Verb("set", "place a tenant on a node (it moves there within seconds, with its state)", async (p, s) =>
        {
            var tenant = ValidTenant(p.GetValue(setTenant));
            var shard = ValidShard(p.GetValue(setShard));
            var b = Bucket(p);
            var revision = await (await s.PlacementAsync(b).ConfigureAwait(false)).PutAsync(tenant, shard).ConfigureAwait(false);
            s.Line(s.Json
                ? JsonSerializer.Serialize(new { tenant, shardId = shard, bucket = b, revision })
                : $"{tenant} placed on {shard} (bucket {b}, revision {revision})");
            return 0;
        });
        set.Add(setTenant);
        set.Add(setShard);

        var deleteTenant = new Argument<string>("tenant");
        var delete = nats.Verb("delete", "remove a tenant's placement (it falls back to allowlists and open nodes, or stops)", async (p, s) =>
        {
            var tenant = ValidTenant(p.GetValue(deleteTenant));
            var b = Bucket(p);
            var store = await s.PlacementAsync(b).ConfigureAwait(false);
            string? was;
            try
            {
                was = (await store.GetEntryAsync<string>(tenant).ConfigureAwait(false)).Value;
            }
            catch (Exception e) when (e is NatsKVKeyNotFoundException or NatsKVKeyDeletedException)
            {
                was = null;
            }

            if (was is not null) await store.DeleteAsync(tenant).ConfigureAwait(false);
            s.Line(s.Json
                ? JsonSerializer.Serialize(new { tenant, bucket = b, deleted = was is not null, was })
                : was is null
                    ? $"{tenant} has no placement in bucket {b}: nothing to delete"
                    : $"{tenant} removed from bucket {b} (was on {was}): it runs where an allowlist or an open node puts it, or nowhere");
            return 0;
        });
        delete.Add(deleteTenant);

        var command = new Command("placement", "tenant placement: the placement bucket, written directly (every node follows it)") { list, set, delete, bucket };
        nats.AddOptions(command);
        return command;
    }

    private static Command CustodyCommand(NatsVerbs nats)
    {
        var bucket = new Option<string?>("--bucket")
        {
            Description = $"homes bucket (default: runner.custody.homes-bucket's default, {DefaultHomesBucket})", Recursive = true,
        };
        string Bucket(ParseResult p) => p.GetValue(bucket) ?? DefaultHomesBucket;

        var showTenant = new Argument<string>("tenant");
        var show = nats.Verb("show", "a tenant's home record: the node that holds its state, epoch, status", async (p, s) =>
        {
            var tenant = ValidTenant(p.GetValue(showTenant));
            var b = Bucket(p);
            var (home, revision) = await s.HomesAsync(b, homes => homes.GetAsync(tenant)).ConfigureAwait(false);
            if (s.Json)
            {
                s.Line(JsonSerializer.Serialize(new { tenant, bucket = b, revision, home }));
                return 0;
            }

            if (home is null)
            {
                s.Line($"{tenant} has no home record in bucket {b}: the first node that runs it becomes its owner (epoch 1)");
                return 0;
            }

            s.Write(HomeTable(tenant, home, revision));
            return 0;
        });
        show.Add(showTenant);

        var overrideTenant = new Argument<string>("tenant");
        var overrideShard = new Argument<string>("shard-id");
        var reason = new Option<string?>("--reason") { Description = "why (written into the home record)" };
        var acceptDataLoss = new Option<bool>("--accept-data-loss") { Description = "required: the state held by the current owner is lost" };
        var overrideVerb = nats.Verb("override", "make a node the tenant's owner without its state (the current owner is unreachable for good)", async (p, s) =>
        {
            var tenant = ValidTenant(p.GetValue(overrideTenant));
            var shard = ValidShard(p.GetValue(overrideShard));
            var why = p.GetValue(reason);
            if (string.IsNullOrWhiteSpace(why)) throw new CliException("custody override needs --reason \"...\" (it is written into the home record)", 2);
            var warning = DataLossWarning(tenant, shard);
            if (!p.GetValue(acceptDataLoss)) throw new CliException($"{warning} Add --accept-data-loss to do it.", 2);

            var b = Bucket(p);
            var (was, written) = await s.HomesAsync(b, async homes =>
            {
                var (before, _) = await homes.GetAsync(tenant).ConfigureAwait(false);
                return (before, await homes.OverrideAsync(tenant, shard, why.Trim()).ConfigureAwait(false));
            }).ConfigureAwait(false);
            if (s.Json)
            {
                s.Line(JsonSerializer.Serialize(new { tenant, bucket = b, was, home = written }));
                return 0;
            }

            s.Line("WARNING: " + warning);
            s.Line(was is null
                ? $"{tenant}: {shard} is its owner (epoch {written.Epoch}); it had no home record"
                : $"{tenant}: {shard} is its owner (epoch {written.Epoch}); was {was.ShardId} ({was.Status}, epoch {was.Epoch}), which is fenced as soon as it sees the record");
            return 0;
        });
        overrideVerb.Add(overrideTenant);
        overrideVerb.Add(overrideShard);
        overrideVerb.Add(reason);
        overrideVerb.Add(acceptDataLoss);

        var command = new Command("custody", "tenant custody: the homes bucket (which node holds each tenant's state)") { show, overrideVerb, bucket };
        nats.AddOptions(command);
        return command;
    }

    /// <summary>The homes bucket the nodes use unless <c>runner.custody.homes-bucket</c> names another.</summary>
    private static string DefaultHomesBucket { get; } = PlacementSettings.DefaultConfiguration().GetString("runner.custody.homes-bucket");

    private static string DataLossWarning(string tenant, string shard) =>
        $"override makes {shard} the owner of {tenant} with a new epoch and no state: it starts from the events stream alone, and the saga state, " +
        "dedupe markers, undelivered outbox entries and timers held by the current owner are lost (events after the tenant's consumer position " +
        "are applied to fresh instances); the current owner is fenced and never writes for the tenant again. Use it only when that owner's volume is gone.";

    private static Table HomeTable(string tenant, TenantHome home, ulong revision)
    {
        var table = new Table().AddColumns("tenant", "owner", "status", "epoch", "released to", "state object", "at", "reason", "revision");
        table.AddRow(Markup.Escape(tenant), Markup.Escape(home.ShardId), Markup.Escape(home.Status), home.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Markup.Escape(home.ReleasedTo ?? "-"), Markup.Escape(home.StateObject ?? "-"),
            home.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            Markup.Escape(home.Reason ?? "-"), revision.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return table;
    }

    /// <summary>A shard id (a node's <c>RUNNER_SHARD_ID</c>), refused locally (exit 2) when it does not follow the rule.</summary>
    private static string ValidShard(string? shard) =>
        TenantId.IsValid(shard) ? shard! : throw new CliException($"'{shard}' is not a shard id ({TenantId.Pattern})", 2);

    /// <summary>Makes the verbs that run against NATS, and runs them: one connection per verb, errors as exit codes.</summary>
    private sealed class NatsVerbs(
        Argument<string?> node, Option<bool> json, Func<string, string?> environment, TextWriter output, TextWriter error, IAnsiConsole console, Action<int> exit)
    {
        private readonly Option<string?> _url = new("--nats")
        {
            Description = "NATS URL (default: RUNNER_NATS_URL, else runner.nats.url's default); credentials and TLS from RUNNER_NATS_USER, " +
                          "_PASSWORD(_FILE), _TOKEN(_FILE), _NKEY_SEED_FILE, _CREDS_FILE, _TLS_MODE, _TLS_CA_FILE, _TLS_CERT_FILE, _TLS_KEY_FILE",
            Recursive = true,
        };

        /// <summary>An environment variable, null when unset or empty.</summary>
        public string? Env(string name) => environment(name) is { Length: > 0 } v ? v : null;

        /// <summary>Adds the options every NATS verb of <paramref name="group"/> takes.</summary>
        public void AddOptions(Command group) => group.Add(_url);

        public Command Verb(string name, string description, Func<ParseResult, Session, Task<int>> run)
        {
            var command = new Command(name, description);
            command.SetAction(async (parse, ct) =>
            {
                try
                {
                    if (parse.GetValue(node) is { } given)
                        throw new CliException($"{VerbPath(parse)} works on the NATS buckets, not on a node: drop '{given}' (the server is --nats or RUNNER_NATS_URL)", 2);
                    exit(await RunAsync(parse, run).ConfigureAwait(false));
                }
                catch (CliException e)
                {
                    await error.WriteLineAsync("runnerctl: " + e.Message).ConfigureAwait(false);
                    exit(e.ExitCode);
                }
            });
            return command;
        }

        private async Task<int> RunAsync(ParseResult parse, Func<ParseResult, Session, Task<int>> run)
        {
            NatsSettings settings;
            try
            {
                // The node's reading of runner.nats and RUNNER_NATS_* (runnerctl reads no HOCON files: the embedded defaults only).
                settings = NatsSettings.Create(NatsSettings.EnvironmentOverrides(environment));
            }
            catch (ConfigurationException e)
            {
                throw new CliException(e.Message, 2);
            }

            if (parse.GetValue(_url) is { } url) settings = settings with { Url = url };
            var server = settings.RedactedUrl;
            await using var connection = new NatsConnection(settings.ClientOptions("runnerctl") with { MaxReconnectRetry = 0 });
            try
            {
                await connection.ConnectAsync().ConfigureAwait(false);
            }
            catch (NatsException e)
            {
                var failure = NatsConnectException.From(settings, e);
                // Refused credentials are a refusal (1, as a node's 401); anything else left the server unreachable (3).
                throw new CliException(failure.Message, failure.Failure == NatsConnectFailure.Credentials ? 1 : 3);
            }

            try
            {
                return await run(parse, new Session(new NatsJSContext(connection), server, parse.GetValue(json), output, console)).ConfigureAwait(false);
            }
            catch (NatsJSApiException e)
            {
                throw new CliException($"NATS at {server} refused: {e.Error.Description} ({e.Error.Code})", 1);
            }
            catch (NatsException e)
            {
                throw new CliException($"NATS at {server}: {e.Message}", 1);
            }
        }
    }

    /// <summary>One NATS verb's connection and output.</summary>
    private sealed class Session(INatsJSContext js, string server, bool json, TextWriter output, IAnsiConsole console)
    {
        public bool Json => json;

        public void Line(string text) => output.WriteLine(text);

        public void Write(Spectre.Console.Rendering.IRenderable renderable) => console.Write(renderable);

        /// <summary>The placement bucket as it is (a missing one is an error: the nodes create it at their replica count).</summary>
        public async Task<INatsKVStore> PlacementAsync(string bucket)
        {
            try
            {
                return await new NatsKVContext(js).GetStoreAsync(bucket).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                throw new CliException(
                    $"placement bucket {bucket} does not exist on {server}; the nodes create it when they start with {PlacementBucketVariable}={bucket} (at runner.nats.streams.replicas)", 1);
            }
        }

        /// <summary>Runs <paramref name="use"/> on the homes bucket, which must exist (a node with custody creates it).</summary>
        public async Task<T> HomesAsync<T>(string bucket, Func<TenantHomes, Task<T>> use)
        {
            try
            {
                return await use(new TenantHomes(js, bucket)).ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (e.InnerException is NatsJSApiException { Error.Code: 404 })
            {
                throw new CliException($"homes bucket {bucket} does not exist on {server}; a node with custody creates it when it starts", 1);
            }
        }
    }
}
