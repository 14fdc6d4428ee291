using System.Collections.Immutable;
using Microsoft.AspNetCore.Http;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// The admin endpoint's one rendering of the tenants' typed replies. The expected JSON below is what the actors rendered
/// themselves before the replies were typed (captured from that code with the same inputs): runnerctl and every script
/// read these shapes, byte for byte.
/// </summary>
public sealed class AdminRepliesSpec
{
    private static readonly DateTimeOffset At = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly ReplayRecord Rewound = new("acme.order.20260101T120000-00ab", "order", "full_reset", 10, 120, At, ReplayStage.Rewound, 4);

    private static readonly DryRunReport Report = new(new ReplayCounts(3, 1, 1, 0, 1, 2), 2,
        [new DryRunCommand(11, "OrderPlaced", "o-1", "ReserveStock", "{\"orderId\":\"o-1\",\"amount\":42.5}"), new DryRunCommand(12, "OrderPlaced", "o'2", "Odd", "not json <&>")],
        [new DryRunEvent(10, "OrderPlaced", "o-1", "id:m-1")], [], [new DryRunEvent(13, "Junk", null, "MalformedPayload: bad")], true);

    private static readonly ReplayRecord DryRun = new("acme.order.20260101T120000-00cd", "order", "checkpoint_only", 1, 13, At, ReplayStage.Finished, 2,
        At.AddMinutes(1), Report.Counts);

    private static readonly SagaInstanceSummary Awaiting = new("order", "o-1", "AwaitingPayment", false, null, 7,
        """{"status":"AwaitingPayment","orderId":"o-1","amount":42.5,"cancelReason":null}""",
        [new PendingCommand("acme:order:o-1:7:0", "ChargePayment")],
        [new TimerView("a", At.AddMinutes(15), false), new TimerView("b", At.AddMinutes(30), true)], 3);

    private static readonly SagaInstanceSummary Completed = Awaiting with { Completed = true, CompletedAt = At.AddHours(2), OutboxPending = [], Timers = [] };

