using NATS.Client.JetStream;
using Runner.Nats;
using Runner.Sagas;
using Runner.Sagas.Samples;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

/// <summary>
/// The order saga under another name whose state cannot be written for one order until the test lets it: a transient
/// fault (the instance crashes and recovers, the consumer's attempt times out) at a place the test controls.
/// </summary>
public sealed class FlakyOrderSaga(string blockedOrder) : ISagaDefinition
{
    private readonly OrderSaga _inner = new(TimeSpan.FromHours(1));
    private volatile bool _released;
    private int _failures;

    public int Failures => Volatile.Read(ref _failures);

    public void Release() => _released = true;

    public string Name => "flaky";

    public IReadOnlyCollection<string> EventTypes => _inner.EventTypes;

    public IReadOnlyCollection<string> TimerNames => _inner.TimerNames;

    public Type StateType => _inner.StateType;

    public object InitialState() => _inner.InitialState();

    public ParseResult Parse(IncomingEvent incoming) => _inner.Parse(incoming);

    public Decision Decide(object state, object sagaEvent, DateTimeOffset now) => _inner.Decide(state, sagaEvent, now);

    public Decision OnTimer(object state, string timerName, DateTimeOffset now) => _inner.OnTimer(state, timerName, now);

    public byte[] SerializeState(object state)
    {
        if (!_released && ((OrderState)state).OrderId == blockedOrder)
        {
            Interlocked.Increment(ref _failures);
            throw new InvalidOperationException($"transient fault writing the state of {blockedOrder}");
        }

        return _inner.SerializeState(state);
    }

    public object DeserializeState(ReadOnlySpan<byte> data) => _inner.DeserializeState(data);

    public byte[] SerializeCommand(OutgoingCommand command) => _inner.SerializeCommand(command);
}

