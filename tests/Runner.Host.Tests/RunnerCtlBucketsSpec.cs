using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.Ctl;
using Runner.Placement.Custody;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// <c>runnerctl placement</c> and <c>runnerctl custody</c> against a real nats-server: the buckets written directly (no
/// node), the server and credentials from the node's <c>RUNNER_NATS_*</c> variables, the override's safety, exit codes.
/// </summary>
public sealed class RunnerCtlBucketsSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>, IAsyncLifetime
{
    private readonly NatsConnection _client = new(NatsOpts.Default with { Url = nats.Url, Name = "ctl-buckets-spec" });
    private readonly string _name = NatsServerFixture.UniqueName("ctl");

    private NatsJSContext Js => new(_client);

    public Task InitializeAsync() => _client.ConnectAsync().AsTask();

    public async Task DisposeAsync() => await _client.DisposeAsync();

    private static async Task<(int Code, string Out, string Err)> Ctl(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.RunAsync(args, output, error, name => env.GetValueOrDefault(name));
        return (code, output.ToString(), error.ToString());
    }

    private Dictionary<string, string> NatsEnv(string? placementBucket = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["RUNNER_NATS_URL"] = nats.Url };
        if (placementBucket is not null) env["RUNNER_TENANT_PLACEMENT_BUCKET"] = placementBucket;
        return env;
    }

    private static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Runnerctl_placement_should_list_set_and_delete_placements_in_the_bucket_and_refuse_bad_input()
    {
        var bucket = _name + "-placement";
        var env = NatsEnv(bucket);

        // The nodes create the bucket (at their replica count); runnerctl never does.
        var missing = await Ctl(env, "placement", "set", "acme", "node-b");
        Assert.True(missing.Code == 1, missing.Err);
        Assert.Contains($"placement bucket {bucket} does not exist on {nats.Url}", missing.Err, StringComparison.Ordinal);
        var kvs = new NatsKVContext(Js);
        var kv = await kvs.CreateStoreAsync(new NatsKVConfig(bucket) { History = 1 });

        var set = await Ctl(env, "placement", "set", "acme", "node-b");
        Assert.True(set.Code == 0, set.Err);
        Assert.Contains($"acme placed on node-b (bucket {bucket}, revision", set.Out, StringComparison.Ordinal);
        Assert.Equal("node-b", (await kv.GetEntryAsync<string>("acme")).Value);
        // --nats and --bucket over the environment.
        var other = await Ctl(new Dictionary<string, string>(), "placement", "set", "beta", "node-a", "--nats", nats.Url, "--bucket", bucket, "--json");
        Assert.True(other.Code == 0, other.Err);
        Assert.Equal("node-a", Json(other.Out).GetProperty("shardId").GetString());
        Assert.Equal("node-a", (await kv.GetEntryAsync<string>("beta")).Value);

        var list = await Ctl(env, "placement", "list");
        Assert.True(list.Code == 0, list.Err);
        Assert.Matches(@"acme\s+│\s+node-b", list.Out);
        Assert.Matches(@"beta\s+│\s+node-a", list.Out);
        var listed = Json((await Ctl(env, "placement", "list", "--json")).Out);
        Assert.Equal(bucket, listed.GetProperty("bucket").GetString());
        Assert.Equal(["acme:node-b", "beta:node-a"],
            listed.GetProperty("placements").EnumerateArray().Select(p => $"{p.GetProperty("tenant")}:{p.GetProperty("shardId")}").Order(StringComparer.Ordinal));

        var deleted = await Ctl(env, "placement", "delete", "acme");
        Assert.True(deleted.Code == 0, deleted.Err);
        Assert.Contains($"acme removed from bucket {bucket} (was on node-b)", deleted.Out, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NatsKVKeyDeletedException>(async () => await kv.GetEntryAsync<string>("acme"));
        var again = await Ctl(env, "placement", "delete", "acme");
        Assert.Equal((0, true), (again.Code, again.Out.Contains("acme has no placement", StringComparison.Ordinal)));
        Assert.DoesNotContain("acme", (await Ctl(env, "placement", "list")).Out, StringComparison.Ordinal);

        // Bad input: exit 2 before anything is written.
        Assert.Equal(2, (await Ctl(env, "placement", "set", "Bad.Tenant", "node-b")).Code);
        Assert.Equal(2, (await Ctl(env, "placement", "set", "acme", "node b")).Code);
        var noBucket = await Ctl(NatsEnv(), "placement", "list");
        Assert.Equal((2, true), (noBucket.Code, noBucket.Err.Contains("--bucket or RUNNER_TENANT_PLACEMENT_BUCKET", StringComparison.Ordinal)));
        var withNode = await Ctl(env, "127.0.0.1:8558", "placement", "list");
        Assert.Equal((2, true), (withNode.Code, withNode.Err.Contains("not on a node", StringComparison.Ordinal)));
        Assert.Equal(2, (await Ctl(env, "placement", "move", "acme")).Code);
        Assert.Equal(["beta"], await kv.GetKeysAsync().ToListAsync());

        // No NATS server there: exit 3, naming the server.
        var unreachable = $"nats://127.0.0.1:{NatsServerFixture.FreePort()}";
        var down = await Ctl(env, "placement", "list", "--nats", unreachable);
        Assert.Equal((3, true), (down.Code, down.Err.Contains("cannot connect to NATS at " + unreachable, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Runnerctl_custody_should_show_a_home_record_and_override_it_only_with_a_reason_and_accepted_data_loss()
    {
        var bucket = _name + "-homes";
        var env = NatsEnv();
        var missing = await Ctl(env, "custody", "show", "acme", "--bucket", bucket);
        Assert.Equal((1, true), (missing.Code, missing.Err.Contains($"homes bucket {bucket} does not exist on {nats.Url}", StringComparison.Ordinal)));

        var homes = new TenantHomes(Js, new CustodySettings { HomesBucket = bucket });
        var home = new TenantHome("node-a", 3, TenantHome.Active, null, null, DateTimeOffset.UtcNow, null);
        Assert.True(await homes.CompareAndSetAsync("acme", home, 0));

        var show = await Ctl(env, "custody", "show", "acme", "--bucket", bucket);
        Assert.True(show.Code == 0, show.Err);
        Assert.Matches(@"acme\s+│\s+node-a\s+│\s+active\s+│\s+3\s", show.Out);
        var none = await Ctl(env, "custody", "show", "beta", "--bucket", bucket);
        Assert.Equal((0, true), (none.Code, none.Out.Contains($"beta has no home record in bucket {bucket}", StringComparison.Ordinal)));

        // Without a reason, or without accepting the data loss: refused with the warning, nothing written.
        var noReason = await Ctl(env, "custody", "override", "acme", "node-b", "--accept-data-loss", "--bucket", bucket);
        Assert.Equal((2, true), (noReason.Code, noReason.Err.Contains("needs --reason", StringComparison.Ordinal)));
        var notAccepted = await Ctl(env, "custody", "override", "acme", "node-b", "--reason", "node-a lost its disk", "--bucket", bucket);
        Assert.Equal(2, notAccepted.Code);
        Assert.Contains("override makes node-b the owner of acme with a new epoch and no state", notAccepted.Err, StringComparison.Ordinal);
        Assert.Contains("held by the current owner are lost", notAccepted.Err, StringComparison.Ordinal);
        Assert.Contains("Add --accept-data-loss", notAccepted.Err, StringComparison.Ordinal);
        Assert.Equal(2, (await Ctl(env, "custody", "override", "acme", "Node.B", "--reason", "x", "--accept-data-loss", "--bucket", bucket)).Code);
        Assert.Equal(home with { At = default }, (await homes.GetAsync("acme")).Home! with { At = default });

        var done = await Ctl(env, "custody", "override", "acme", "node-b", "--reason", "node-a lost its disk", "--accept-data-loss", "--bucket", bucket);
        Assert.True(done.Code == 0, done.Err);
        Assert.Contains("WARNING: override makes node-b the owner of acme", done.Out, StringComparison.Ordinal);
        Assert.Contains("acme: node-b is its owner (epoch 4); was node-a (active, epoch 3), which is fenced", done.Out, StringComparison.Ordinal);
        var (written, _) = await homes.GetAsync("acme");
        Assert.Equal(("node-b", 4L, TenantHome.Active, "override: node-a lost its disk"), (written!.ShardId, written.Epoch, written.Status, written.Reason));

        var json = Json((await Ctl(env, "custody", "show", "acme", "--bucket", bucket, "--json")).Out);
        Assert.Equal(("node-b", 4), (json.GetProperty("home").GetProperty("shardId").GetString(), json.GetProperty("home").GetProperty("epoch").GetInt32()));
    }

    [Fact]
    public async Task Runnerctl_should_reach_a_secured_nats_with_the_node_RUNNER_NATS_variables_without_showing_the_password()
    {
        const string Password = "ctl-pa55-never-shown";
        await using var secured = NatsServerFixture.WithConfig($$"""
            authorization { users = [ { user: "runner", password: "{{Password}}" } ] }
            """);
        using var dir = new TempDirectory("ctl-secrets");
        var passwordFile = Path.Combine(dir.Path, "password");
        await File.WriteAllTextAsync(passwordFile, Password + "\n"); // as a mounted secret
        var bucket = _name + "-secured";
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["RUNNER_NATS_URL"] = secured.Url, ["RUNNER_NATS_USER"] = "runner", ["RUNNER_NATS_PASSWORD_FILE"] = passwordFile,
            ["RUNNER_TENANT_PLACEMENT_BUCKET"] = bucket,
        };
        await using (var admin = new NatsConnection(NatsOpts.Default with { Url = secured.Url, AuthOpts = NatsAuthOpts.Default with { Username = "runner", Password = Password } }))
        {
            var kv = await new NatsKVContext(new NatsJSContext(admin)).CreateStoreAsync(new NatsKVConfig(bucket) { History = 1 });
            var set = await Ctl(env, "placement", "set", "acme", "node-b");
            Assert.True(set.Code == 0, set.Err);
            Assert.Equal("node-b", (await kv.GetEntryAsync<string>("acme")).Value);
        }

        var anonymous = await Ctl(new Dictionary<string, string>(env) { ["RUNNER_NATS_USER"] = "", ["RUNNER_NATS_PASSWORD_FILE"] = "" }, "placement", "list");
        Assert.Equal((1, true), (anonymous.Code, anonymous.Err.Contains("the server refused the credentials", StringComparison.Ordinal)));

        var wrong = await Ctl(new Dictionary<string, string>(env) { ["RUNNER_NATS_PASSWORD_FILE"] = "", ["RUNNER_NATS_PASSWORD"] = "wrong-" + Password },
            "placement", "list");
        Assert.Equal(1, wrong.Code);
        Assert.Contains($"cannot connect to NATS at {secured.Url} (auth user-password (user 'runner')", wrong.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, wrong.Err + wrong.Out, StringComparison.Ordinal);
    }
}
