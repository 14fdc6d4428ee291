using System.Text.Json;
using System.Text.Json.Nodes;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;

namespace Runner.Host;

/// <summary>
/// How a tenant's typed answers to operator requests (<see cref="ITenantAdminReply"/>) look on the admin endpoint: the one
/// place that maps them to HTTP status codes and renders them as JSON. <c>runnerctl</c> reads these shapes.
/// </summary>
internal static class AdminReplies
{
    private const string DryRunNote =
        "a dry run applies the events' decisions only: timers do not fire on paper, and re-emitted commands get new Nats-Msg-Ids when run";

    /// <summary>The HTTP answer to a reply.</summary>
    public static IResult ToResult(ITenantAdminReply reply)
    {
        var (status, json) = Render(reply);
        return Results.Content(json, "application/json", System.Text.Encoding.UTF8, status);
    }

    /// <summary>The HTTP status and JSON body of a reply.</summary>
    public static (int Status, string Json) Render(ITenantAdminReply reply) => reply switch
    {
        AdminRefusal r => (StatusOf(r.Kind), Error(r.Message)),
        ReplayAccepted a => (StatusCodes.Status202Accepted, Replay(a.Status).ToJsonString()),
        ReplayStatus s => (StatusCodes.Status200OK, Replay(s).ToJsonString()),
        ReplayList l => (StatusCodes.Status200OK, Replays(l).ToJsonString()),
        SagaPage p => (StatusCodes.Status200OK, Page(p).ToJsonString()),
        SagaDetail d => (StatusCodes.Status200OK, Detail(d).ToJsonString()),
        TimerList t => (StatusCodes.Status200OK, Timers(t).ToJsonString()),
        _ => (StatusCodes.Status500InternalServerError, Error($"the tenant answered with {reply.GetType().Name}, which this node cannot show")),
    };

    /// <summary>The status code of a refusal.</summary>
    public static int StatusOf(RefusalKind kind) => kind switch
    {
        RefusalKind.Invalid => StatusCodes.Status400BadRequest,
        RefusalKind.NotFound => StatusCodes.Status404NotFound,
        RefusalKind.Conflict => StatusCodes.Status409Conflict,
        RefusalKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The name of a replay stage in JSON.</summary>
    public static string StageName(ReplayStage stage) => stage switch
    {
        ReplayStage.Starting => "starting",
        ReplayStage.Started => "started",
        ReplayStage.Rewound => "rewound",
        ReplayStage.Running => "running",
        ReplayStage.Finishing => "finishing",
        ReplayStage.Finished => "finished",
        ReplayStage.Failed => "failed",
        _ => stage.ToString().ToLowerInvariant(),
    };

    private static string Error(string message) => new JsonObject { ["error"] = message }.ToJsonString();

    /// <summary>A replay's status: what it is, where it stands, what its events did so far.</summary>
    private static JsonObject Replay(ReplayStatus s)
    {
        var span = s.TargetSeq >= s.FromSeq ? s.TargetSeq - s.FromSeq + 1 : 0;
        // From the consumer's ack floor between the first replayed event and the target.
        double progress = s.Stage == ReplayStage.Finished || span == 0 ? 1.0
            : s.Position is { } p && p >= s.FromSeq ? Math.Min(1.0, (p - s.FromSeq + 1) / (double)span)
            : 0.0;
        var json = new JsonObject
        {
            ["id"] = s.Id,
            ["tenant"] = s.Tenant,
            ["saga"] = s.Saga,
            ["mode"] = s.Mode,
            ["dryRun"] = s.DryRun,
            ["fromSeq"] = s.FromSeq,
            ["targetSeq"] = s.TargetSeq,
            ["stage"] = StageName(s.Stage),
            ["done"] = s.Stage is ReplayStage.Finished or ReplayStage.Failed,
            ["failed"] = s.Stage == ReplayStage.Failed,
            ["progress"] = Math.Round(progress, 4),
            ["position"] = s.Position,
            ["node"] = s.Node,
            ["startedAt"] = s.StartedAt,
            ["finishedAt"] = s.FinishedAt,
            ["instances"] = s.Instances,
            ["counts"] = Counts(s.Counts),
            ["detail"] = s.Detail,
        };
        if (s.Report is { } report) json["report"] = Report(report);
        return json;
    }

    private static JsonObject Counts(ReplayCounts c) => new()
    {
        ["events"] = c.Events,
        ["applied"] = c.Applied,
        ["duplicates"] = c.Duplicates,
        ["ignoredCompleted"] = c.IgnoredCompleted,
        ["deadLettered"] = c.DeadLettered,
        ["commands"] = c.Commands,
    };

    private static JsonObject Report(DryRunReport report)
    {
        JsonArray Events(IEnumerable<DryRunEvent> events) => [.. events.Select(e => (JsonNode)new JsonObject
        {
            ["streamSeq"] = e.StreamSeq,
            ["eventType"] = e.EventType,
            ["correlationId"] = e.CorrelationId,
            ["detail"] = e.Detail,
        })];

        return new JsonObject
        {
            ["instances"] = report.Instances,
            ["truncated"] = report.Truncated,
            ["commandsReEmitted"] = new JsonArray([.. report.Commands.Select(c => (JsonNode)new JsonObject
            {
                ["streamSeq"] = c.StreamSeq,
                ["eventType"] = c.EventType,
                ["correlationId"] = c.CorrelationId,
                ["commandType"] = c.CommandType,
                ["payload"] = Parse(c.Payload),
            })]),
            ["suppressedByDedupe"] = Events(report.Suppressed),
            ["ignoredCompleted"] = Events(report.Ignored),
            ["deadLettered"] = Events(report.DeadLettered),
            ["note"] = DryRunNote,
        };
    }

    /// <summary>JSON text as a node (as a string when it is not JSON).</summary>
    private static JsonNode? Parse(string json)
    {
        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return JsonValue.Create(json);
        }
    }

