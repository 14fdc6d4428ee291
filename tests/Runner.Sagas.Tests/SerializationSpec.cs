using System.Text;
using System.Text.Json;
using Runner.Sagas.Samples;
using Xunit;

namespace Runner.Sagas.Tests;

public sealed class SerializationSpec
{
    private static readonly ISagaDefinition Order = new OrderSaga();

    [Fact]
    public void State_should_round_trip_through_json()
    {
        var state = new OrderState(OrderStatus.AwaitingPayment, "o-1", 42.5m);
        var bytes = Order.SerializeState(state);

        Assert.Equal("""{"status":"AwaitingPayment","orderId":"o-1","amount":42.5,"cancelReason":null}""", Encoding.UTF8.GetString(bytes));
        Assert.Equal(state, Order.DeserializeState(bytes));
        Assert.Equal(OrderState.Initial, Order.DeserializeState(Order.SerializeState(Order.InitialState())));
    }

    [Fact]
    public void State_should_read_older_json_without_new_members()
    {
        Assert.Equal(new OrderState(OrderStatus.Shipped, "o-1"), Order.DeserializeState("""{"status":"Shipped","orderId":"o-1"}"""u8));
    }

    [Fact]
    public void State_should_reject_foreign_or_null_states()
    {
        Assert.Throws<ArgumentException>(() => Order.SerializeState(new CounterState(0, 0, 0)));
        Assert.Throws<JsonException>(() => Order.DeserializeState("null"u8));
        Assert.Throws<JsonException>(() => Order.DeserializeState("{"u8));
    }

    [Fact]
    public void Commands_should_serialize_as_camel_case_json()
    {
        Assert.Equal(
            """{"orderId":"o-1","amount":42.5}""",
            Encoding.UTF8.GetString(Order.SerializeCommand(new OutgoingCommand("ReserveStock", new ReserveStock("o-1", 42.5m)))));
        Assert.Equal(
            """{"orderId":"o-1","reason":"payment-timeout"}""",
            Encoding.UTF8.GetString(Order.SerializeCommand(new OutgoingCommand("CancelOrder", new CancelOrder("o-1", "payment-timeout")))));
    }

    [Fact]
    public void Commands_should_round_trip_through_json()
    {
        var commands = new object[]
        {
            new ReserveStock("o-1", 42.5m),
            new ChargePayment("o-1", 0.01m),
            new ShipOrder("o-1"),
            new CancelOrder("o-1", "stock-unavailable: sold out"),
        };
        var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        foreach (var command in commands)
        {
            var bytes = Order.SerializeCommand(new OutgoingCommand(command.GetType().Name, command));
            Assert.Equal(command, JsonSerializer.Deserialize(bytes, command.GetType(), web));
        }
    }

    [Fact]
    public void Events_should_round_trip_through_parse()
    {
        var events = new (string Type, object Event)[]
        {
            ("OrderPlaced", new OrderPlaced("o-1", 42.5m)),
            ("StockReserved", new StockReserved("o-1")),
            ("StockUnavailable", new StockUnavailable("o-1", "sold out")),
            ("PaymentCaptured", new PaymentCaptured("o-1")),
        };
        var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        foreach (var (type, e) in events)
        {
            var incoming = new IncomingEvent("acme", type, JsonSerializer.SerializeToUtf8Bytes(e, e.GetType(), web), null, "m", 1, default);
            var ok = Assert.IsType<ParseResult.Ok>(Order.Parse(incoming));
            Assert.Equal(e, ok.Event);
            Assert.Equal("o-1", ok.CorrelationId);
        }
    }

    [Fact]
    public void Timer_request_should_record_skip_and_fire_policies()
    {
        var due = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(MissedFirePolicy.Fire, default(MissedFirePolicy));
        Assert.Equal(MissedFirePolicy.Fire, new TimerRequest("t", due).Policy);
        Assert.Equal(MissedFirePolicy.Skip, new TimerRequest("t", due, MissedFirePolicy.Skip).Policy);
        Assert.NotEqual(new TimerRequest("t", due, MissedFirePolicy.Skip), new TimerRequest("t", due, MissedFirePolicy.Fire));
        var (name, dueAt, policy) = new TimerRequest("t", due, MissedFirePolicy.Skip);
        Assert.Equal(("t", due, MissedFirePolicy.Skip), (name, dueAt, policy));
        Assert.Throws<ArgumentException>(() => new TimerRequest("a b", due));
    }
}
