using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Runner.Ctl;

/// <summary>
/// <c>runner replay</c>, <c>runner replay-status</c> and <c>tenant replays</c>: start a replay (or a dry run) on the node that
/// runs the tenant, follow it to its end, show its counts and, for a dry run, what it would re-emit and suppress.
/// </summary>
internal static partial class Cli
{
    /// <summary>The replay modes of the node (<c>Runner.Actors.Protocol.ReplayModes</c>; this assembly does not reference the runtime).</summary>
    private static readonly string[] ReplayModes = ["checkpoint_only", "checkpoint_and_dedupe", "full_reset"];

    /// <summary>Rows shown per list of a dry-run report; <c>--json</c> has them all.</summary>
    private const int ReportRows = 50;

    private static Command[] ReplayVerbs(VerbFactory verb)
    {
        var tenant = new Option<string>("--tenant", "-t") { Description = "the tenant", Required = true };
        var saga = new Option<string>("--saga", "-s") { Description = "the saga", Required = true };
        var mode = new Option<string>("--mode", "-m")
        {
            Description = "checkpoint_only (rewind; dedupe markers skip what was applied), checkpoint_and_dedupe (re-apply onto the current state), "
                + "full_reset (delete the instances, rebuild them from the stream)",
            Required = true,
        };
        mode.CompletionSources.Add(ReplayModes);
        var fromSeq = new Option<ulong?>("--from-seq") { Description = "first stream sequence to replay (default: the start of the events stream)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "apply the events on paper: report what would be re-emitted and suppressed, change nothing" };
        var noWait = new Option<bool>("--no-wait") { Description = "print the replay's id and status and return (follow it with 'runner replay-status <id>')" };
        var replay = verb("replay", "replay a saga's events from the stream on the node that runs the tenant", async (p, c) =>
        {
            var body = new JsonObject { ["tenant_id"] = ValidTenant(p.GetValue(tenant)), ["saga_name"] = ValidSaga(p.GetValue(saga)) };
            var m = p.GetValue(mode);
            if (!ReplayModes.Contains(m, StringComparer.Ordinal))
                throw new CliException($"mode must be one of {string.Join(", ", ReplayModes)}, not '{m}'", 2);
            body["mode"] = m;
            if (p.GetValue(fromSeq) is { } from)
                body["from_seq"] = from >= 1 ? from : throw new CliException("--from-seq is a stream sequence: 1 or more", 2);
            body["dry_run"] = p.GetValue(dryRun);
            return await c.ReplayAsync(body, wait: !p.GetValue(noWait)).ConfigureAwait(false);
        });
        replay.Add(tenant);
        replay.Add(saga);
        replay.Add(mode);
        replay.Add(fromSeq);
        replay.Add(dryRun);
        replay.Add(noWait);

        var id = new Argument<string>("id") { Description = "a replay id (<tenant>.<saga>.<suffix>, as 'runner replay' printed it)" };
        var status = verb("replay-status", "one replay (or dry run): stage, progress, counts", async (p, c) =>
            await c.RenderAsync(ReplayPath(p.GetValue(id)!), r => c.Write(StatusTable(r))).ConfigureAwait(false));
        status.Add(id);
        return [replay, status];
    }

    private static Command ReplaysVerb(VerbFactory verb)
    {
        var tenant = new Argument<string>("tenant");
        var command = verb("replays", "a tenant's checkpoints per saga and its replays, newest first", async (p, c) =>
            await c.RenderAsync($"/admin/tenants/{ValidTenant(p.GetValue(tenant))}/replays", doc =>
            {
                var checkpoints = new Table().AddColumns("saga", "checkpoint (stream seq)");
                foreach (var cp in doc.GetProperty("checkpoints").EnumerateObject()) checkpoints.AddRow(Markup.Escape(cp.Name), Markup.Escape(cp.Value.ToString()));
                c.Write(checkpoints);
                var replays = doc.GetProperty("replays");
                if (replays.GetArrayLength() == 0)
                {
                    c.Line("no replays recorded (dry runs are not recorded)");
                    return;
                }

                var table = new Table().AddColumns("id", "mode", "stage", "stream", "counts", "started", "finished");
                foreach (var r in replays.EnumerateArray())
                    table.AddRow(Str(r, "id"), Str(r, "mode"), Str(r, "stage"), $"{Str(r, "fromSeq")}..{Str(r, "targetSeq")}", Markup.Escape(CountsLine(r)),
                        When(r, "startedAt"), When(r, "finishedAt"));
                c.Write(table);
            }).ConfigureAwait(false));
        command.Add(tenant);
        return command;
    }

    private static string ReplayPath(string id) => "/admin/replay/" + Uri.EscapeDataString(id);

    private static string Stage(JsonElement r) => r.TryGetProperty("stage", out var s) ? s.GetString() ?? "" : "";

    /// <summary>Over: done, or failed (a failed dry run is not <c>done</c>, and it never will be).</summary>
    private static bool Over(JsonElement r) => r.TryGetProperty("done", out var d) && d.ValueKind == JsonValueKind.True || Stage(r) == "failed";

    private static string Percent(JsonElement r) =>
        r.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Number
            ? (p.GetDouble() * 100).ToString("0", CultureInfo.InvariantCulture) + "%"
            : "-";

    private static string CountsLine(JsonElement r)
    {
        var c = r.GetProperty("counts");
        return string.Create(CultureInfo.InvariantCulture,
            $"events {c.GetProperty("events")}, applied {c.GetProperty("applied")}, duplicates {c.GetProperty("duplicates")}, "
            + $"ignored {c.GetProperty("ignoredCompleted")}, dead-lettered {c.GetProperty("deadLettered")}, commands {c.GetProperty("commands")}");
    }

    /// <summary>One line of a replay in progress: stage, progress, position, what its events did so far.</summary>
    private static string ProgressLine(JsonElement r)
    {
        var position = r.TryGetProperty("position", out var p) && p.ValueKind == JsonValueKind.Number ? p.ToString() : "-";
        var c = r.GetProperty("counts");
        var line = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"{Stage(r)} {Percent(r)}, at {position} of {r.GetProperty("fromSeq")}..{r.GetProperty("targetSeq")}: {c.GetProperty("events")} events, "
            + $"{c.GetProperty("applied")} applied, {c.GetProperty("duplicates")} duplicates, {c.GetProperty("commands")} commands"));
        foreach (var (name, label) in new[] { ("ignoredCompleted", "ignored"), ("deadLettered", "dead-lettered") })
            if (c.GetProperty(name).GetInt64() != 0) line.Append(CultureInfo.InvariantCulture, $", {c.GetProperty(name)} {label}");
        return line.ToString();
    }

    /// <summary>A replay as a table of its fields and counts.</summary>
    private static Table StatusTable(JsonElement r)
    {
        var table = new Table().AddColumns("replay", Str(r, "id"));
        table.AddRow("tenant", Str(r, "tenant"));
        table.AddRow("saga", Str(r, "saga"));
        table.AddRow("mode", Str(r, "mode"));
        table.AddRow("dry run", YesNo(r, "dryRun"));
        table.AddRow("stage", Str(r, "stage") + (Over(r) ? "" : " (in progress)"));
        table.AddRow("progress", Percent(r));
        table.AddRow("stream", $"{Str(r, "fromSeq")}..{Str(r, "targetSeq")}");
        table.AddRow("position", Str(r, "position"));
        table.AddRow("node", Str(r, "node"));
        table.AddRow("started", When(r, "startedAt"));
        table.AddRow("finished", When(r, "finishedAt"));
        table.AddRow("instances", Str(r, "instances"));
        var counts = r.GetProperty("counts");
        foreach (var (name, label) in CountNames) table.AddRow(label, Str(counts, name));
        table.AddRow("detail", Str(r, "detail"));
        return table;
    }

    private static readonly (string Name, string Label)[] CountNames =
    [
        ("events", "events"), ("applied", "applied"), ("duplicates", "duplicates"), ("ignoredCompleted", "ignored (completed)"),
        ("deadLettered", "dead-lettered"), ("commands", "commands"),
    ];

    private static Table CountsTable(JsonElement r)
    {
        var counts = r.GetProperty("counts");
        var table = new Table().AddColumns([.. CountNames.Select(c => c.Label), "instances"]);
        table.AddRow([.. CountNames.Select(c => Str(counts, c.Name)), Str(r, "instances")]);
        return table;
    }

    /// <summary>A dry run's report: what it would re-emit, what dedupe would suppress, what completed instances or failures would swallow.</summary>
    private static void WriteReport(Client c, JsonElement report)
    {
        Capped(c, "commands it would re-emit", ["stream seq", "correlation id", "command", "payload"], report.GetProperty("commandsReEmitted"), e =>
            [Str(e, "streamSeq"), Str(e, "correlationId"), Str(e, "commandType"), Markup.Escape(Short(e.TryGetProperty("payload", out var p) ? p.GetRawText() : "-"))]);
        string[] Event(JsonElement e) => [Str(e, "streamSeq"), Str(e, "eventType"), Str(e, "correlationId"), Str(e, "detail")];
        string[] eventColumns = ["stream seq", "event", "correlation id", "detail"];
        Capped(c, "events dedupe would suppress", eventColumns, report.GetProperty("suppressedByDedupe"), Event);
        Capped(c, "events completed instances would ignore", eventColumns, report.GetProperty("ignoredCompleted"), Event, quietWhenEmpty: true);
        Capped(c, "events that would be dead-lettered", eventColumns, report.GetProperty("deadLettered"), Event, quietWhenEmpty: true);
        if (report.TryGetProperty("truncated", out var t) && t.ValueKind == JsonValueKind.True)
            c.Line("the node cut these lists short (truncated): the counts above are complete");
        if (report.TryGetProperty("note", out var note) && note.GetString() is { } text) c.Line("note: " + text);
    }

    private static void Capped(Client c, string title, string[] columns, JsonElement rows, Func<JsonElement, string[]> row, bool quietWhenEmpty = false)
    {
        var count = rows.GetArrayLength();
        if (count == 0)
        {
            if (!quietWhenEmpty) c.Line(title + ": none");
            return;
        }

        var table = new Table { Title = new TableTitle(Markup.Escape($"{title} ({count})")) }.AddColumns(columns);
        foreach (var e in rows.EnumerateArray().Take(ReportRows)) table.AddRow(row(e));
        c.Write(table);
        if (count > ReportRows) c.Line($"... {count - ReportRows} more ({title}): --json shows them all");
    }

    private static string Short(string text) => text.Length <= 60 ? text : text[..59] + "…";

    private sealed partial class Client
    {
        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

        /// <summary>How long the node may keep answering "not now" (409, 503, 504: the tenant moves or starts) while a replay is followed.</summary>
        private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

        /// <summary><c>POST /admin/replay</c>, then (with <paramref name="wait"/>) <c>GET /admin/replay/{id}</c> until it is over.</summary>
        public async Task<int> ReplayAsync(JsonObject request, bool wait)
        {
            var accepted = await PostJsonAsync("/admin/replay", request).ConfigureAwait(false);
            string id;
            using (var doc = JsonDocument.Parse(accepted))
            {
                id = doc.RootElement.GetProperty("id").GetString()!;
                if (!wait)
                {
                    if (_json)
                    {
                        Line(accepted);
                        return 0;
                    }

                    Line($"replay {id} accepted");
                    Write(StatusTable(doc.RootElement));
                    Line($"follow it: runnerctl <node> runner replay-status {id}");
                    return 0;
                }
            }

            if (!_json) Line($"replay {id} accepted; following it (Ctrl+C stops following, not the replay)");
            string final;
            if (_json)
            {
                final = await FollowAsync(id, accepted, null).ConfigureAwait(false);
            }
            else
            {
                string? over = null;
                await _console.Status().StartAsync(Markup.Escape($"replay {id}: starting"), async ctx =>
                    over = await FollowAsync(id, accepted, line => ctx.Status(Markup.Escape(line))).ConfigureAwait(false)).ConfigureAwait(false);
                final = over!;
            }

            using var done = JsonDocument.Parse(final);
            var r = done.RootElement;
            var failed = Stage(r) == "failed";
            if (_json)
            {
                Line(final);
            }
            else
            {
                Line($"replay {id} {Stage(r)}: {Str(r, "mode")}{(r.GetProperty("dryRun").GetBoolean() ? " (dry run)" : "")} of {Str(r, "tenant")}/{Str(r, "saga")}, "
                    + $"stream {Str(r, "fromSeq")}..{Str(r, "targetSeq")}");
                Write(CountsTable(r));
                if (r.TryGetProperty("detail", out var detail) && detail.GetString() is { } text) Line("detail: " + text);
                if (r.TryGetProperty("report", out var report) && report.ValueKind == JsonValueKind.Object) WriteReport(this, report);
            }

            if (failed)
                throw new CliException($"replay {id} failed: {(r.TryGetProperty("detail", out var why) ? why.GetString() : null) ?? "(no detail)"}", 1);
            return 0;
        }

        /// <summary>Polls the replay from its first answer <paramref name="first"/> on until it is over; returns its last status.</summary>
        private async Task<string> FollowAsync(string id, string first, Action<string>? show)
        {
            var body = first;
            while (true)
            {
                using (var doc = JsonDocument.Parse(body))
                {
                    if (Over(doc.RootElement)) return body;
                    show?.Invoke(ProgressLine(doc.RootElement));
                }

                var deadline = DateTime.UtcNow + Patience;
                while (true)
                {
                    await Task.Delay(PollInterval).ConfigureAwait(false); // polling the replay's status
                    using var response = await _http.GetAsync(new Uri(ReplayPath(id), UriKind.Relative)).ConfigureAwait(false);
                    if (response.StatusCode is not (HttpStatusCode.Conflict or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout)
                        || DateTime.UtcNow > deadline)
                    {
                        body = await Body(response).ConfigureAwait(false);
                        break;
                    }

                    var message = ErrorMessage(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
                    show?.Invoke($"replay {id}: waiting for the tenant ({(int)response.StatusCode}: {message})");
                }
            }
        }
    }
}
