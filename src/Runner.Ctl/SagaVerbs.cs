using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Runner.Ctl;

/// <summary>
/// <c>saga list</c>, <c>saga show</c> and <c>tenant timers</c>: a tenant's saga instances as the node that runs the tenant
/// sees them (state, outbox, timers, journal) and its pending timers.
/// </summary>
internal static partial class Cli
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static Command SagaCommand(VerbFactory verb)
    {
        var tenant = new Argument<string>("tenant");
        var saga = new Option<string?>("--saga", "-s") { Description = "only instances of this saga" };
        var state = new Option<string?>("--state") { Description = "only active or completed instances, or those with this status (e.g. AwaitingStock)" };
        var offset = new Option<int?>("--offset") { Description = "skip this many instances (default 0)" };
        var limit = new Option<int?>("--limit") { Description = "at most this many instances (default 50)" };
        var list = verb("list", "a tenant's saga instances, paged", async (p, c) =>
        {
            var query = new List<string>();
            if (p.GetValue(saga) is { } s) query.Add("saga=" + ValidSaga(s));
            if (p.GetValue(state) is { } st && !string.IsNullOrWhiteSpace(st)) query.Add("state=" + Uri.EscapeDataString(st.Trim()));
            if (p.GetValue(offset) is { } o) query.Add("offset=" + (o >= 0 ? o : throw new CliException("--offset must be 0 or more", 2)).ToString(CultureInfo.InvariantCulture));
            if (p.GetValue(limit) is { } l) query.Add("limit=" + (l >= 1 ? l : throw new CliException("--limit must be 1 or more", 2)).ToString(CultureInfo.InvariantCulture));
            var path = $"/admin/tenants/{ValidTenant(p.GetValue(tenant))}/sagas" + (query.Count == 0 ? "" : "?" + string.Join('&', query));
            return await c.RenderAsync(path, doc =>
            {
                var table = new Table().AddColumns("saga", "correlation id", "status", "completed", "seq nr", "outbox", "next timer");
                var instances = doc.GetProperty("instances");
                foreach (var i in instances.EnumerateArray())
                {
                    var timers = i.GetProperty("timers");
                    var next = timers.GetArrayLength() == 0 ? "-" : $"{Str(timers[0], "name")} {When(timers[0], "dueAt")}";
                    table.AddRow(Str(i, "saga"), Str(i, "correlationId"), Str(i, "status"), YesNo(i, "completed"), Str(i, "sequenceNr"),
                        i.GetProperty("outboxPending").GetArrayLength().ToString(CultureInfo.InvariantCulture), next);
                }

                c.Write(table);
                c.Line(PageFooter(doc, instances.GetArrayLength()));
            }).ConfigureAwait(false);
        });
        list.Add(tenant);
        list.Add(saga);
        list.Add(state);
        list.Add(offset);
        list.Add(limit);

        var showTenant = new Argument<string>("tenant");
        var showSaga = new Argument<string>("saga");
        var correlation = new Argument<string>("correlation-id");
        var history = new Option<int?>("--history") { Description = "the last N entries of the instance's journal (default 200)" };
        var show = verb("show", "one saga instance: status, state, timers, outbox, journal", async (p, c) =>
        {
            var path = $"/admin/tenants/{ValidTenant(p.GetValue(showTenant))}/sagas/{ValidSaga(p.GetValue(showSaga))}/{Uri.EscapeDataString(p.GetValue(correlation)!)}";
            if (p.GetValue(history) is { } n)
                path += "?history=" + (n >= 1 ? n : throw new CliException("--history must be 1 or more", 2)).ToString(CultureInfo.InvariantCulture);
            return await c.RenderAsync(path, doc => WriteInstance(c, doc)).ConfigureAwait(false);
        });
        show.Add(showTenant);
        show.Add(showSaga);
        show.Add(correlation);
        show.Add(history);

        return new Command("saga", "a tenant's saga instances") { list, show };
    }

    /// <summary><c>showing 1-2 of 2</c>, with where the next page starts when there is one.</summary>
    private static string PageFooter(JsonElement page, int shown)
    {
        var offset = page.GetProperty("offset").GetInt32();
        var of = page.TryGetProperty("total", out var t) && t.ValueKind == JsonValueKind.Number ? " of " + t.GetInt32().ToString(CultureInfo.InvariantCulture) : "";
        var more = page.TryGetProperty("more", out var m) && m.ValueKind == JsonValueKind.True;
        var text = shown == 0
            ? (offset == 0 ? "no instances" : string.Create(CultureInfo.InvariantCulture, $"no instances at offset {offset}")) + of
            : string.Create(CultureInfo.InvariantCulture, $"showing {offset + 1}-{offset + shown}{of}");
        return more ? string.Create(CultureInfo.InvariantCulture, $"{text}; more: --offset {offset + shown}") : text;
    }

    private static void WriteInstance(Client c, JsonElement i)
    {
        var instance = new Table().AddColumns("instance", $"{Str(i, "saga")} {Str(i, "correlationId")}");
        instance.AddRow("status", Str(i, "status"));
        instance.AddRow("completed", i.GetProperty("completed").GetBoolean() ? "yes, " + When(i, "completedAt") : "no");
        instance.AddRow("seq nr", Str(i, "sequenceNr"));
        instance.AddRow("dedupe markers", Str(i, "dedupeMarkers"));
        c.Write(instance);

        c.Line("state:");
        c.Line(i.TryGetProperty("state", out var state) && state.ValueKind != JsonValueKind.Null ? JsonSerializer.Serialize(state, Indented) : "-");

        var timers = i.GetProperty("timers");
        if (timers.GetArrayLength() == 0)
        {
            c.Line("timers: none");
        }
        else
        {
            var table = new Table { Title = new TableTitle("timers") }.AddColumns("name", "due at", "skip if missed");
            foreach (var t in timers.EnumerateArray()) table.AddRow(Str(t, "name"), When(t, "dueAt"), YesNo(t, "skipIfMissed"));
            c.Write(table);
        }

        var outbox = i.GetProperty("outboxPending");
        if (outbox.GetArrayLength() == 0)
        {
            c.Line("outbox: nothing pending");
        }
        else
        {
            var table = new Table { Title = new TableTitle("outbox pending") }.AddColumns("msg id", "command");
            foreach (var o in outbox.EnumerateArray()) table.AddRow(Str(o, "msgId"), Str(o, "commandType"));
            c.Write(table);
        }

        if (!i.TryGetProperty("history", out var history)) return;
        var journal = new Table { Title = new TableTitle("history") }.AddColumns("seq nr", "kind", "at", "trigger", "stream seq", "detail");
        foreach (var e in history.EnumerateArray())
            journal.AddRow(Str(e, "sequenceNr"), Str(e, "kind"), When(e, "at"), Str(e, "trigger"), Str(e, "streamSeq"), Markup.Escape(HistoryDetail(e)));
        c.Write(journal);
        var total = i.TryGetProperty("historyTotal", out var ht) ? ht.ToString() : "?";
        c.Line(i.TryGetProperty("historyTruncated", out var cut) && cut.ValueKind == JsonValueKind.True
            ? $"the last {history.GetArrayLength().ToString(CultureInfo.InvariantCulture)} of {total} journal entries (--history N for more)"
            : $"{total} journal entries");
    }

    /// <summary>What one journal entry did, by its kind.</summary>
    private static string HistoryDetail(JsonElement e)
    {
        static IEnumerable<string> Names(JsonElement e, string array, string? field) =>
            e.TryGetProperty(array, out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Select(x => field is null ? x.ToString() : x.TryGetProperty(field, out var f) ? f.ToString() : "?")
                : [];

        var parts = new List<string>();
        switch (e.TryGetProperty("kind", out var k) ? k.GetString() : null)
        {
            case "applied":
                if (e.TryGetProperty("dedupeKey", out var key) && key.ValueKind == JsonValueKind.String) parts.Add(key.GetString()!);
                parts.Add(e.TryGetProperty("stateChanged", out var changed) && changed.ValueKind == JsonValueKind.True ? "state changed" : "state unchanged");
                if (Names(e, "commands", "commandType").ToList() is { Count: > 0 } sent) parts.Add("sent " + string.Join(", ", sent));
                if (Names(e, "scheduled", "name").ToList() is { Count: > 0 } scheduled) parts.Add("scheduled " + string.Join(", ", scheduled));
                if (Names(e, "cancelled", null).ToList() is { Count: > 0 } cancelled) parts.Add("cancelled " + string.Join(", ", cancelled));
                if (e.TryGetProperty("completed", out var done) && done.ValueKind == JsonValueKind.True) parts.Add("completed");
                break;
            case "delivered":
                parts.Add("delivered " + string.Join(", ", Names(e, "msgIds", null)));
                break;
            case "reset" or "dedupe_forgotten":
                if (e.TryGetProperty("replayId", out var replay) && replay.ValueKind == JsonValueKind.String) parts.Add("by replay " + replay.GetString());
                break;
        }

        return string.Join("; ", parts);
    }

    private static Command TimersVerb(VerbFactory verb)
    {
        var tenant = new Argument<string>("tenant");
        var command = verb("timers", "a tenant's pending timers, soonest first", async (p, c) =>
            await c.RenderAsync($"/admin/tenants/{ValidTenant(p.GetValue(tenant))}/timers", doc =>
            {
                var table = new Table().AddColumns("saga", "correlation id", "timer", "due at", "skip if missed");
                var timers = doc.GetProperty("timers");
                foreach (var t in timers.EnumerateArray())
                    table.AddRow(Str(t, "saga"), Str(t, "correlationId"), Str(t, "name"), When(t, "dueAt"), YesNo(t, "skipIfMissed"));
                c.Write(table);
                var pending = doc.GetProperty("pending").GetInt32();
                var footer = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"{pending} pending"));
                if (pending > 0) footer.Append(", next due ").Append(When(doc, "nextDue"));
                if (timers.GetArrayLength() < pending) footer.Append(CultureInfo.InvariantCulture, $" (the node lists the first {timers.GetArrayLength()})");
                c.Line(footer.ToString());
            }).ConfigureAwait(false));
        command.Add(tenant);
        return command;
    }
}
