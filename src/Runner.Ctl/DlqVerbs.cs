using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Runner.Ctl;

/// <summary>
/// <c>dlq list</c>, <c>dlq show</c>, <c>dlq redrive</c> and <c>dlq purge</c>: the parked events of the dead-letter stream,
/// filtered by tenant, saga, kind and sequence range; a redrive sends them back to their origin subject, a purge deletes them.
/// </summary>
internal static partial class Cli
{
    /// <summary>Events asked per request of a redrive or purge (the node's most).</summary>
    private const int DlqBatch = 1000;

    /// <summary>The filter options of one dlq verb (each verb has its own instances).</summary>
    private sealed record DlqFilter(Option<string?> Tenant, Option<string?> Saga, Option<string?> Kind, Option<ulong?> FromSeq, Option<ulong?> ToSeq,
        Option<ulong?> Seq)
    {
        public static DlqFilter Create() => new(
            new Option<string?>("--tenant", "-t") { Description = "only this tenant's parked events (_invalid: those the intake parked)" },
            new Option<string?>("--saga", "-s") { Description = "only those this saga parked (_unrouted: events no saga handles)" },
            new Option<string?>("--kind", "-k") { Description = "only this kind (MalformedPayload, UnexpectedEvent, HandlerFailed, ...)" },
            new Option<ulong?>("--from-seq") { Description = "first dead-letter stream sequence" },
            new Option<ulong?>("--to-seq") { Description = "last dead-letter stream sequence" },
            new Option<ulong?>("--seq") { Description = "only this dead-letter stream sequence" });

        public void AddTo(Command command)
        {
            command.Add(Tenant);
            command.Add(Saga);
            command.Add(Kind);
            command.Add(FromSeq);
            command.Add(ToSeq);
            command.Add(Seq);
        }

        /// <summary>The filter as the node's fields, checked here first (exit 2).</summary>
        public JsonObject Read(ParseResult p)
        {
            var body = new JsonObject();
            if (p.GetValue(Tenant) is { } t) body["tenant"] = t == "_invalid" ? t : ValidTenant(t);
            if (p.GetValue(Saga) is { } s) body["saga"] = s == "_unrouted" ? s : ValidSaga(s);
            if (p.GetValue(Kind) is { } k) body["kind"] = k;
            var seq = p.GetValue(Seq);
            var from = p.GetValue(FromSeq);
            var to = p.GetValue(ToSeq);
            if (seq is not null && (from is not null || to is not null)) throw new CliException("--seq names one sequence: give it or --from-seq/--to-seq, not both", 2);
            if (seq is 0 || from is 0 || to is 0) throw new CliException("sequences start at 1", 2);
            if (to < (from ?? 1)) throw new CliException($"--to-seq {to} is before --from-seq {from ?? 1}: the range is empty", 2);
            if (seq is not null) body["seq"] = seq;
            if (from is not null) body["from_seq"] = from;
            if (to is not null) body["to_seq"] = to;
            return body;
        }
    }