/// <summary>The events of one saga instance are applied in stream order, each once, whatever comes in between.</summary>
public sealed class OrderingSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    private static string Order(string id, string type) => type switch
    {
        "OrderPlaced" => $$"""{"orderId":"{{id}}","amount":1}""",
        _ => $$"""{"orderId":"{{id}}"}""",
    };

    [Fact]
    public async Task An_event_left_unacked_by_a_crashed_node_should_be_applied_before_the_newer_events_of_its_instance()
    {
        // AckWait of 5 minutes: without the rewind the unacked OrderPlaced would come back only after it.
        await using var s = new Scenario(nats, "runner.nats.consumer.ack-wait = 300s\nrunner.samples.order.payment-timeout = 1h");
        // The node that ran the tenant had pulled OrderPlaced and died before acking it.
        await using (var crashed = new NatsEdge(NatsSettings.Create(s.NodeConfig(0))))
        {
            await crashed.StartAsync();
            await s.PublishAsync("acme", "OrderPlaced", Order("r-1", "OrderPlaced"), "r-1-placed");
            var (consumer, _) = await crashed.StartAtFirstUnappliedAsync("acme", "order", null, "test", CancellationToken.None);
            var pulled = new List<INatsJSMsg<byte[]>>();
            await foreach (var m in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1, Expires = TimeSpan.FromSeconds(5) })) pulled.Add(m);
            Assert.EndsWith(".OrderPlaced", Assert.Single(pulled).Subject, StringComparison.Ordinal);
        }

        await s.PublishAsync("acme", "StockReserved", Order("r-1", "StockReserved"), "r-1-reserved");
        await s.PublishAsync("acme", "PaymentCaptured", Order("r-1", "PaymentCaptured"), "r-1-paid");
        await s.StartNodeAsync();

        var commands = await s.CommandsAsync("acme", c => c.Count >= 3);
        Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder"], commands.Select(c => c.CommandType));
        Assert.Empty(await s.DeadLettersAsync("acme", _ => false, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task An_event_not_applied_should_hold_back_the_later_events_of_its_instance_only()
    {
        await using var s = new Scenario(nats, """
            runner.nats.consumer { processing-timeout = 1s, retry-backoff = 100ms }
            runner.samples.order.payment-timeout = 1h
            """);
        var flaky = new FlakyOrderSaga("slow");
        await s.StartNodeAsync(flaky);

        await s.PublishAsync("acme", "OrderPlaced", Order("slow", "OrderPlaced"), "slow-placed");
        await s.PublishAsync("acme", "StockReserved", Order("slow", "StockReserved"), "slow-reserved");
        await s.PublishAsync("acme", "OrderPlaced", Order("fast", "OrderPlaced"), "fast-placed");
        await s.PublishAsync("acme", "StockReserved", Order("fast", "StockReserved"), "fast-reserved");
        await s.PublishAsync("acme", "PaymentCaptured", Order("fast", "PaymentCaptured"), "fast-paid");
        await s.PublishAsync("acme", "PaymentCaptured", Order("slow", "PaymentCaptured"), "slow-paid");

        // The other instance goes all the way while the failing one waits with its later events behind it.
        static List<string> Of(List<ReadCommand> commands, string order) =>
            [.. commands.Where(c => c.MsgId.StartsWith($"acme:flaky:{order}:", StringComparison.Ordinal)).Select(c => c.CommandType)];
        var first = await s.CommandsAsync("acme", c => Of(c, "fast").Count >= 3);
        Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder"], Of(first, "fast"));
        Assert.Empty(Of(first, "slow"));
        Assert.True(flaky.Failures > 0);

        flaky.Release();
        var all = await s.CommandsAsync("acme", c => Of(c, "slow").Count >= 3);
        Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder"], Of(all, "slow"));
        Assert.Empty(await s.DeadLettersAsync("acme", _ => false, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Events_a_state_does_not_accept_should_be_parked_with_their_reason_not_stored()
    {
        await using var s = new Scenario(nats, "runner.samples.order.payment-timeout = 1h");
        await s.StartNodeAsync();
        await s.PublishAsync("acme", "StockReserved", Order("u-1", "StockReserved"), "u-1-reserved");
        await s.PublishAsync("acme", "OrderPlaced", Order("u-2", "OrderPlaced"), "u-2-placed");
        await s.PublishAsync("acme", "StockUnavailable", Order("u-2", "StockUnavailable"), "u-2-unavailable");
        await s.PublishAsync("acme", "StockReserved", Order("u-2", "StockReserved"), "u-2-late");

        var parked = await s.DeadLettersAsync("acme", d => d.Count >= 2);
        Assert.Equal(2, parked.Count);
        Assert.All(parked, d => Assert.Equal($"{s.Prefix}.dlq.acme.order", d.Subject));
        Assert.Equal("UnexpectedEvent", parked[0].Kind);
        Assert.Equal("instance u-1 of saga order does not accept it: StockReserved while the order is New", parked[0].Reason);
        Assert.Equal("AfterCompletion", parked[1].Kind);
        Assert.Equal("instance u-2 of saga order is completed", parked[1].Reason);

        var commands = await s.CommandsAsync("acme", c => c.Count >= 2);
        Assert.Equal(["ReserveStock", "CancelOrder"], commands.Select(c => c.CommandType));
    }

    [Fact]
    public async Task Consumption_should_resume_right_after_a_nats_server_restart_not_after_the_pull_expiry()
    {
        await using var server = new NatsServerFixture(); // its own server: the restart must not disturb other specs
        // Pulls that wait 5 minutes on the server: after the restart only the reconnect can bring consumption back soon.
        await using var s = new Scenario(server, "runner.nats.consumer.pull-expires = 300s\nrunner.samples.order.payment-timeout = 1h");
        await s.StartNodeAsync();
        for (var o = 0; o < 5; o++) await s.PublishAsync("acme", "OrderPlaced", Order($"k-{o}", "OrderPlaced"), $"k-{o}");
        await s.CommandsAsync("acme", c => c.Count >= 5);

        await server.RestartAsync(kill: true);
        for (var o = 5; o < 10; o++) await PublishRetryingAsync(s, $"k-{o}");

        var commands = await s.CommandsAsync("acme", c => c.Count >= 10, TimeSpan.FromSeconds(20));
        Assert.Equal(10, commands.Select(c => c.MsgId).Distinct().Count());
    }

    [Fact]
    public async Task A_consumer_deleted_under_load_should_be_recreated_at_the_checkpoint_without_loss_or_duplicates()
    {
        await using var s = new Scenario(nats, "runner.samples.order.payment-timeout = 1h");
        await s.StartNodeAsync();
        for (var o = 0; o < 40; o++) await s.PublishAsync("acme", "OrderPlaced", Order($"d-{o}", "OrderPlaced"), $"d-{o}");
        await s.CommandsAsync("acme", c => c.Count >= 10);

        // An operator (or a replay gone wrong) deletes the consumer while events flow.
        Assert.True(await s.Js.DeleteConsumerAsync(s.EventsStream, NatsEdge.ConsumerName("acme", "order")));
        for (var o = 0; o < 40; o++) await s.PublishAsync("acme", "StockReserved", Order($"d-{o}", "StockReserved"), $"d-{o}-r");

        var commands = await s.CommandsAsync("acme", c => c.Count >= 80);
        Assert.Equal(80, commands.Count);
        Assert.Equal(80, commands.Select(c => c.MsgId).Distinct().Count());
        Assert.All(Enumerable.Range(0, 40), o => Assert.Equal(["ReserveStock", "ChargePayment"],
            commands.Where(c => c.Json.Contains($"\"d-{o}\"", StringComparison.Ordinal)).Select(c => c.CommandType)));
        Assert.Empty(await s.DeadLettersAsync("acme", _ => false, TimeSpan.FromSeconds(1)));
    }

    private static async Task PublishRetryingAsync(Scenario s, string order)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await s.PublishAsync("acme", "OrderPlaced", Order(order, "OrderPlaced"), order);
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // the producer's own client is reconnecting
            }
        }
    }
}
