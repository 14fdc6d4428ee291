using System.Text.Json;
using System.Text.Json.Nodes;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;

namespace Runner.Actors.Replay;

/// <summary>How replays look on the admin endpoint (rendered on the node that runs the tenant).</summary>
internal static class ReplayJson
{
    public static AdminReply Error(int status, string message) => new(status, new JsonObject { ["error"] = message }.ToJsonString());

    /// <summary>A replay's status: what it is, where it stands, what its events did so far.</summary>
    public static JsonObject Status(string tenant, string node, ReplayRecord r, bool dryRun, ReplayCounts counts, ulong? position, string? detail,
        DryRunReport? report = null)
    {
        var done = r.Stage is "finished" or "failed";
        var span = r.TargetSeq >= r.FromSeq ? r.TargetSeq - r.FromSeq + 1 : 0;
        double progress = r.Stage == "finished" || span == 0 ? 1.0
            : position is { } p && p >= r.FromSeq ? Math.Min(1.0, (p - r.FromSeq + 1) / (double)span)
            : 0.0;
        var json = new JsonObject
        {
            ["id"] = r.Id,
            ["tenant"] = tenant,
            ["saga"] = r.Saga,
            ["mode"] = r.Mode,
            ["dryRun"] = dryRun,
            ["fromSeq"] = r.FromSeq,
            ["targetSeq"] = r.TargetSeq,
            ["stage"] = r.Stage,
            ["done"] = done,
            ["failed"] = r.Stage == "failed",
            ["progress"] = Math.Round(progress, 4),
            ["position"] = position,
            ["node"] = node,
            ["startedAt"] = r.StartedAt,
            ["finishedAt"] = r.FinishedAt,
            ["instances"] = r.Instances,
            ["counts"] = Counts(counts),
            ["detail"] = detail,
        };
        if (report is not null) json["report"] = Report(report);
        return json;
    }

    public static JsonObject Counts(ReplayCounts c) => new()
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
            ["note"] = "a dry run applies the events' decisions only: timers do not fire on paper, and re-emitted commands get new Nats-Msg-Ids when run",
        };
    }

    /// <summary>JSON text as a node (as a string when it is not JSON).</summary>
    public static JsonNode? Parse(string json)
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

    /// <summary>The checkpoints of a tenant and its replays from its checkpoint journal, newest first.</summary>
    public static AdminReply List(string tenant, string node, IEnumerable<ReplayRecord> records, IReadOnlyDictionary<string, ulong> checkpoints) =>
        new(200, new JsonObject
        {
            ["tenant"] = tenant,
            ["node"] = node,
            ["checkpoints"] = new JsonObject([.. checkpoints.OrderBy(c => c.Key, StringComparer.Ordinal)
                .Select(c => KeyValuePair.Create(c.Key, (JsonNode?)JsonValue.Create(c.Value)))]),
            ["replays"] = new JsonArray([.. records.OrderByDescending(r => r.StartedAt)
                .Select(r => (JsonNode)Status(tenant, node, r, false, r.Counts ?? ReplayCounts.Zero, null, null))]),
        }.ToJsonString());
}