    private static Command DlqCommand(VerbFactory verb)
    {
        var listFilter = DlqFilter.Create();
        var listLimit = new Option<int?>("--limit") { Description = "at most this many events (default 50, at most 500)" };
        var list = verb("list", "parked events, oldest first: kind, reason, origin", async (p, c) =>
        {
            var query = listFilter.Read(p);
            if (p.GetValue(listLimit) is { } l) query["limit"] = l is >= 1 and <= 500 ? l : throw new CliException("--limit must be between 1 and 500", 2);
            var path = "/admin/dlq/events" + (query.Count == 0
                ? ""
                : "?" + string.Join('&', query.Select(f => f.Key + "=" + Uri.EscapeDataString(f.Value!.ToString()))));
            return await c.RenderAsync(path, doc =>
            {
                var events = doc.GetProperty("events");
                var table = new Table().AddColumns("seq", "parked at", "tenant", "saga", "kind", "origin", "reason", "payload");
                foreach (var e in events.EnumerateArray())
                    table.AddRow(Str(e, "seq"), When(e, "parkedAt"), Str(e, "tenant"), Str(e, "saga"), Str(e, "kind"),
                        Markup.Escape($"{Raw(e, "originSubject")} #{Raw(e, "originSeq")}"), Markup.Escape(Short(Raw(e, "reason"))), Markup.Escape(Short(Raw(e, "preview"))));
                if (events.GetArrayLength() > 0) c.Write(table);
                var shown = events.GetArrayLength().ToString(CultureInfo.InvariantCulture);
                c.Line(doc.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.Number
                    ? $"{shown} shown; more: --from-seq {next} --to-seq {doc.GetProperty("toSeq")}"
                    : events.GetArrayLength() == 0 ? "no parked events match" : $"{shown} shown (up to dead-letter seq {doc.GetProperty("toSeq")})");
            }).ConfigureAwait(false);
        });
        listFilter.AddTo(list);
        list.Add(listLimit);

        var seq = new Argument<ulong>("seq") { Description = "the dead-letter stream sequence (as 'dlq list' shows it)" };
        var show = verb("show", "one parked event: headers, reason, origin, payload, what a redrive would send", async (p, c) =>
        {
            var n = p.GetValue(seq);
            if (n < 1) throw new CliException("sequences start at 1", 2);
            return await c.RenderAsync("/admin/dlq/events/" + n.ToString(CultureInfo.InvariantCulture), e =>
            {
                var table = new Table().AddColumns("dead letter", Str(e, "seq"));
                foreach (var (name, label) in new[]
                         {
                             ("subject", "subject"), ("tenant", "tenant"), ("saga", "saga"), ("kind", "kind"), ("reason", "reason"),
                             ("originSubject", "origin subject"), ("originSeq", "origin seq"), ("originMsgId", "origin msg id"), ("node", "parked by"),
                             ("size", "size (bytes)"),
                         })
                    table.AddRow(label, Str(e, name));
                table.AddRow("parked at", When(e, "parkedAt"));
                c.Write(table);
                WriteHeaders(c, "headers", e.GetProperty("headers"));
                c.Line("payload" + (YesNo(e, "payloadTruncated") == "yes" ? " (truncated)" : "") + ":");
                c.Line(e.TryGetProperty("payload", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString()! : "base64:" + Raw(e, "payloadBase64"));
                var redrive = e.GetProperty("redrive");
                if (redrive.GetProperty("possible").GetBoolean())
                {
                    c.Line($"a redrive sends it to {Raw(redrive, "subject")} with:");
                    WriteHeaders(c, "redrive headers", redrive.GetProperty("headers"));
                }
                else
                {
                    c.Line("not redrivable: " + Raw(redrive, "detail"));
                }
            }).ConfigureAwait(false);
        });
        show.Add(seq);

        var redriveFilter = DlqFilter.Create();
        var dryRun = new Option<bool>("--dry-run") { Description = "show what would be sent, send and remove nothing" };
        var redriveLimit = new Option<int?>("--limit") { Description = "at most this many events (default: every match)" };
        var redrive = verb("redrive", "send parked events back to their origin subject (once: a Nats-Msg-Id per entry), then remove them", async (p, c) =>
        {
            var body = redriveFilter.Read(p);
            body["dry_run"] = p.GetValue(dryRun);
            return await c.DlqBatchAsync("/admin/dlq/redrive", body, Limit(p.GetValue(redriveLimit)), (all, dry) =>
            {
                var table = new Table().AddColumns("seq", "tenant", "saga", "kind", "outcome", "to subject", "msg id", "event seq", "detail");
                foreach (var e in all)
                    table.AddRow(Str(e, "seq"), Str(e, "tenant"), Str(e, "saga"), Str(e, "kind"), Str(e, "outcome"), Str(e, "subject"), Str(e, "msgId"),
                        Str(e, "eventSeq"), Markup.Escape(Raw(e, "detail") is "-" ? Short(Raw(e, "preview")) : Raw(e, "detail")));
                if (all.Count > 0) c.Write(table);
                string Count(string outcome) => all.Count(e => Raw(e, "outcome") == outcome).ToString(CultureInfo.InvariantCulture);
                c.Line(dry
                    ? $"dry run: {Count("would_send")} would be sent, {Count("skipped")} not redrivable; nothing was sent or removed"
                    : $"{Count("sent")} sent, {Count("already_sent")} already sent before (removed, not sent again), {Count("skipped")} not redrivable, {Count("failed")} failed");
                return all.Any(e => Raw(e, "outcome") == "failed") ? 1 : 0;
            }).ConfigureAwait(false);
        });
        redriveFilter.AddTo(redrive);
        redrive.Add(dryRun);
        redrive.Add(redriveLimit);

        var purgeFilter = DlqFilter.Create();
        var yes = new Option<bool>("--yes") { Description = "confirm: the matching parked events are deleted for good" };
        var purgeDry = new Option<bool>("--dry-run") { Description = "list what would be deleted, delete nothing" };
        var purgeLimit = new Option<int?>("--limit") { Description = "at most this many events (default: every match)" };
        var purge = verb("purge", "delete parked events (needs --yes)", async (p, c) =>
        {
            var body = purgeFilter.Read(p);
            var dry = p.GetValue(purgeDry);
            if (!dry && !p.GetValue(yes)) throw new CliException("purge deletes the matching parked events for good: add --yes (or --dry-run to see them)", 2);
            body["dry_run"] = dry;
            return await c.DlqBatchAsync("/admin/dlq/purge", body, Limit(p.GetValue(purgeLimit)), (all, isDry) =>
            {
                var table = new Table().AddColumns("seq", "parked at", "tenant", "saga", "kind", "reason");
                foreach (var e in all)
                    table.AddRow(Str(e, "seq"), When(e, "parkedAt"), Str(e, "tenant"), Str(e, "saga"), Str(e, "kind"), Markup.Escape(Short(Raw(e, "reason"))));
                if (all.Count > 0) c.Write(table);
                var n = all.Count.ToString(CultureInfo.InvariantCulture);
                c.Line(isDry ? $"dry run: {n} would be deleted" : $"{n} deleted");
                return 0;
            }).ConfigureAwait(false);
        });
        purgeFilter.AddTo(purge);
        purge.Add(yes);
        purge.Add(purgeDry);
        purge.Add(purgeLimit);

        return new Command("dlq", "parked events (the dead-letter stream)") { list, show, redrive, purge };
    }

    private static int? Limit(int? limit) => limit is null or >= 1 ? limit : throw new CliException("--limit must be 1 or more", 2);

    /// <summary>The text of a field ("-" when absent), not escaped.</summary>
    private static string Raw(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "-";

    private static void WriteHeaders(Client c, string title, JsonElement headers)
    {
        var table = new Table { Title = new TableTitle(title) }.AddColumns("header", "value");
        foreach (var h in headers.EnumerateObject())
            table.AddRow(Markup.Escape(h.Name), Markup.Escape(h.Value.ValueKind == JsonValueKind.Array ? string.Join(", ", h.Value.EnumerateArray()) : h.Value.ToString()));
        c.Write(table);
    }

    private sealed partial class Client
    {
        /// <summary>
        /// POSTs <paramref name="body"/> page after page (the range fixed by the first answer, so that events parked meanwhile,
        /// a redriven event parked again among them, are not taken in) until no match is left or <paramref name="limit"/> are
        /// done; then prints the whole (JSON with the pages' events together, or what <paramref name="render"/> writes).
        /// </summary>
        public async Task<int> DlqBatchAsync(string path, JsonObject body, int? limit, Func<List<JsonElement>, bool, int> render)
        {
            var all = new List<JsonElement>();
            JsonObject? merged = null;
            ulong? next = null;
            while (true)
            {
                body["limit"] = Math.Min(DlqBatch, limit is { } l ? l - all.Count : DlqBatch);
                using var doc = JsonDocument.Parse(await PostJsonAsync(path, body).ConfigureAwait(false));
                var page = doc.RootElement;
                merged ??= JsonNode.Parse(page.GetRawText())!.AsObject();
                foreach (var e in page.GetProperty("events").EnumerateArray()) all.Add(e.Clone());
                next = page.GetProperty("next").ValueKind == JsonValueKind.Number ? page.GetProperty("next").GetUInt64() : null;
                // A failed redrive stops the batch on the node (its entry stays parked): asking again would only fail again.
                var failed = page.GetProperty("events").EnumerateArray().Any(e => e.TryGetProperty("outcome", out var o) && o.GetString() == "failed");
                if (next is null || all.Count >= limit || failed) break;
                body.Remove("seq");
                body["from_seq"] = next;
                body["to_seq"] = page.GetProperty("toSeq").GetUInt64();
            }

            var dry = body["dry_run"]?.GetValue<bool>() ?? false;
            if (_json)
            {
                merged!["events"] = new JsonArray([.. all.Select(e => JsonNode.Parse(e.GetRawText()))]);
                merged["next"] = next;
                if (merged["counts"] is JsonObject counts)
                {
                    foreach (var outcome in counts.Select(o => o.Key).ToList())
                        counts[outcome] = all.Count(e => e.TryGetProperty("outcome", out var o) && o.GetString() == outcome);
                }

                if (merged.ContainsKey("deleted")) merged["deleted"] = dry ? 0 : all.Count;
                await _output.WriteLineAsync(merged.ToJsonString()).ConfigureAwait(false);
                return all.Any(e => e.TryGetProperty("outcome", out var o) && o.GetString() == "failed") ? 1 : 0;
            }

            return render(all, dry);
        }
    }
}
