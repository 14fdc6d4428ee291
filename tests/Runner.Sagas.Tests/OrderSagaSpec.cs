using System.Text;
using Runner.Sagas.Samples;
using Runner.Sagas.Testing;
using Xunit;

namespace Runner.Sagas.Tests;

public sealed class OrderSagaSpec
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly SagaHarness _harness = new(new OrderSaga(), Start);

    private static Dictionary<string, string> MsgId(string id) => new() { [IncomingEvent.MessageIdHeader] = id };

    [Fact]
    public void Order_saga_should_declare_its_name_events_and_timer()
    {
        var saga = new OrderSaga();
        Assert.Equal("order", saga.Name);
        Assert.Equal(["OrderPlaced", "PaymentCaptured", "StockReserved", "StockUnavailable"], saga.EventTypes.Order(StringComparer.Ordinal));
        Assert.Equal(["payment-timeout"], saga.TimerNames);
        Assert.Equal(typeof(OrderState), saga.StateType);
        Assert.Equal(TimeSpan.FromMinutes(15), saga.PaymentTimeout);
        Assert.Equal(new OrderState(OrderStatus.New), ((ISagaDefinition)saga).InitialState());
    }

    [Fact]
    public void Order_saga_should_reserve_charge_and_ship_a_paid_order()
    {
        var placed = _harness.Publish("OrderPlaced", new OrderPlaced("o-1", 42.5m), MsgId("evt-1"));
        Assert.Equal(PublishOutcome.Applied, placed.Outcome);
        Assert.Equal("o-1", placed.CorrelationId);

        var order = _harness.Instance("o-1");
        Assert.Equal(new OrderState(OrderStatus.AwaitingStock, "o-1", 42.5m), order.State<OrderState>());
        Assert.Equal([new OutgoingCommand("ReserveStock", new ReserveStock("o-1", 42.5m))], order.Commands);
        Assert.Equal(Start + TimeSpan.FromMinutes(15), order.Timers["payment-timeout"]);

        _harness.Advance(TimeSpan.FromMinutes(2));
        _harness.Publish("StockReserved", new StockReserved("o-1"));
        Assert.Equal(OrderStatus.AwaitingPayment, order.State<OrderState>().Status);
        Assert.Equal(new OutgoingCommand("ChargePayment", new ChargePayment("o-1", 42.5m)), order.Commands[^1]);

        _harness.Publish("PaymentCaptured", new PaymentCaptured("o-1"));
        Assert.Equal(OrderStatus.Shipped, order.State<OrderState>().Status);
        Assert.Equal(new OutgoingCommand("ShipOrder", new ShipOrder("o-1")), order.Commands[^1]);
        Assert.True(order.Completed);
        Assert.Empty(order.Timers);
        Assert.Equal(new[] { "payment-timeout" }, order.Decisions[^1].Cancel);

        Assert.Equal(["ReserveStock", "ChargePayment", "ShipOrder"], _harness.Commands.Select(c => c.Command.CommandType));
        Assert.All(_harness.Commands, c => Assert.Equal("o-1", c.CorrelationId));

        // The cancelled timeout never fires.
        Assert.Empty(_harness.Advance(TimeSpan.FromHours(1)));
        Assert.Equal(3, _harness.Commands.Count);
    }

    [Fact]
    public void Order_saga_should_cancel_when_stock_is_unavailable()
    {
        _harness.Publish("OrderPlaced", new OrderPlaced("o-2", 10m));
        _harness.Publish("StockUnavailable", new StockUnavailable("o-2", "sold out"));

        var order = _harness.Instance("o-2");
        Assert.True(order.Completed);
        Assert.Equal(new OrderState(OrderStatus.Cancelled, "o-2", 10m, "stock-unavailable: sold out"), order.State<OrderState>());
        Assert.Equal(new OutgoingCommand("CancelOrder", new CancelOrder("o-2", "stock-unavailable: sold out")), order.Commands[^1]);
        Assert.Empty(order.Timers);
        Assert.Empty(_harness.Advance(TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Order_saga_should_accept_stock_unavailable_without_a_reason()
    {
        _harness.Publish("OrderPlaced", new OrderPlaced("o-3", 10m));
        var result = _harness.PublishJson("StockUnavailable", """{"orderId":"o-3"}""");

        Assert.Equal(PublishOutcome.Applied, result.Outcome);
        Assert.Equal(new CancelOrder("o-3", "stock-unavailable"), _harness.Instance("o-3").Commands[^1].Payload);
    }

    [Fact]
    public void Order_saga_should_cancel_when_payment_times_out()
    {
        _harness.Publish("OrderPlaced", new OrderPlaced("o-4", 99.99m));
        _harness.Publish("StockReserved", new StockReserved("o-4"));

        Assert.Empty(_harness.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromTicks(1)));
        Assert.False(_harness.Instance("o-4").Completed);

        var fired = _harness.Advance(TimeSpan.FromMinutes(1));
        var firing = Assert.Single(fired);
        Assert.Equal("o-4", firing.CorrelationId);
        Assert.Equal("payment-timeout", firing.Timer.Name);
        Assert.Equal(Start + TimeSpan.FromMinutes(15), firing.FiredAt);

        var order = _harness.Instance("o-4");
        Assert.True(order.Completed);
        Assert.Equal(new OrderState(OrderStatus.Cancelled, "o-4", 99.99m, "payment-timeout"), order.State<OrderState>());
        Assert.Equal(
            ["ReserveStock", "ChargePayment", "CancelOrder"],
            order.Commands.Select(c => c.CommandType));
        Assert.Equal(new CancelOrder("o-4", "payment-timeout"), order.Commands[^1].Payload);
        Assert.Equal(Start + TimeSpan.FromMinutes(16) - TimeSpan.FromTicks(1), _harness.Now);
    }

    [Fact]
    public void Order_saga_should_time_out_while_waiting_for_stock()
    {
        _harness.Publish("OrderPlaced", new OrderPlaced("o-5", 1m));
        Assert.Single(_harness.Advance(TimeSpan.FromMinutes(20)));
        Assert.Equal(new CancelOrder("o-5", "payment-timeout"), _harness.Instance("o-5").Commands[^1].Payload);
    }

    [Fact]
    public void Order_saga_should_use_its_configured_payment_timeout()
    {
        var harness = new SagaHarness(new OrderSaga(TimeSpan.FromSeconds(30)), Start);
        harness.Publish("OrderPlaced", new OrderPlaced("o-6", 1m));
        Assert.Equal(Start.AddSeconds(30), harness.Instance("o-6").Timers["payment-timeout"]);
        Assert.Single(harness.Advance(TimeSpan.FromSeconds(30)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OrderSaga(TimeSpan.Zero));
    }

    [Fact]
    public void Order_saga_should_not_accept_events_that_do_not_fit_the_status()
    {
        // Stock reserved before the order was placed: not accepted, and no instance is started for it.
        var early = _harness.Publish("StockReserved", new StockReserved("o-7"));
        Assert.Equal(PublishOutcome.Unexpected, early.Outcome);
        Assert.Equal("StockReserved while the order is New", early.Decision!.Unexpected);
        Assert.False(early.Decision.IsNoOp);
        Assert.False(_harness.HasInstance("o-7"));

        _harness.Publish("OrderPlaced", new OrderPlaced("o-7", 5m));
        var paidTooEarly = _harness.Publish("PaymentCaptured", new PaymentCaptured("o-7"));
        Assert.Equal("PaymentCaptured while the order is AwaitingStock", paidTooEarly.Decision!.Unexpected);
        var placedTwice = _harness.Publish("OrderPlaced", new OrderPlaced("o-7", 500m));
        Assert.Equal("OrderPlaced while the order is AwaitingStock", placedTwice.Decision!.Unexpected);
        var unavailableLate = _harness.Publish("StockReserved", new StockReserved("o-7"));
        Assert.Equal(PublishOutcome.Applied, unavailableLate.Outcome);
        Assert.Equal(PublishOutcome.Unexpected, _harness.Publish("StockUnavailable", new StockUnavailable("o-7")).Outcome);

        var order = _harness.Instance("o-7");
        Assert.Equal(new OrderState(OrderStatus.AwaitingPayment, "o-7", 5m), order.State<OrderState>());
        Assert.Equal(["ReserveStock", "ChargePayment"], order.Commands.Select(c => c.CommandType));
        Assert.Equal(["StockReserved", "PaymentCaptured", "OrderPlaced", "StockUnavailable"], _harness.Unexpected.Select(u => u.Event.EventType));
    }

    [Fact]
    public void Order_saga_should_ignore_events_after_completion_and_record_them()
    {
        _harness.Publish("OrderPlaced", new OrderPlaced("o-8", 5m));
        _harness.Publish("StockUnavailable", new StockUnavailable("o-8", null));

        var late = _harness.Publish("StockReserved", new StockReserved("o-8"));

        Assert.Equal(PublishOutcome.IgnoredCompleted, late.Outcome);
        Assert.Null(late.Decision);
        var order = _harness.Instance("o-8");
        Assert.Equal("StockReserved", Assert.Single(order.IgnoredEvents).EventType);
        Assert.Equal(OrderStatus.Cancelled, order.State<OrderState>().Status);
        Assert.Equal(2, order.Commands.Count);
    }

    [Fact]
    public void Order_saga_should_keep_orders_apart()
    {
        _harness.Publish("OrderPlaced", new OrderPlaced("a", 1m));
        _harness.Advance(TimeSpan.FromMinutes(5));
        _harness.Publish("OrderPlaced", new OrderPlaced("b", 2m));
        _harness.Publish("StockReserved", new StockReserved("b"));
        _harness.Publish("PaymentCaptured", new PaymentCaptured("b"));

        var fired = _harness.Advance(TimeSpan.FromMinutes(30));

        Assert.Equal("a", Assert.Single(fired).CorrelationId);
        Assert.Equal(OrderStatus.Cancelled, _harness.Instance("a").State<OrderState>().Status);
        Assert.Equal(OrderStatus.Shipped, _harness.Instance("b").State<OrderState>().Status);
        Assert.Equal(
            [("a", "ReserveStock"), ("b", "ReserveStock"), ("b", "ChargePayment"), ("b", "ShipOrder"), ("a", "CancelOrder")],
            _harness.Commands.Select(c => (c.CorrelationId, c.Command.CommandType)));
        Assert.Equal(["a", "b"], _harness.Instances.Select(i => i.CorrelationId));
    }

    [Fact]
    public void Order_saga_should_drop_a_republished_message_id()
    {
        _harness.Publish("OrderPlaced", new OrderPlaced("o-9", 5m), MsgId("evt-9"));
        var again = _harness.Publish("OrderPlaced", new OrderPlaced("o-9", 5m), MsgId("evt-9"));

        Assert.Equal(PublishOutcome.Duplicate, again.Outcome);
        Assert.Single(_harness.Commands);
    }

    [Fact]
    public void Order_saga_should_read_and_write_camel_case_json()
    {
        var result = _harness.PublishJson("OrderPlaced", """{"orderId":"o-10","amount":42.5}""");
        Assert.Equal(new OrderPlaced("o-10", 42.5m), ((ParseResult.Ok)result.Parse!).Event);
        Assert.Equal("""{"orderId":"o-10","amount":42.5}""", Encoding.UTF8.GetString(result.Event.Payload.Span));

        var command = Assert.Single(_harness.Commands).Command;
        Assert.Equal("""{"orderId":"o-10","amount":42.5}""", Encoding.UTF8.GetString(_harness.Saga.SerializeCommand(command)));

        _harness.Publish("OrderPlaced", new OrderPlaced("o-11", 1m));
        var fired = _harness.Advance(TimeSpan.FromHours(1));
        var cancel = fired.Select(f => f.Decision.Commands.Single()).First(c => ((CancelOrder)c.Payload).OrderId == "o-10");
        Assert.Equal("""{"orderId":"o-10","reason":"payment-timeout"}""", Encoding.UTF8.GetString(_harness.Saga.SerializeCommand(cancel)));
    }
}