    /// <summary>The checkpoints of a tenant and its replays, newest first.</summary>
    private static JsonObject Replays(ReplayList list) => new()
    {
        ["tenant"] = list.Tenant,
        ["node"] = list.Node,
        ["checkpoints"] = new JsonObject([.. list.Checkpoints.Select(c => KeyValuePair.Create(c.Saga, (JsonNode?)JsonValue.Create(c.StreamSequence)))]),
        ["replays"] = new JsonArray([.. list.Replays.Select(r => (JsonNode)Replay(r))]),
    };

    private static JsonObject Page(SagaPage page) => new()
    {
        ["tenant"] = page.Tenant,
        ["saga"] = page.Saga,
        ["state"] = page.State,
        ["offset"] = page.Offset,
        ["limit"] = page.Limit,
        ["total"] = page.Total,
        ["more"] = page.More,
        ["instances"] = new JsonArray([.. page.Instances.Select(i => (JsonNode)Instance(i))]),
    };

    private static JsonObject Detail(SagaDetail detail)
    {
        var json = Instance(detail.Instance);
        json["historyTotal"] = detail.HistoryTotal;
        json["historyTruncated"] = detail.HistoryTotal > detail.History.Length;
        json["history"] = new JsonArray([.. detail.History.Select(e => (JsonNode)HistoryEntry(e))]);
        return json;
    }

    private static JsonObject Instance(SagaInstanceSummary v) => new()
    {
        ["saga"] = v.Saga,
        ["correlationId"] = v.CorrelationId,
        ["status"] = v.Status,
        ["completed"] = v.Completed,
        ["completedAt"] = v.CompletedAt,
        ["sequenceNr"] = v.SequenceNr,
        ["state"] = v.StateJson is null ? null : JsonNode.Parse(v.StateJson),
        ["outboxPending"] = Commands(v.OutboxPending),
        ["timers"] = TimerViews(v.Timers),
        ["dedupeMarkers"] = v.DedupeMarkers,
    };

    private static JsonArray Commands(IEnumerable<PendingCommand> commands) =>
        [.. commands.Select(o => (JsonNode)new JsonObject { ["msgId"] = o.MsgId, ["commandType"] = o.CommandType })];

    private static JsonArray TimerViews(IEnumerable<TimerView> timers) =>
        [.. timers.Select(t => (JsonNode)new JsonObject { ["name"] = t.Name, ["dueAt"] = t.DueAt, ["skipIfMissed"] = t.SkipIfMissed })];

    private static JsonArray Strings(IEnumerable<string> values) => [.. values.Select(v => (JsonNode)JsonValue.Create(v))];

    private static JsonObject HistoryEntry(SagaHistoryEntry entry)
    {
        var json = new JsonObject { ["sequenceNr"] = entry.SequenceNr };
        switch (entry)
        {
            case HistoryApplied a:
                json["kind"] = "applied";
                json["at"] = a.At;
                json["trigger"] = a.Trigger;
                json["dedupeKey"] = a.DedupeKey;
                json["streamSeq"] = a.StreamSeq;
                json["stateChanged"] = a.StateChanged;
                json["commands"] = Commands(a.Commands);
                json["scheduled"] = TimerViews(a.Scheduled);
                json["cancelled"] = Strings(a.Cancelled);
                json["completed"] = a.Completed;
                break;
            case HistoryDelivered d:
                json["kind"] = "delivered";
                json["msgIds"] = Strings(d.MsgIds);
                break;
            case HistoryOutboxOverdue o:
                json["kind"] = o.Pending ? "outbox_overdue" : "outbox_cleared";
                json["at"] = o.At;
                break;
            case HistoryReset r:
                json["kind"] = "reset";
                json["at"] = r.At;
                json["replayId"] = r.ReplayId;
                break;
            case HistoryDedupeForgotten f:
                json["kind"] = "dedupe_forgotten";
                json["at"] = f.At;
                json["replayId"] = f.ReplayId;
                break;
            case HistoryOther other:
                json["kind"] = other.Type;
                break;
        }

        return json;
    }

    private static JsonObject Timers(TimerList list) => new()
    {
        ["tenant"] = list.Tenant,
        ["pending"] = list.Pending,
        ["nextDue"] = list.NextDue,
        ["truncated"] = list.Truncated, // the first TimerList.Listed by due time are listed
        ["timers"] = new JsonArray([.. list.Timers.Select(t => (JsonNode)new JsonObject
        {
            ["saga"] = t.Saga,
            ["correlationId"] = t.CorrelationId,
            ["name"] = t.Name,
            ["dueAt"] = t.DueAt,
            ["skipIfMissed"] = t.SkipIfMissed,
        })]),
    };
}
