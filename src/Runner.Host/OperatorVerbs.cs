using Akka.Configuration;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.Nats;
using Runner.Placement;
using Runner.Placement.Custody;
using Runner.Sagas;

namespace Runner.Host;

/// <summary>
/// Operator verbs on the placement bucket and home records, run against NATS with the node's configuration
/// (env over <c>RUNNER_CONFIG</c> files over defaults):
/// <c>placement list | put &lt;tenant&gt; &lt;shard-id&gt; | delete &lt;tenant&gt;</c> and
/// <c>custody show &lt;tenant&gt; | override &lt;tenant&gt; &lt;shard-id&gt; --reason "..." --accept-data-loss</c>.
/// </summary>
internal static class OperatorVerbs
{
    public static async Task<int> RunAsync(string verb, string[] args)
    {
        try
        {
            var config = RunnerConfiguration.Load();
            var nats = NatsSettings.Create(config);
            await using var connection = new NatsConnection(nats.ClientOptions("runner-operator") with { MaxReconnectRetry = 0 });
            try
            {
                await connection.ConnectAsync().ConfigureAwait(false);
            }
            catch (NatsException e)
            {
                throw NatsConnectException.From(nats, e);
            }

            var js = new NatsJSContext(connection);
            return verb switch
            {
                "placement" => await PlacementAsync(js, PlacementSettings.Create(config), args).ConfigureAwait(false),
                _ => await CustodyAsync(js, CustodySettings.Create(config), args).ConfigureAwait(false),
            };
        }
        catch (Exception e) when (e is ConfigurationException or ArgumentException or NatsException or NatsConnectException)
        {
            await Console.Error.WriteLineAsync($"runner {verb}: {e.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    private static async Task<int> PlacementAsync(INatsJSContext js, PlacementSettings settings, string[] args)
    {
        if (!settings.UsesBucket) throw new ArgumentException("no placement bucket is configured (RUNNER_TENANT_PLACEMENT_BUCKET).");
        // Created or validated at the configured replicas (never "updated" down to one replica).
        var store = await PlacementWatcher.EnsureBucketAsync(js, settings).ConfigureAwait(false);
        switch (args)
        {
            case ["list"]:
                await foreach (var key in store.GetKeysAsync().ConfigureAwait(false))
                {
                    var entry = await store.GetEntryAsync<string>(key).ConfigureAwait(false);
                    Console.WriteLine($"{key}\t{entry.Value}");
                }

                return 0;
            case ["put", var tenant, var shardId]:
                TenantId.Validate(tenant);
                if (!TenantId.IsValid(shardId)) throw new ArgumentException($"'{shardId}' is not a shard id ({TenantId.Pattern}).");
                var revision = await store.PutAsync(tenant, shardId).ConfigureAwait(false);
                Console.WriteLine($"{tenant} placed on {shardId} (revision {revision})");
                return 0;
            case ["delete", var tenant]:
                TenantId.Validate(tenant);
                await store.DeleteAsync(tenant).ConfigureAwait(false);
                Console.WriteLine($"{tenant} removed from the bucket: it runs where an allowlist or open node puts it, or nowhere");
                return 0;
            default:
                throw new ArgumentException("usage: placement list | placement put <tenant> <shard-id> | placement delete <tenant>");
        }
    }

    private static async Task<int> CustodyAsync(INatsJSContext js, CustodySettings settings, string[] args)
    {
        var homes = new TenantHomes(js, settings.HomesBucket);
        switch (args)
        {
            case ["show", var tenant]:
                TenantId.Validate(tenant);
                var (home, revision) = await homes.GetAsync(tenant).ConfigureAwait(false);
                Console.WriteLine(home is null ? $"{tenant}: no home record" : $"{tenant}: {home} (revision {revision})");
                return 0;
            case ["override", var tenant, var shardId, .. var rest]:
                TenantId.Validate(tenant);
                var reason = Option(rest, "--reason") ?? throw new ArgumentException("override needs --reason \"...\"");
                if (!rest.Contains("--accept-data-loss"))
                    throw new ArgumentException(
                        $"override starts {tenant} on {shardId} from the events stream alone: the saga state, dedupe markers, outbox and timers " +
                        "held by its current owner are lost. Add --accept-data-loss to do it.");
                var written = await homes.OverrideAsync(tenant, shardId, reason).ConfigureAwait(false);
                Console.WriteLine($"{tenant}: {written}; the old owner is fenced as soon as it sees the record");
                return 0;
            default:
                throw new ArgumentException("usage: custody show <tenant> | custody override <tenant> <shard-id> --reason \"...\" --accept-data-loss");
        }
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
