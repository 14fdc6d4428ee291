using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Runner.TestKit;
using Xunit;

namespace Runner.Nats.Tests;

/// <summary>Listing, showing, redriving and purging parked events against a real nats-server.</summary>
public sealed class DeadLettersSpec(NatsServerFixture server) : IClassFixture<NatsServerFixture>
{
    private static readonly Func<string, bool> EverySaga = _ => true;

    private async Task<NatsEdge> StartEdgeAsync(TimeSpan? duplicateWindow = null)
    {
        var name = NatsServerFixture.UniqueName("dlq");
        var edge = new NatsEdge(new NatsSettings
        {
            Url = server.Url,
            Subjects = new Subjects(name),
            EventsStream = name.ToUpperInvariant() + "_EVENTS",
            CommandsStream = name.ToUpperInvariant() + "_COMMANDS",
            DeadLetterStream = name.ToUpperInvariant() + "_DLQ",
            FileStorage = false,
            DuplicateWindow = duplicateWindow ?? TimeSpan.FromMinutes(10),
            NodeId = "node-a",
        });
        await edge.StartAsync();
        return edge;
    }

    /// <summary>Publishes an event as a producer would and parks it as the runtime does; returns its events stream sequence.</summary>
    private static async Task<ulong> ParkAsync(NatsEdge edge, string tenant, string saga, string kind, string type, string json, string msgId)
    {
        var subject = edge.Settings.Subjects.Event(tenant, type);
        var headers = new NatsHeaders { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", ["Nats-Msg-Id"] = msgId };
        var ack = await edge.JetStream.PublishAsync(subject, Encoding.UTF8.GetBytes(json), headers: headers);
        ack.EnsureSuccess();
        await edge.PublishDeadLetterAsync(tenant, saga, kind, $"{kind} of {msgId}", subject, ack.Seq, Encoding.UTF8.GetBytes(json), headers,
            CancellationToken.None);
        return ack.Seq;
    }

    private static async Task<List<INatsJSMsg<byte[]>>> EventsAsync(NatsEdge edge, string subject)
    {
        var consumer = await edge.JetStream.CreateOrUpdateConsumerAsync(edge.Settings.EventsStream, new ConsumerConfig(NatsServerFixture.UniqueName("read"))
        {
            FilterSubject = subject,
            AckPolicy = ConsumerConfigAckPolicy.None,
            InactiveThreshold = TimeSpan.FromMinutes(1),
        });
        var list = new List<INatsJSMsg<byte[]>>();
        await foreach (var m in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1000 })) list.Add(m);
        return list;
    }

    [Fact]
    public async Task ListAsync_should_filter_by_tenant_saga_kind_and_range_and_page_with_next()
    {
        await using var edge = await StartEdgeAsync();
        await ParkAsync(edge, "acme", "order", "MalformedPayload", "OrderPlaced", """{"orderId":"o-1"}""", "e1");      // dlq 1
        await ParkAsync(edge, "acme", "order", "UnexpectedEvent", "StockReserved", """{"orderId":"o-2"}""", "e2");    // dlq 2
        await ParkAsync(edge, "beta", "order", "UnexpectedEvent", "StockReserved", """{"orderId":"o-3"}""", "e3");    // dlq 3
        await ParkAsync(edge, "acme", "_unrouted", "UnknownEventType", "Mystery", """{"x":1}""", "e4");             // dlq 4
        await ParkAsync(edge, "acme", "payment", "HandlerFailed", "OrderPlaced", """{"orderId":"o-5"}""", "e5");      // dlq 5
        var dlq = edge.DeadLetters;

        static string Seqs(DeadLetterPage p) => string.Join(",", p.Items.Select(l => l.Sequence));
        Assert.Equal("1,2,3,4,5", Seqs(await dlq.ListAsync(new DeadLetterFilter(), 50, default)));
        Assert.Equal("1,2,4,5", Seqs(await dlq.ListAsync(new DeadLetterFilter { Tenant = "acme" }, 50, default)));
        Assert.Equal("1,2,3", Seqs(await dlq.ListAsync(new DeadLetterFilter { Saga = "order" }, 50, default)));
        Assert.Equal("2,3", Seqs(await dlq.ListAsync(new DeadLetterFilter { Kind = "unexpectedevent" }, 50, default)));
        Assert.Equal("2", Seqs(await dlq.ListAsync(new DeadLetterFilter { Tenant = "acme", Saga = "order", Kind = "UnexpectedEvent" }, 50, default)));
        Assert.Equal("2,4", Seqs(await dlq.ListAsync(new DeadLetterFilter { Tenant = "acme", FromSeq = 2, ToSeq = 4 }, 50, default)));

        var first = await dlq.ListAsync(new DeadLetterFilter { Tenant = "acme" }, 2, default);
        Assert.Equal(("1,2", 4UL, 5UL), (Seqs(first), first.Next!.Value, first.ToSeq));
        var second = await dlq.ListAsync(new DeadLetterFilter { Tenant = "acme", FromSeq = first.Next!.Value, ToSeq = first.ToSeq }, 2, default);
        Assert.Equal("4,5", Seqs(second));
        Assert.Null(second.Next);
        Assert.Empty((await dlq.ListAsync(new DeadLetterFilter { FromSeq = 6 }, 50, default)).Items);
        Assert.Throws<ArgumentException>(() => new DeadLetterFilter { FromSeq = 5, ToSeq = 4 }.Validate());
        Assert.Throws<ArgumentException>(() => new DeadLetterFilter { Tenant = "a.*" }.Validate());

        var shown = await dlq.GetAsync(2, default);
        Assert.NotNull(shown);
        Assert.Equal(("acme", "order", "UnexpectedEvent", "UnexpectedEvent of e2"), (shown.Tenant, shown.Saga, shown.Kind, shown.Reason));
        Assert.Equal((edge.Settings.Subjects.Event("acme", "StockReserved"), 2UL, "e2"), (shown.OriginSubject, shown.OriginSequence!.Value, shown.OriginMsgId));
        Assert.Equal("""{"orderId":"o-2"}""", Encoding.UTF8.GetString(shown.Payload.Span));
        Assert.Equal("node-a", shown.Header("Runner-Node"));
        Assert.Equal(["traceparent"], shown.OriginHeaders.Keys);
        Assert.Null(await dlq.GetAsync(99, default));
    }

    [Fact]
    public async Task RedriveAsync_should_send_the_event_back_to_its_origin_subject_once_and_remove_it_and_a_dry_run_should_change_nothing()
    {
        await using var edge = await StartEdgeAsync();
        var origin = await ParkAsync(edge, "acme", "order", "UnexpectedEvent", "StockReserved", """{"orderId":"o-2"}""", "e2");
        await edge.PublishDeadLetterAsync("_invalid", "intake", "InvalidTenant", "bad tenant", $"{edge.Settings.Subjects.Prefix}.evt.Bad.X", 9, [1], null,
            CancellationToken.None);
        var subject = edge.Settings.Subjects.Event("acme", "StockReserved");

        var dry = await edge.DeadLetters.RedriveAsync(new DeadLetterFilter(), dryRun: true, 100, EverySaga, default);
        Assert.Equal([RedriveOutcome.WouldSend, RedriveOutcome.Skipped], dry.Items.Select(r => r.Outcome));
        var would = dry.Items[0];
        Assert.Equal(subject, would.Subject);
        Assert.Equal($"redrive:acme:order:1:{origin}", would.Headers["Nats-Msg-Id"].Single());
        Assert.Equal("order", would.Headers[RunnerHeaders.RedriveSaga].Single());
        Assert.Equal("1", would.Headers[RunnerHeaders.RedrivenFrom].Single());
        Assert.True(would.Headers.ContainsKey("traceparent"));
        Assert.DoesNotContain(would.Headers.Keys, k => k.StartsWith("Runner-Dlq", StringComparison.Ordinal) || k.StartsWith("Runner-Origin", StringComparison.Ordinal));
        Assert.Contains("tenant token is invalid", dry.Items[1].Detail, StringComparison.Ordinal);
        Assert.Single(await EventsAsync(edge, subject));
        Assert.Equal(2, (await edge.DeadLetters.ListAsync(new DeadLetterFilter(), 50, default)).Items.Length);

        var done = await edge.DeadLetters.RedriveAsync(new DeadLetterFilter { Tenant = "acme" }, dryRun: false, 100, EverySaga, default);
        var sent = Assert.Single(done.Items);
        Assert.Equal(RedriveOutcome.Sent, sent.Outcome);
        var events = await EventsAsync(edge, subject);
        Assert.Equal(2, events.Count);
        var copy = events[1];
        Assert.Equal(sent.EventSequence, copy.Metadata!.Value.Sequence.Stream);
        Assert.Equal("""{"orderId":"o-2"}""", Encoding.UTF8.GetString(copy.Data!));
        Assert.Equal($"redrive:acme:order:1:{origin}", copy.Headers!["Nats-Msg-Id"].ToString());
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", copy.Headers!["traceparent"].ToString());
        Assert.False(copy.Headers!.ContainsKey(RunnerHeaders.DeadLetterKind));
        Assert.Null(await edge.DeadLetters.GetAsync(1, default));
        Assert.NotNull(await edge.DeadLetters.GetAsync(2, default));

        // A saga that no longer runs: nothing would apply it, so it stays parked.
        await ParkAsync(edge, "acme", "retired", "HandlerFailed", "OrderPlaced", """{"orderId":"o-9"}""", "e9");
        var retired = await edge.DeadLetters.RedriveAsync(new DeadLetterFilter { Saga = "retired" }, dryRun: false, 100, s => s != "retired", default);
        Assert.Equal(RedriveOutcome.Skipped, Assert.Single(retired.Items).Outcome);
    }

    [Fact]
    public async Task A_redrive_repeated_after_a_crash_between_publish_and_delete_should_not_publish_again_inside_the_duplicate_window()
    {
        await using var edge = await StartEdgeAsync();
        await ParkAsync(edge, "acme", "order", "UnexpectedEvent", "StockReserved", """{"orderId":"o-2"}""", "e2");
        var subject = edge.Settings.Subjects.Event("acme", "StockReserved");
        var crashing = new DeadLetters(edge.JetStream, edge.Settings) { AfterPublish = _ => throw new InvalidOperationException("crash after publish") };

        await Assert.ThrowsAsync<InvalidOperationException>(() => crashing.RedriveAsync(new DeadLetterFilter(), false, 100, EverySaga, default));
        Assert.NotNull(await edge.DeadLetters.GetAsync(1, default));
        Assert.Equal(2, (await EventsAsync(edge, subject)).Count);

        var again = Assert.Single((await edge.DeadLetters.RedriveAsync(new DeadLetterFilter(), false, 100, EverySaga, default)).Items);
        Assert.Equal(RedriveOutcome.AlreadySent, again.Outcome);
        Assert.Contains("duplicate window", again.Detail, StringComparison.Ordinal);
        Assert.Equal(2, (await EventsAsync(edge, subject)).Count);
        Assert.Null(await edge.DeadLetters.GetAsync(1, default));
    }

    [Fact]
    public async Task A_redrive_repeated_after_the_duplicate_window_should_find_the_earlier_copy_in_the_events_stream()
    {
        await using var edge = await StartEdgeAsync(TimeSpan.FromSeconds(1));
        await ParkAsync(edge, "acme", "order", "UnexpectedEvent", "StockReserved", """{"orderId":"o-2"}""", "e2");
        // Other traffic on the same subject after it, and a second parked event whose redrive must still go out.
        await ParkAsync(edge, "acme", "order", "UnexpectedEvent", "StockReserved", """{"orderId":"o-3"}""", "e3");
        var subject = edge.Settings.Subjects.Event("acme", "StockReserved");
        var crashing = new DeadLetters(edge.JetStream, edge.Settings) { AfterPublish = _ => throw new InvalidOperationException("crash after publish") };
        await Assert.ThrowsAsync<InvalidOperationException>(() => crashing.RedriveAsync(new DeadLetterFilter { ToSeq = 1 }, false, 100, EverySaga, default));
        Assert.Equal(3, (await EventsAsync(edge, subject)).Count);

        // Wait (on a condition, not a clock) until JetStream has forgotten a message id published now: the window has passed for the copy too.
        var probe = edge.Settings.Subjects.Event("probe", "Probe");
        (await edge.JetStream.PublishAsync(probe, new byte[] { 1 }, opts: new NatsJSPubOpts { MsgId = "probe" })).EnsureSuccess();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await edge.JetStream.PublishAsync(probe, new byte[] { 1 }, opts: new NatsJSPubOpts { MsgId = "probe" })).Duplicate)
        {
            Assert.True(DateTime.UtcNow < deadline, "JetStream never forgot the probe's message id");
            await Task.Delay(100); // polling JetStream for the condition
        }

        var again = await edge.DeadLetters.RedriveAsync(new DeadLetterFilter(), false, 100, EverySaga, default);
        Assert.Equal([RedriveOutcome.AlreadySent, RedriveOutcome.Sent], again.Items.Select(r => r.Outcome));
        Assert.Equal("found in the events stream", again.Items[0].Detail);
        var events = await EventsAsync(edge, subject);
        Assert.Equal(4, events.Count);
        Assert.Single(events, e => e.Headers!["Nats-Msg-Id"].ToString() == again.Items[0].Letter.RedriveMsgId);
        Assert.Equal(again.Items[0].EventSequence, events[2].Metadata!.Value.Sequence.Stream);
        Assert.Empty((await edge.DeadLetters.ListAsync(new DeadLetterFilter(), 50, default)).Items);
    }

    [Fact]
    public async Task PurgeAsync_should_delete_only_the_matching_events_and_a_dry_run_none()
    {
        await using var edge = await StartEdgeAsync();
        await ParkAsync(edge, "acme", "order", "MalformedPayload", "OrderPlaced", """{"orderId":"o-1"}""", "e1");
        await ParkAsync(edge, "acme", "order", "UnexpectedEvent", "StockReserved", """{"orderId":"o-2"}""", "e2");
        await ParkAsync(edge, "beta", "order", "MalformedPayload", "OrderPlaced", """{"orderId":"o-3"}""", "e3");

        var dry = await edge.DeadLetters.PurgeAsync(new DeadLetterFilter { Kind = "MalformedPayload" }, dryRun: true, 100, default);
        Assert.Equal([1UL, 3], dry.Items.Select(l => l.Sequence));
        Assert.Equal(3, (await edge.DeadLetters.ListAsync(new DeadLetterFilter(), 50, default)).Items.Length);

        var purged = await edge.DeadLetters.PurgeAsync(new DeadLetterFilter { Kind = "MalformedPayload", Tenant = "acme" }, dryRun: false, 100, default);
        Assert.Equal([1UL], purged.Items.Select(l => l.Sequence));
        Assert.Equal([2UL, 3], (await edge.DeadLetters.ListAsync(new DeadLetterFilter(), 50, default)).Items.Select(l => l.Sequence));
    }
}