    public static TheoryData<ITenantAdminReply, int, string> Replies() => new()
    {
        { ReplayStatus.Of("acme", "node-a", Rewound, counts: new ReplayCounts(50, 40, 5, 3, 2, 80), position: 59, detail: "resetting 4 instance(s)"), 200,
            """{"id":"acme.order.20260101T120000-00ab","tenant":"acme","saga":"order","mode":"full_reset","dryRun":false,"fromSeq":10,"targetSeq":120,"stage":"rewound","done":false,"failed":false,"progress":0.4505,"position":59,"node":"node-a","startedAt":"2026-01-01T12:00:00+00:00","finishedAt":null,"instances":4,"counts":{"events":50,"applied":40,"duplicates":5,"ignoredCompleted":3,"deadLettered":2,"commands":80},"detail":"resetting 4 instance(s)"}""" },
        { ReplayStatus.Of("acme", "node-a", Rewound with { Stage = ReplayStage.Started, TargetSeq = 9 }, counts: ReplayCounts.Zero), 200,
            """{"id":"acme.order.20260101T120000-00ab","tenant":"acme","saga":"order","mode":"full_reset","dryRun":false,"fromSeq":10,"targetSeq":9,"stage":"started","done":false,"failed":false,"progress":1,"position":null,"node":"node-a","startedAt":"2026-01-01T12:00:00+00:00","finishedAt":null,"instances":4,"counts":{"events":0,"applied":0,"duplicates":0,"ignoredCompleted":0,"deadLettered":0,"commands":0},"detail":null}""" },
        { ReplayStatus.Of("acme", "node-a", Rewound with { FromSeq = 10, TargetSeq = 5 }, counts: ReplayCounts.Zero, position: 3), 200,
            """{"id":"acme.order.20260101T120000-00ab","tenant":"acme","saga":"order","mode":"full_reset","dryRun":false,"fromSeq":10,"targetSeq":5,"stage":"rewound","done":false,"failed":false,"progress":1,"position":3,"node":"node-a","startedAt":"2026-01-01T12:00:00+00:00","finishedAt":null,"instances":4,"counts":{"events":0,"applied":0,"duplicates":0,"ignoredCompleted":0,"deadLettered":0,"commands":0},"detail":null}""" },
        { new ReplayAccepted(ReplayStatus.Of("acme", "node-a", DryRun, dryRun: true, position: 13, report: Report,
            detail: "the events stream starts at sequence 5: events before it are no longer there to replay")), 202,
            """{"id":"acme.order.20260101T120000-00cd","tenant":"acme","saga":"order","mode":"checkpoint_only","dryRun":true,"fromSeq":1,"targetSeq":13,"stage":"finished","done":true,"failed":false,"progress":1,"position":13,"node":"node-a","startedAt":"2026-01-01T12:00:00+00:00","finishedAt":"2026-01-01T12:01:00+00:00","instances":2,"counts":{"events":3,"applied":1,"duplicates":1,"ignoredCompleted":0,"deadLettered":1,"commands":2},"detail":"the events stream starts at sequence 5: events before it are no longer there to replay","report":{"instances":2,"truncated":true,"commandsReEmitted":[{"streamSeq":11,"eventType":"OrderPlaced","correlationId":"o-1","commandType":"ReserveStock","payload":{"orderId":"o-1","amount":42.5}},{"streamSeq":12,"eventType":"OrderPlaced","correlationId":"o\u00272","commandType":"Odd","payload":"not json \u003C\u0026\u003E"}],"suppressedByDedupe":[{"streamSeq":10,"eventType":"OrderPlaced","correlationId":"o-1","detail":"id:m-1"}],"ignoredCompleted":[],"deadLettered":[{"streamSeq":13,"eventType":"Junk","correlationId":null,"detail":"MalformedPayload: bad"}],"note":"a dry run applies the events\u0027 decisions only: timers do not fire on paper, and re-emitted commands get new Nats-Msg-Ids when run"}}""" },
        { ReplayStatus.Of("acme", "node-a", DryRun with { Stage = ReplayStage.Failed, Counts = null }, dryRun: true, detail: "reading the events failed: boom"), 200,
            """{"id":"acme.order.20260101T120000-00cd","tenant":"acme","saga":"order","mode":"checkpoint_only","dryRun":true,"fromSeq":1,"targetSeq":13,"stage":"failed","done":true,"failed":true,"progress":0,"position":null,"node":"node-a","startedAt":"2026-01-01T12:00:00+00:00","finishedAt":"2026-01-01T12:01:00+00:00","instances":2,"counts":{"events":0,"applied":0,"duplicates":0,"ignoredCompleted":0,"deadLettered":0,"commands":0},"detail":"reading the events failed: boom"}""" },
        { new ReplayList("acme", "node-a", [new SagaCheckpoint("order", 120), new SagaCheckpoint("payment", 7)],
            [ReplayStatus.Of("acme", "node-a", DryRun with { StartedAt = At.AddHours(1) }), ReplayStatus.Of("acme", "node-a", Rewound)]), 200,
            """{"tenant":"acme","node":"node-a","checkpoints":{"order":120,"payment":7},"replays":[{"id":"acme.order.20260101T120000-00cd","tenant":"acme","saga":"order","mode":"checkpoint_only","dryRun":false,"fromSeq":1,"targetSeq":13,"stage":"finished","done":true,"failed":false,"progress":1,"position":null,"node":"node-a","startedAt":"2026-01-01T13:00:00+00:00","finishedAt":"2026-01-01T12:01:00+00:00","instances":2,"counts":{"events":3,"applied":1,"duplicates":1,"ignoredCompleted":0,"deadLettered":1,"commands":2},"detail":null},{"id":"acme.order.20260101T120000-00ab","tenant":"acme","saga":"order","mode":"full_reset","dryRun":false,"fromSeq":10,"targetSeq":120,"stage":"rewound","done":false,"failed":false,"progress":0,"position":null,"node":"node-a","startedAt":"2026-01-01T12:00:00+00:00","finishedAt":null,"instances":4,"counts":{"events":0,"applied":0,"duplicates":0,"ignoredCompleted":0,"deadLettered":0,"commands":0},"detail":null}]}""" },
        { new ReplayList("acme", "node-a", [], []), 200, """{"tenant":"acme","node":"node-a","checkpoints":{},"replays":[]}""" },
        { AdminRefusal.Conflict("replay acme.order.1 of saga 'order' is still \"resetting\" <its> instances & more é"), 409,
            """{"error":"replay acme.order.1 of saga \u0027order\u0027 is still \u0022resetting\u0022 \u003Cits\u003E instances \u0026 more \u00E9"}""" },
        { new SagaPage("acme", null, "AwaitingPayment", 40, 20, null, true, [Awaiting, Completed]), 200,
            """{"tenant":"acme","saga":null,"state":"AwaitingPayment","offset":40,"limit":20,"total":null,"more":true,"instances":[{"saga":"order","correlationId":"o-1","status":"AwaitingPayment","completed":false,"completedAt":null,"sequenceNr":7,"state":{"status":"AwaitingPayment","orderId":"o-1","amount":42.5,"cancelReason":null},"outboxPending":[{"msgId":"acme:order:o-1:7:0","commandType":"ChargePayment"}],"timers":[{"name":"a","dueAt":"2026-01-01T12:15:00+00:00","skipIfMissed":false},{"name":"b","dueAt":"2026-01-01T12:30:00+00:00","skipIfMissed":true}],"dedupeMarkers":3},{"saga":"order","correlationId":"o-1","status":"AwaitingPayment","completed":true,"completedAt":"2026-01-01T14:00:00+00:00","sequenceNr":7,"state":{"status":"AwaitingPayment","orderId":"o-1","amount":42.5,"cancelReason":null},"outboxPending":[],"timers":[],"dedupeMarkers":3}]}""" },
        { new SagaDetail(Awaiting, 12,
            [
                new HistoryApplied(1, At, "OrderPlaced", "id:m-1", 42, true, [new PendingCommand("acme:order:o-1:1:0", "ReserveStock")],
                    [new TimerView("t1", At.AddMinutes(1), false), new TimerView("t2", At.AddMinutes(5), true)], ["old"], false),
                new HistoryApplied(2, At, "timer:t", "timer:t:1", null, false, [], [], [], true),
                new HistoryDelivered(3, ["a", "b"]),
                new HistoryOutboxOverdue(4, true, At),
                new HistoryOutboxOverdue(5, false, At),
                new HistoryReset(6, At, "acme.order.1"),
                new HistoryDedupeForgotten(7, At, "acme.order.2"),
                new HistoryOther(8, "CheckpointAdvanced"),
            ]), 200,
            """{"saga":"order","correlationId":"o-1","status":"AwaitingPayment","completed":false,"completedAt":null,"sequenceNr":7,"state":{"status":"AwaitingPayment","orderId":"o-1","amount":42.5,"cancelReason":null},"outboxPending":[{"msgId":"acme:order:o-1:7:0","commandType":"ChargePayment"}],"timers":[{"name":"a","dueAt":"2026-01-01T12:15:00+00:00","skipIfMissed":false},{"name":"b","dueAt":"2026-01-01T12:30:00+00:00","skipIfMissed":true}],"dedupeMarkers":3,"historyTotal":12,"historyTruncated":true,"history":[{"sequenceNr":1,"kind":"applied","at":"2026-01-01T12:00:00+00:00","trigger":"OrderPlaced","dedupeKey":"id:m-1","streamSeq":42,"stateChanged":true,"commands":[{"msgId":"acme:order:o-1:1:0","commandType":"ReserveStock"}],"scheduled":[{"name":"t1","dueAt":"2026-01-01T12:01:00+00:00","skipIfMissed":false},{"name":"t2","dueAt":"2026-01-01T12:05:00+00:00","skipIfMissed":true}],"cancelled":["old"],"completed":false},{"sequenceNr":2,"kind":"applied","at":"2026-01-01T12:00:00+00:00","trigger":"timer:t","dedupeKey":"timer:t:1","streamSeq":null,"stateChanged":false,"commands":[],"scheduled":[],"cancelled":[],"completed":true},{"sequenceNr":3,"kind":"delivered","msgIds":["a","b"]},{"sequenceNr":4,"kind":"outbox_overdue","at":"2026-01-01T12:00:00+00:00"},{"sequenceNr":5,"kind":"outbox_cleared","at":"2026-01-01T12:00:00+00:00"},{"sequenceNr":6,"kind":"reset","at":"2026-01-01T12:00:00+00:00","replayId":"acme.order.1"},{"sequenceNr":7,"kind":"dedupe_forgotten","at":"2026-01-01T12:00:00+00:00","replayId":"acme.order.2"},{"sequenceNr":8,"kind":"CheckpointAdvanced"}]}""" },
        { new TimerList("acme", 2, At.AddMinutes(15), false,
            [new TenantTimer("order", "o-1", "payment-timeout", At.AddMinutes(15), false), new TenantTimer("order", "o-2", "reminder", At.AddHours(1), true)]), 200,
            """{"tenant":"acme","pending":2,"nextDue":"2026-01-01T12:15:00+00:00","truncated":false,"timers":[{"saga":"order","correlationId":"o-1","name":"payment-timeout","dueAt":"2026-01-01T12:15:00+00:00","skipIfMissed":false},{"saga":"order","correlationId":"o-2","name":"reminder","dueAt":"2026-01-01T13:00:00+00:00","skipIfMissed":true}]}""" },
        { new TimerList("acme", 0, null, false, []), 200, """{"tenant":"acme","pending":0,"nextDue":null,"truncated":false,"timers":[]}""" },
    };

