using System.Text.Json;
using Runner.Sagas;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

public sealed record Counted(string Key, int N);

public sealed record Tallied(string Key, int Total, int Count);

public sealed record TallyState(string? Key = null, int Total = 0, int Count = 0);

/// <summary>
/// A saga that is not idempotent on purpose: every event adds to a running total and emits a command, and its first event
/// schedules a reminder. Re-applying an event therefore shows in the state, the commands and the timers.
/// </summary>
public sealed class TallySaga : Saga<TallyState>
{
    public TallySaga() : base("tally")
    {
        On<Counted>((e, _) => e.Key, (s, e, ctx) =>
        {
            var next = s with { Key = e.Key, Total = s.Total + e.N, Count = s.Count + 1 };
            var decision = ctx.Transition(next).Send(new Tallied(e.Key, next.Total, next.Count));
            return s.Count == 0 ? decision.Schedule("reminder", TimeSpan.FromHours(1)) : decision;
        });
        OnTimer("reminder", (_, ctx) => ctx.Stay());
    }

    protected override TallyState Initial() => new();
}

/// <summary>
/// Replay of one (tenant, saga) on a real node against a real nats-server, per mode: its exact effect on the saga's
/// state, dedupe markers, checkpoint, outbox and timers, and the commands it re-emits; a dry run changes nothing and
/// predicts what the real run does; a replay interrupted after its start was recorded resumes when the tenant starts again.
/// </summary>
public sealed class ReplaySpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private const string Tenant = "acme";

    private static string Count(int n) => $$"""{"key":"k1","n":{{n}}}""";

    private static async Task<Scenario> NodeWithTallies(NatsServerFixture nats, params int[] counts)
    {
        var s = new Scenario(nats, "runner.samples.order.payment-timeout = 1h");
        await s.StartNodeAsync(new TallySaga());
        for (var i = 0; i < counts.Length; i++) await s.PublishAsync(Tenant, "Counted", Count(counts[i]), $"count-{i + 1}");
        await s.CommandsAsync(Tenant, c => c.Count(x => x.CommandType == "Tallied") >= counts.Length, TimeSpan.FromSeconds(60));
        return s;
    }

    private static async Task<List<ReadCommand>> SettledCommands(Scenario s, int expected)
    {
        var commands = await s.CommandsAsync(Tenant, c => c.Count >= expected, TimeSpan.FromSeconds(60));
        // Nothing more arrives than expected.
        return await s.CommandsAsync(Tenant, c => c.Count > expected, TimeSpan.FromSeconds(1));
    }

    private static int Total(JsonElement saga) => saga.GetProperty("state").GetProperty("total").GetInt32();

    private static DateTimeOffset Reminder(JsonElement saga) =>
        saga.GetProperty("timers").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "reminder").GetProperty("dueAt").GetDateTimeOffset();

    private static async Task<ulong> LastSeq(Scenario s) => (await s.Js.GetStreamAsync(s.EventsStream)).Info.State.LastSeq;

    private static async Task<JsonElement> CheckpointReaches(AdminClient admin, string saga, ulong seq) =>
        await admin.UntilAsync($"/admin/tenants/{Tenant}/replays",
            b => b.GetProperty("checkpoints").TryGetProperty(saga, out var c) && c.GetUInt64() == seq, TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Checkpoint_only_should_rewind_the_position_and_let_dedupe_markers_skip_every_applied_event()
    {
        await using var s = await NodeWithTallies(nats, 1, 2, 3);
        using var admin = new AdminClient(s.AdminPort);
        var last = await LastSeq(s);
        await CheckpointReaches(admin, "tally", last);
        var before = await admin.SagaAsync(Tenant, "tally", "k1");

        var id = await admin.StartReplayAsync(Tenant, "tally", "checkpoint_only");
        Assert.StartsWith("acme.tally.", id, StringComparison.Ordinal);
        var done = await admin.WaitReplayAsync(id);

        var counts = done.GetProperty("counts");
        Assert.Equal((3, 3, 0, 0), (counts.GetProperty("events").GetInt32(), counts.GetProperty("duplicates").GetInt32(), counts.GetProperty("applied").GetInt32(),
            counts.GetProperty("commands").GetInt32()));
        Assert.Equal(1.0, done.GetProperty("progress").GetDouble());
        var after = await admin.SagaAsync(Tenant, "tally", "k1");
        Assert.Equal(6, Total(after));
        Assert.Equal(before.GetProperty("sequenceNr").GetInt64(), after.GetProperty("sequenceNr").GetInt64()); // nothing written
        Assert.Equal(3, after.GetProperty("dedupeMarkers").GetInt32());
        Assert.Equal(Reminder(before), Reminder(after));
        Assert.Empty(after.GetProperty("outboxPending").EnumerateArray());
        Assert.Equal(3, (await SettledCommands(s, 3)).Count); // nothing re-emitted
        // The checkpoint went back to 0 with the rewind and is back at the end of the stream.
        await CheckpointReaches(admin, "tally", last);
        var replays = await admin.OkAsync($"/admin/tenants/{Tenant}/replays");
        var record = Assert.Single(replays.GetProperty("replays").EnumerateArray());
        Assert.Equal(("finished", "checkpoint_only"), (record.GetProperty("stage").GetString(), record.GetProperty("mode").GetString()));
    }

    [Fact]
    public async Task Checkpoint_and_dedupe_should_re_apply_the_events_onto_the_current_state_and_re_emit_their_commands_with_new_ids()
    {
        await using var s = await NodeWithTallies(nats, 1, 2, 3);
        using var admin = new AdminClient(s.AdminPort);
        await s.PublishAsync(Tenant, "OrderPlaced", """{"orderId":"o-1","amount":5}""", "order-1");
        await s.CommandsAsync(Tenant, c => c.Count >= 4, TimeSpan.FromSeconds(60));
        var order = await admin.SagaAsync(Tenant, "order", "o-1");
        var before = await admin.SagaAsync(Tenant, "tally", "k1");

        var done = await admin.WaitReplayAsync(await admin.StartReplayAsync(Tenant, "tally", "checkpoint_and_dedupe"));

        var counts = done.GetProperty("counts");
        Assert.Equal((3, 0, 3, 3), (counts.GetProperty("events").GetInt32(), counts.GetProperty("duplicates").GetInt32(), counts.GetProperty("applied").GetInt32(),
            counts.GetProperty("commands").GetInt32()));
        Assert.Equal(1, done.GetProperty("instances").GetInt32());
        var after = await admin.SagaAsync(Tenant, "tally", "k1");
        Assert.Equal((12, 6), (Total(after), after.GetProperty("state").GetProperty("count").GetInt32())); // 6 + 1 + 2 + 3
        Assert.Equal(3, after.GetProperty("dedupeMarkers").GetInt32()); // forgotten, then the three re-applied events
        Assert.Equal(Reminder(before), Reminder(after)); // the current state's timer stays: count was not 0
        Assert.Empty(after.GetProperty("outboxPending").EnumerateArray());
        var history = after.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Contains("dedupe_forgotten", history);

        var commands = await SettledCommands(s, 7);
        var tallies = commands.Where(c => c.CommandType == "Tallied").ToList();
        Assert.Equal(6, tallies.Count);
        Assert.Equal(6, tallies.Select(c => c.MsgId).Distinct().Count());
        Assert.Equal([1, 3, 6, 7, 9, 12], tallies.Select(c => JsonDocument.Parse(c.Json).RootElement.GetProperty("total").GetInt32()));

        // The order saga was not touched: same instance, same journal.
        Assert.Equal(order.GetProperty("sequenceNr").GetInt64(), (await admin.SagaAsync(Tenant, "order", "o-1")).GetProperty("sequenceNr").GetInt64());
    }

    [Fact]
    public async Task Full_reset_from_a_sequence_should_delete_state_outbox_and_timers_and_rebuild_from_that_event_on()
    {
        await using var s = await NodeWithTallies(nats, 1, 2, 3);
        using var admin = new AdminClient(s.AdminPort);
        await s.PublishAsync(Tenant, "OrderPlaced", """{"orderId":"o-2","amount":5}""", "order-2");
        await s.CommandsAsync(Tenant, c => c.Count >= 4, TimeSpan.FromSeconds(60));
        await s.PublishAsync(Tenant, "StockReserved", """{"orderId":"o-2"}""", "order-2-stock");
        await s.CommandsAsync(Tenant, c => c.Count >= 5, TimeSpan.FromSeconds(60));
        var before = await admin.SagaAsync(Tenant, "tally", "k1");
        var timers = await admin.OkAsync($"/admin/tenants/{Tenant}/timers");
        Assert.Equal(2, timers.GetProperty("pending").GetInt32()); // the reminder and the payment timeout

        // Tally from its second event (stream sequence 2): 2 + 3 rebuilt, the first event is not replayed.
        var tally = await admin.WaitReplayAsync(await admin.StartReplayAsync(Tenant, "tally", "full_reset", fromSeq: 2));
        Assert.Equal(2, tally.GetProperty("counts").GetProperty("applied").GetInt32());
        var after = await admin.SagaAsync(Tenant, "tally", "k1");
        Assert.Equal((5, 2), (Total(after), after.GetProperty("state").GetProperty("count").GetInt32()));
        Assert.True(Reminder(after) > Reminder(before)); // deleted, then scheduled again by the first rebuilt event
        Assert.Equal(2, after.GetProperty("dedupeMarkers").GetInt32());
        var history = after.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal("reset", history[0].GetProperty("kind").GetString()); // the old journal is gone
        Assert.True(history[0].GetProperty("sequenceNr").GetInt64() > before.GetProperty("sequenceNr").GetInt64()); // numbering goes on

        // Order from StockReserved only: the rebuilt instance is New again (StockReserved alone changes nothing) and its timer is gone.
        var orderSeq = await LastSeq(s);
        await admin.WaitReplayAsync(await admin.StartReplayAsync(Tenant, "order", "full_reset", fromSeq: orderSeq));
        var order = await admin.SagaAsync(Tenant, "order", "o-2");
        Assert.Equal("New", order.GetProperty("status").GetString());
        Assert.Empty(order.GetProperty("timers").EnumerateArray());
        Assert.Empty(order.GetProperty("outboxPending").EnumerateArray());
        var index = await admin.UntilAsync($"/admin/tenants/{Tenant}/timers", b => b.GetProperty("pending").GetInt32() == 1);
        Assert.Equal("reminder", Assert.Single(index.GetProperty("timers").EnumerateArray()).GetProperty("name").GetString());

        var commands = await SettledCommands(s, 7);
        var tallies = commands.Where(c => c.CommandType == "Tallied").Select(c => JsonDocument.Parse(c.Json).RootElement.GetProperty("total").GetInt32());
        Assert.Equal([1, 3, 6, 2, 5], tallies);
        Assert.Equal(commands.Count, commands.Select(c => c.MsgId).Distinct().Count());
        await CheckpointReaches(admin, "order", orderSeq);
    }

    [Fact]
    public async Task A_dry_run_should_change_nothing_and_predict_what_each_mode_re_emits_and_suppresses()
    {
        await using var s = await NodeWithTallies(nats, 1, 2, 3);
        using var admin = new AdminClient(s.AdminPort);
        var last = await LastSeq(s);
        await CheckpointReaches(admin, "tally", last);
        var before = await admin.SagaAsync(Tenant, "tally", "k1");

        async Task<JsonElement> DryRun(string mode) => await admin.WaitReplayAsync(await admin.StartReplayAsync(Tenant, "tally", mode, dryRun: true));
        static int[] Totals(JsonElement run) => [.. run.GetProperty("report").GetProperty("commandsReEmitted").EnumerateArray()
            .Select(c => c.GetProperty("payload").GetProperty("total").GetInt32())];

        var only = await DryRun("checkpoint_only");
        Assert.True(only.GetProperty("dryRun").GetBoolean());
        Assert.Empty(Totals(only));
        Assert.Equal(["count-1", "count-2", "count-3"], only.GetProperty("report").GetProperty("suppressedByDedupe").EnumerateArray()
            .Select(e => e.GetProperty("detail").GetString()!.Replace("id:", "", StringComparison.Ordinal)));
        var dedupe = Totals(await DryRun("checkpoint_and_dedupe"));
        Assert.Equal([7, 9, 12], dedupe);
        var reset = Totals(await DryRun("full_reset"));
        Assert.Equal([1, 3, 6], reset);

        // Nothing changed: state, journal, dedupe, timers, checkpoint, commands; no replay recorded.
        var after = await admin.SagaAsync(Tenant, "tally", "k1");
        Assert.Equal(before.GetProperty("state").GetRawText(), after.GetProperty("state").GetRawText());
        Assert.Equal(before.GetProperty("sequenceNr").GetInt64(), after.GetProperty("sequenceNr").GetInt64());
        Assert.Equal(before.GetProperty("timers").GetRawText(), after.GetProperty("timers").GetRawText());
        Assert.Equal(3, after.GetProperty("dedupeMarkers").GetInt32());
        Assert.Equal(3, (await SettledCommands(s, 3)).Count);
        var state = await CheckpointReaches(admin, "tally", last);
        Assert.Empty(state.GetProperty("replays").EnumerateArray());
        var consumer = await s.Js.GetConsumerAsync(s.EventsStream, Runner.Nats.NatsEdge.ConsumerName(Tenant, "tally"));
        Assert.Equal(last, consumer.Info.AckFloor.StreamSeq);

        // The real run does what the dry run said.
        var real = await admin.WaitReplayAsync(await admin.StartReplayAsync(Tenant, "tally", "checkpoint_and_dedupe"));
        Assert.Equal(3, real.GetProperty("counts").GetProperty("commands").GetInt32());
        var emitted = (await SettledCommands(s, 6)).Skip(3).Select(c => JsonDocument.Parse(c.Json).RootElement.GetProperty("total").GetInt32());
        Assert.Equal([7, 9, 12], emitted);
    }

    [Fact]
    public async Task A_replay_interrupted_after_its_start_was_recorded_should_resume_when_the_tenant_starts_again()
    {
        await using var s = await NodeWithTallies(nats, 1, 2, 3);
        using (var admin = new AdminClient(s.AdminPort)) await CheckpointReaches(admin, "tally", await LastSeq(s));
        await s.StopNodeAsync();

        // The node died right after recording the start of a full_reset from sequence 2: nothing else of it happened.
        const string Id = "acme.tally.20260101T000000-beef";
        await AppendAsync(s.Data.Path, $"checkpoint|{Tenant}",
            new Runner.Actors.Serialization.ReplayStarted(Id, "tally", "full_reset", 2, 3, DateTimeOffset.UtcNow));

        await s.StartNodeAsync(new TallySaga());
        using var again = new AdminClient(s.AdminPort);
        var done = await again.WaitReplayAsync(Id);
        Assert.Equal(("finished", 1), (done.GetProperty("stage").GetString(), done.GetProperty("instances").GetInt32()));
        var after = await again.SagaAsync(Tenant, "tally", "k1");
        Assert.Equal((5, 2), (Total(after), after.GetProperty("state").GetProperty("count").GetInt32()));
        var tallies = (await SettledCommands(s, 5)).Select(c => JsonDocument.Parse(c.Json).RootElement.GetProperty("total").GetInt32());
        Assert.Equal([1, 3, 6, 2, 5], tallies);
    }

    /// <summary>Appends events to a persistence id of a node's LMDB journal while the node is down.</summary>
    private static async Task AppendAsync(string dataDir, string persistenceId, params object[] events)
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString($$"""
                akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.lmdb"
                akka.persistence.journal.lmdb { data-dir = "{{dataDir}}", durability = nosync }
                akka.persistence.snapshot-store.lmdb { data-dir = "{{dataDir}}", durability = nosync }
                """)
            .WithFallback(Runner.Actors.RuntimeSettings.DefaultConfiguration())
            .WithFallback(Runner.Persistence.Lmdb.LmdbPersistence.DefaultConfiguration());
        using var system = Akka.Actor.ActorSystem.Create("writer", config);
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(Akka.Actor.Props.Create(() => new JournalAppender(persistenceId, events, written)));
        await written.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await system.Terminate();
    }

    private sealed class JournalAppender : Akka.Persistence.ReceivePersistentActor
    {
        public JournalAppender(string persistenceId, object[] events, TaskCompletionSource written)
        {
            PersistenceId = persistenceId;
            Recover<Akka.Persistence.RecoveryCompleted>(_ =>
            {
                PersistAll(events, _ => { });
                DeferAsync("done", _ => written.TrySetResult());
            });
            Recover<object>(_ => { });
            Command<object>(_ => { });
        }

        public override string PersistenceId { get; }
    }
}
