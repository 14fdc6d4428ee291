using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using SagaName = Runner.Sagas.SagaName;
using TenantId = Runner.Sagas.TenantId;

namespace Runner.Ctl;

/// <summary>
/// <c>runnerctl &lt;host:port&gt; &lt;verb&gt;</c>, shaped like Petabridge.Cmd's <c>pbm</c>: talks to a node's admin endpoint
/// (operator token from <c>--token</c>, <c>RUNNER_ADMIN_TOKEN</c> or <c>RUNNER_ADMIN_OPERATOR_TOKEN</c>; read token from <c>--read-token</c> or
/// <c>RUNNER_ADMIN_READ_TOKEN</c>; HTTPS trusting the CA of <c>--ca-file</c> or <c>RUNNER_ADMIN_CA</c>), prints tables or, with <c>--json</c>, the endpoint's JSON.
/// <c>runnerctl placement|custody &lt;verb&gt;</c> works on the NATS buckets instead (see NatsVerbs.cs).
/// Exit codes: 0 done, 1 the node or NATS refused or failed (4xx/5xx, an incomplete drain, a failed replay, a missing bucket,
/// refused credentials), 2 bad usage or input, 3 node or NATS server unreachable.
/// </summary>
internal static partial class Cli
{
    /// <summary>Makes a verb that runs against the node's admin endpoint (see <c>Verb</c> in <see cref="RunAsync(string[], TextWriter, TextWriter, Func{string, string?})"/>).</summary>
    private delegate Command VerbFactory(string name, string description, Func<ParseResult, Client, Task<int>> run);

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) => RunAsync(args, output, error, Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="RunAsync(string[], TextWriter, TextWriter)"/>, with the environment variables read from <paramref name="environment"/>.</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<string, string?> environment)
    {
        // Optional: placement and custody talk to NATS, not to a node; the node's verbs refuse to run without it.
        var node = new Argument<string?>("node") { Description = "admin endpoint of a node, host:port (e.g. 127.0.0.1:8558); not for placement and custody", Arity = ArgumentArity.ZeroOrOne };
        var token = new Option<string?>("--token")
        {
            Description = "operator token, sent with every request (default: RUNNER_ADMIN_TOKEN, else RUNNER_ADMIN_OPERATOR_TOKEN)", Recursive = true,
        };
        var readToken = new Option<string?>("--read-token")
        {
            Description = "read token, sent with GETs instead of the operator token (default: RUNNER_ADMIN_READ_TOKEN)", Recursive = true,
        };
        var caFile = new Option<string?>("--ca-file")
        {
            Description = "PEM file of the CA that signed the node's HTTPS certificate (default: RUNNER_ADMIN_CA); implies https:// for host:port", Recursive = true,
        };
        var json = new Option<bool>("--json") { Description = "print the endpoint's JSON instead of tables", Recursive = true };
        var root = new RootCommand("runnerctl: operate Runner nodes through their admin endpoint, and tenant placement and custody through NATS") { node, token, readToken, caFile, json };

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        // Piped or captured output has no width of its own (Spectre assumes 80): wrapping ids and timestamps inside cells helps no one there.
        if (!console.Profile.Out.IsTerminal) console.Profile.Width = PipedWidth;
        var exit = 0;

        Command Verb(string name, string description, Func<ParseResult, Client, Task<int>> run)
        {
            var command = new Command(name, description);
            command.SetAction(async (parse, ct) =>
            {
                string? Env(string name) => environment(name) is { Length: > 0 } v ? v : null;
                try
                {
                    using var client = new Client(parse.GetValue(node) ?? throw new CliException($"{VerbPath(parse)} asks a node: give its admin endpoint first (runnerctl <host:port> {VerbPath(parse)})", 2),
                        new Tokens(parse.GetValue(token) ?? Env("RUNNER_ADMIN_TOKEN") ?? Env("RUNNER_ADMIN_OPERATOR_TOKEN"),
                            parse.GetValue(readToken) ?? Env("RUNNER_ADMIN_READ_TOKEN")),
                        parse.GetValue(caFile) ?? Env("RUNNER_ADMIN_CA"), parse.GetValue(json), output, console);
                    exit = await run(parse, client).ConfigureAwait(false);
                }
                catch (HttpRequestException e) when (e.StatusCode is null && e.InnerException is System.Security.Authentication.AuthenticationException)
                {
                    await error.WriteLineAsync($"runnerctl: node {parse.GetValue(node)}: its HTTPS certificate is not trusted ({e.InnerException.Message}); " +
                                               "name the CA that signed it with --ca-file or RUNNER_ADMIN_CA").ConfigureAwait(false);
                    exit = 3;
                }
                catch (HttpRequestException e) when (e.StatusCode is null)
                {
                    await error.WriteLineAsync($"runnerctl: node {parse.GetValue(node)} is not reachable: {e.Message}").ConfigureAwait(false);
                    exit = 3;
                }
                catch (CliException e)
                {
                    await error.WriteLineAsync("runnerctl: " + e.Message).ConfigureAwait(false);
                    exit = e.ExitCode;
                }
            });
            return command;
        }

        var cluster = new Command("cluster", "the cluster")
        {
            Verb("show", "members, roles, shard ids, leader", async (_, c) => await c.ShowAsync("/admin/cluster", doc =>
            {
                var table = new Table().AddColumns("address", "status", "shard id", "reachable", "roles");
                foreach (var m in doc.GetProperty("members").EnumerateArray())
                    table.AddRow(Str(m, "address"), Str(m, "status"), Str(m, "shardId"), m.GetProperty("reachable").GetBoolean() ? "yes" : "NO",
                        string.Join(" ", m.GetProperty("roles").EnumerateArray().Select(r => r.GetString())));
                return (table, $"leader {Str(doc, "leader")}");
            }).ConfigureAwait(false)),
            Verb("leave", "the node leaves the cluster (and drains)", async (_, c) => await c.PostAsync("/admin/cluster/leave").ConfigureAwait(false)),
        };
        var sharding = new Command("cluster-sharding", "tenant shard regions")
        {
            Verb("regions", "tenants hosted per region", async (_, c) => await c.ShowAsync("/admin/regions", doc =>
            {
                var table = new Table().AddColumns("region", "tenants");
                foreach (var r in doc.GetProperty("regions").EnumerateArray())
                    table.AddRow(Str(r, "address"), string.Join(", ", r.GetProperty("tenants").EnumerateArray().Select(t => t.GetString())));
                return (table, null);
            }).ConfigureAwait(false)),
        };

        var wait = new Option<bool>("--wait") { Description = "wait for the drain to finish and print the receipts" };
        var drain = Verb("drain", "hand off every tenant, leave the cluster, exit", async (p, c) =>
            await c.DrainAsync(p.GetValue(wait)).ConfigureAwait(false));
        drain.Add(wait);
        var runner = new Command("runner", "the runner on this node") { drain };
        foreach (var verb in ReplayVerbs(Verb)) runner.Add(verb);

        var tenants = new Command("tenants", "tenants")
        {
            Verb("list", "every tenant the node knows, with placement, owner, lag", async (_, c) => await c.ShowAsync("/admin/tenants", doc =>
            {
                var table = TenantTable();
                foreach (var t in doc.GetProperty("tenants").EnumerateArray()) TenantRow(table, t);
                return (table, null);
            }).ConfigureAwait(false)),
            Verb("lag", "lag and progress of every tenant consumed on this node (answers while NATS is down)", async (_, c) =>
                await c.ShowAsync("/admin/consumers", doc =>
                {
                    var table = new Table().AddColumns("tenant", "saga", "consumer", "server", "standbys", "applied seq", "lag", "running", "since progress", "stalled",
                        "reason");
                    var stalled = 0;
                    foreach (var t in doc.GetProperty("consumers").EnumerateArray())
                    {
                        var isStalled = t.GetProperty("stalled").GetBoolean();
                        if (isStalled) stalled++;
                        var standbys = t.TryGetProperty("standbys", out var sb) ? string.Join(",", sb.EnumerateArray().Select(x => Str(x, "server"))) : "";
                        table.AddRow(Str(t, "tenant"), Str(t, "saga"), Str(t, "consumer"), Str(t, "server"), standbys.Length > 0 ? standbys : "-",
                            Str(t, "appliedSeq"), Str(t, "lag"),
                            t.GetProperty("running").GetBoolean() ? "yes" : "NO",
                            t.GetProperty("secondsSinceProgress").GetDouble().ToString("0.0", CultureInfo.InvariantCulture) + "s",
                            isStalled ? "STALLED" : "no", Str(t, "reason"));
                    }

                    return (table, stalled == 0 ? null : $"{stalled} consumption(s) stalled longer than {doc.GetProperty("stallWarningAfterSeconds").GetDouble()}s");
                }).ConfigureAwait(false)),
        };
        var tenantArg = new Argument<string>("tenant");
        var tenantShow = Verb("show", "one tenant", async (p, c) =>
        {
            var tenant = ValidTenant(p.GetValue(tenantArg));
            return await c.ShowAsync($"/admin/tenants/{tenant}", doc =>
            {
                var table = TenantTable();
                TenantRow(table, doc);
                return (table, doc.GetProperty("placement").GetProperty("detail").GetString());
            }).ConfigureAwait(false);
        });
        tenantShow.Add(tenantArg);
        var tenantCmd = new Command("tenant", "one tenant") { tenantShow, TimersVerb(Verb), ReplaysVerb(Verb) };


        root.Add(cluster);
        root.Add(sharding);
        root.Add(runner);
        root.Add(tenants);
        root.Add(tenantCmd);
        root.Add(SagaCommand(Verb));
        root.Add(DlqCommand(Verb));
        var nats = new NatsVerbs(node, json, environment, output, error, console, code => exit = code);
        root.Add(PlacementCommand(nats));
        root.Add(CustodyCommand(nats));

        var parse = root.Parse(args);
        var code = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }).ConfigureAwait(false);
        return code != 0 ? 2 : exit;
    }

    /// <summary>The verb as typed, without its arguments (<c>tenant show</c>).</summary>
    private static string VerbPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent) names.Insert(0, r.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>The width tables get when the output is not a terminal (they are as wide as their content, up to this).</summary>
    private const int PipedWidth = 200;

    private static Table TenantTable() => new Table().AddColumns("tenant", "status", "placed on", "by", "runnable", "owner", "epoch", "here", "lag", "backlog");

    private static void TenantRow(Table table, JsonElement t)
    {
        var placement = t.GetProperty("placement");
        var owner = t.GetProperty("owner");
        var lag = t.GetProperty("lag").EnumerateObject().Select(l => $"{l.Name}={(l.Value.ValueKind == JsonValueKind.Null ? "-" : l.Value.ToString())}");
        table.AddRow(Str(t, "tenant"), Str(t, "status"), Str(placement, "shardId"), Str(placement, "source"), placement.GetProperty("runnable").GetBoolean() ? "yes" : "NO",
            owner.ValueKind == JsonValueKind.Null ? "-" : $"{Str(owner, "shardId")} ({Str(owner, "status")})",
            owner.ValueKind == JsonValueKind.Null ? "-" : owner.GetProperty("epoch").ToString(),
            t.GetProperty("runningHere").GetBoolean() ? "yes" : "no", Markup.Escape(string.Join(" ", lag)), Str(t, "backlog"));
    }

    private static string Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? Markup.Escape(v.ToString()) : "-";

    /// <summary>A timestamp of the endpoint as UTC to the second (<c>2025-01-31 12:00:00Z</c>), "-" when absent.</summary>
    private static string When(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.TryGetDateTimeOffset(out var t)
            ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : Str(e, name);

    private static string YesNo(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True ? "yes" : "no";

    /// <summary>The tenant id, refused locally (exit 2) when it does not follow the rule: it goes into paths and subjects.</summary>
    private static string ValidTenant(string? tenant) =>
        TenantId.IsValid(tenant) ? tenant! : throw new CliException($"'{tenant}' is not a tenant id ({TenantId.Pattern})", 2);

    private static string ValidSaga(string? saga) =>
        SagaName.IsValid(saga) ? saga! : throw new CliException($"'{saga}' is not a saga name ({SagaName.Pattern})", 2);

    internal sealed class CliException(string message, int exitCode) : Exception(message)
    {
        public int ExitCode { get; } = exitCode;
    }

    /// <summary>HTTP to one node's admin endpoint.</summary>
    private sealed partial class Client : IDisposable
    {
        private readonly HttpClient _http;
        private readonly bool _json;
        private readonly TextWriter _output;
        private readonly IAnsiConsole _console;

        public Client(string node, Tokens tokens, string? caFile, bool json, TextWriter output, IAnsiConsole console)
        {
            if (!node.Contains(':', StringComparison.Ordinal)) throw new CliException($"'{node}' is not host:port", 2);
            var scheme = caFile is null ? "http://" : "https://";
            var transport = new SocketsHttpHandler();
            if (caFile is not null) transport.SslOptions.RemoteCertificateValidationCallback = TrustedBy(LoadCas(caFile));
            _http = new HttpClient(new TokenHandler(tokens) { InnerHandler = transport })
            {
                BaseAddress = new Uri(node.StartsWith("http", StringComparison.Ordinal) ? node : scheme + node),
                Timeout = TimeSpan.FromMinutes(5),
            };
            _json = json;
            _output = output;
            _console = console;
        }

        public Task<int> ShowAsync(string path, Func<JsonElement, (Table Table, string? Footer)> render) =>
            RenderAsync(path, doc =>
            {
                var (table, footer) = render(doc);
                Write(table);
                if (footer is not null) Line(footer);
            });

        /// <summary>Writes a table (or any Spectre renderable).</summary>
        public void Write(Spectre.Console.Rendering.IRenderable renderable) => _console.Write(renderable);

        /// <summary>Writes a line as it is (not wrapped, not markup).</summary>
        public void Line(string text) => _output.WriteLine(text);

        /// <summary>GET <paramref name="path"/>: its JSON with <c>--json</c>, else whatever <paramref name="render"/> writes of it.</summary>
        public async Task<int> RenderAsync(string path, Action<JsonElement> render)
        {
            var body = await GetAsync(path).ConfigureAwait(false);
            if (_json)
            {
                await _output.WriteLineAsync(body).ConfigureAwait(false);
                return 0;
            }

            using var doc = JsonDocument.Parse(body);
            render(doc.RootElement);
            return 0;
        }

        /// <summary>GET that must succeed (else <see cref="CliException"/> with the node's message).</summary>
        public async Task<string> GetAsync(string path)
        {
            using var response = await _http.GetAsync(new Uri(path, UriKind.Relative)).ConfigureAwait(false);
            return await Body(response).ConfigureAwait(false);
        }

        /// <summary>POST of a JSON body that must succeed.</summary>
        public async Task<string> PostJsonAsync(string path, JsonNode body)
        {
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), content).ConfigureAwait(false);
            return await Body(response).ConfigureAwait(false);
        }

        public async Task<int> PostAsync(string path)
        {
            using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), null).ConfigureAwait(false);
            await _output.WriteLineAsync(await Body(response).ConfigureAwait(false)).ConfigureAwait(false);
            return 0;
        }

        public async Task<int> DrainAsync(bool wait)
        {
            HttpResponseMessage? response = null;
            if (wait && !_json)
            {
                await _console.Status().StartAsync("draining: handing off tenants, leaving the cluster…", async _ =>
                    response = await _http.PostAsync(new Uri("/admin/drain?wait=true", UriKind.Relative), null).ConfigureAwait(false)).ConfigureAwait(false);
            }
            else
            {
                response = await _http.PostAsync(new Uri(wait ? "/admin/drain?wait=true" : "/admin/drain", UriKind.Relative), null).ConfigureAwait(false);
            }

            using (response)
            {
                var incomplete = response!.StatusCode == HttpStatusCode.InternalServerError;
                var body = incomplete ? await response.Content.ReadAsStringAsync().ConfigureAwait(false) : await Body(response!).ConfigureAwait(false);
                if (_json)
                {
                    await _output.WriteLineAsync(body).ConfigureAwait(false);
                    return incomplete ? 1 : 0;
                }

                using var doc = JsonDocument.Parse(body);
                var table = new Table().AddColumns("tenant", "complete", "last acked", "outbox pending", "timers pending", "next timer", "custody");
                foreach (var t in doc.RootElement.GetProperty("tenants").EnumerateArray())
                    table.AddRow(Str(t, "tenant"), t.GetProperty("complete").GetBoolean() ? "yes" : "NO",
                        string.Join(" ", t.GetProperty("lastAcked").EnumerateObject().Select(p => $"{p.Name}={p.Value}")),
                        Str(t, "outboxPending"), Str(t, "timersPending"), Str(t, "nextTimerDue"), Str(t, "custody"));
                _console.Write(table);
                await _output.WriteLineAsync(wait
                    ? incomplete ? "DRAIN INCOMPLETE: " + string.Join(", ", doc.RootElement.GetProperty("incomplete").EnumerateArray()) : "drain complete"
                    : "draining; 'runner drain --wait' or GET /admin/drain for the receipts").ConfigureAwait(false);
                return incomplete ? 1 : 0;
            }
        }

        private static async Task<string> Body(HttpResponseMessage response)
        {
            var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return body;
            throw new CliException($"{(int)response.StatusCode} {response.StatusCode}: {ErrorMessage(body)}", 1);
        }

        /// <summary>The node's <c>error</c> message of a refusal, else the body as it is.</summary>
        private static string ErrorMessage(string body)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? body : body;
            }
            catch (JsonException)
            {
                return body;
            }
        }

        public void Dispose() => _http.Dispose();

        private static X509Certificate2Collection LoadCas(string file)
        {
            var cas = new X509Certificate2Collection();
            try
            {
                cas.ImportFromPemFile(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new CliException($"--ca-file '{file}' cannot be read: {e.Message}", 2);
            }

            return cas.Count > 0 ? cas : throw new CliException($"--ca-file '{file}' holds no PEM certificate", 2);
        }

        /// <summary>
        /// The node's certificate must name the host it is reached by and chain to one of <paramref name="cas"/> (only those:
        /// custom root trust; no revocation check, the CA is the operator's own).
        /// </summary>
        private static RemoteCertificateValidationCallback TrustedBy(X509Certificate2Collection cas) => (_, certificate, chain, errors) =>
        {
            if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
                return false;
            using var own = new X509Chain();
            own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            own.ChainPolicy.CustomTrustStore.AddRange(cas);
            own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            own.ChainPolicy.DisableCertificateDownloads = true;
            if (chain is not null)
            {
                foreach (var element in chain.ChainElements) own.ChainPolicy.ExtraStore.Add(element.Certificate);
            }

            using var leaf = certificate as X509Certificate2 is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
            return own.Build(leaf ?? (X509Certificate2)certificate);
        };
    }

    /// <summary>The bearer tokens runnerctl holds: the operator token goes with actions, the read token (when given) with GETs.</summary>
    internal sealed record Tokens(string? Operator, string? Read)
    {
        /// <summary>The token for a request: GET/HEAD prefer the read token, anything else needs the operator token (the read one is sent, for the node's 403).</summary>
        public string? For(HttpMethod method) =>
            method == HttpMethod.Get || method == HttpMethod.Head ? Read ?? Operator : Operator ?? Read;
    }

    /// <summary>Puts the right bearer token on each request.</summary>
    private sealed class TokenHandler(Tokens tokens) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (tokens.For(request.Method) is { Length: > 0 } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