    [Theory]
    [MemberData(nameof(Replies))]
    public void AdminReplies_should_render_each_reply_as_the_endpoint_always_has(ITenantAdminReply reply, int status, string json)
    {
        var rendered = AdminReplies.Render(reply);
        Assert.Equal(json, rendered.Json);
        Assert.Equal(status, rendered.Status);
    }

    [Theory]
    [InlineData(RefusalKind.Invalid, StatusCodes.Status400BadRequest)]
    [InlineData(RefusalKind.NotFound, StatusCodes.Status404NotFound)]
    [InlineData(RefusalKind.Conflict, StatusCodes.Status409Conflict)]
    [InlineData(RefusalKind.Unavailable, StatusCodes.Status503ServiceUnavailable)]
    [InlineData(RefusalKind.Failed, StatusCodes.Status500InternalServerError)]
    public void AdminReplies_should_map_each_refusal_kind_to_its_status_code(RefusalKind kind, int status)
    {
        var (code, json) = AdminReplies.Render(new AdminRefusal(kind, "why"));
        Assert.Equal(status, code);
        Assert.Equal("""{"error":"why"}""", json);
    }

    [Fact]
    public void AdminReplies_should_name_every_replay_stage_as_the_endpoint_did_when_it_was_a_string()
    {
        Assert.Equal(["starting", "started", "rewound", "running", "finishing", "finished", "failed"], Enum.GetValues<ReplayStage>().Select(AdminReplies.StageName));
    }
}
