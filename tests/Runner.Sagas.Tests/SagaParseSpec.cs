using System.Text;
using Runner.Sagas.Samples;
using Runner.Sagas.Testing;
using Xunit;

namespace Runner.Sagas.Tests;

public sealed class SagaParseSpec
{
    private static readonly ISagaDefinition Order = new OrderSaga();

    private static IncomingEvent Event(string eventType, string json, IReadOnlyDictionary<string, string>? headers = null) =>
        new("acme", eventType, Encoding.UTF8.GetBytes(json), headers, "m-1", 7, DateTimeOffset.UnixEpoch);

    private static ParseResult.Rejected Rejected(ParseResult result, RejectionKind kind)
    {
        var rejected = Assert.IsType<ParseResult.Rejected>(result);
        Assert.False(rejected.IsOk);
        Assert.Equal(kind, rejected.Kind);
        return rejected;
    }

    [Fact]
    public void Parse_should_accept_a_well_formed_event()
    {
        var ok = Assert.IsType<ParseResult.Ok>(Order.Parse(Event("OrderPlaced", """{"orderId":"o-1","amount":42.5}""")));
        Assert.True(ok.IsOk);
        Assert.Equal("o-1", ok.CorrelationId);
        Assert.Equal(new OrderPlaced("o-1", 42.5m), ok.Event);
    }

    [Fact]
    public void Parse_should_ignore_unknown_members_and_accept_any_name_case()
    {
        var ok = Assert.IsType<ParseResult.Ok>(Order.Parse(Event("OrderPlaced", """{"OrderId":"o-1","amount":1,"channel":"web"}""")));
        Assert.Equal(new OrderPlaced("o-1", 1m), ok.Event);
    }

    [Fact]
    public void Parse_should_reject_an_unknown_event_type()
    {
        var rejected = Rejected(Order.Parse(Event("OrderShipped", """{"orderId":"o-1"}""")), RejectionKind.UnknownEventType);
        Assert.Equal(
            "Saga 'order' does not handle event type 'OrderShipped' (it handles: OrderPlaced, StockReserved, PaymentCaptured, StockUnavailable).",
            rejected.Reason);
    }

    [Theory]
    [InlineData("{\"orderId\":\"o-1\",", "Expected")]
    [InlineData("xyz", "invalid start of a value")]
    [InlineData("", "does not contain any JSON tokens")]
    [InlineData("[1,2]", "could not be converted to Runner.Sagas.Samples.OrderPlaced")]
    [InlineData("{\"orderId\":\"o-1\",\"amount\":\"lots\"}", "$.amount")]
    [InlineData("{\"orderId\":\"o-1\"}", "missing required properties including: 'amount'")]
    [InlineData("{\"orderId\":null,\"amount\":1}", "orderId")]
    public void Parse_should_reject_a_malformed_payload_naming_the_problem(string json, string problem)
    {
        var rejected = Rejected(Order.Parse(Event("OrderPlaced", json)), RejectionKind.MalformedPayload);
        Assert.StartsWith("Saga 'order' rejected a malformed OrderPlaced payload (expected JSON for OrderPlaced): ", rejected.Reason, StringComparison.Ordinal);
        Assert.Contains(problem, rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_should_reject_a_json_null_payload()
    {
        var rejected = Rejected(Order.Parse(Event("StockReserved", "null")), RejectionKind.MalformedPayload);
        Assert.EndsWith("the payload is JSON null", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_should_reject_a_missing_order_id_naming_it()
    {
        // Strict reads: a constructor parameter without a default is required, so the payload itself is malformed.
        var rejected = Rejected(Order.Parse(Event("StockReserved", """{"reason":"x"}""")), RejectionKind.MalformedPayload);
        Assert.Contains("missing required properties including: 'orderId'", rejected.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Parse_should_reject_an_empty_order_id_as_missing_correlation(string orderId)
    {
        var rejected = Rejected(Order.Parse(Event("StockReserved", $$"""{"orderId":"{{orderId}}"}""")), RejectionKind.MissingCorrelation);
        Assert.Equal("Saga 'order' cannot correlate StockReserved: the correlation id is null or empty.", rejected.Reason);
    }

    [Fact]
    public void Parse_should_reject_unusable_correlation_ids()
    {
        var longId = new string('x', 257);
        var rejected = Rejected(Order.Parse(Event("StockReserved", $$"""{"orderId":"{{longId}}"}""")), RejectionKind.MissingCorrelation);
        Assert.Contains("257 characters", rejected.Reason, StringComparison.Ordinal);
        rejected = Rejected(Order.Parse(Event("StockReserved", """{"orderId":"a\u0000b"}""")), RejectionKind.MissingCorrelation);
        Assert.Contains("control characters", rejected.Reason, StringComparison.Ordinal);
        Assert.IsType<ParseResult.Ok>(Order.Parse(Event("StockReserved", $$"""{"orderId":"{{new string('x', 256)}}"}""")));
    }

    [Fact]
    public void Parse_should_correlate_from_a_header()
    {
        ISagaDefinition counter = new CounterSaga();
        var ok = Assert.IsType<ParseResult.Ok>(counter.Parse(Event("TaggedEvent", """{"note":"n"}""", new Dictionary<string, string> { [CounterSaga.TenantHeader] = "acct-1" })));
        Assert.Equal("acct-1", ok.CorrelationId);
        Assert.Equal(new Tagged("n"), ok.Event);

        var rejected = Rejected(counter.Parse(Event("TaggedEvent", """{"note":"n"}""")), RejectionKind.MissingCorrelation);
        Assert.Equal("Saga 'counter' cannot correlate TaggedEvent: the correlation id is null or empty.", rejected.Reason);
    }

    [Fact]
    public void Parse_should_turn_a_throwing_correlation_into_a_rejection()
    {
        var saga = new ThrowingCorrelationSaga();
        var rejected = Rejected(saga.Parse(Event("Tagged", """{"note":"n"}""")), RejectionKind.MissingCorrelation);
        Assert.Contains("KeyNotFoundException", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_should_reject_a_payload_the_event_constructor_refuses()
    {
        var saga = new ThrowingCorrelationSaga();
        var rejected = Rejected(saga.Parse(Event("Measured", """{"id":"m","value":-3}""")), RejectionKind.MalformedPayload);
        Assert.Contains("ArgumentOutOfRangeException", rejected.Reason, StringComparison.Ordinal);
        Assert.Contains("must be positive", rejected.Reason, StringComparison.Ordinal);
        Assert.IsType<ParseResult.Ok>(saga.Parse(Event("Measured", """{"id":"m","value":3}""")));
    }

    [Fact]
    public void Harness_should_record_rejections_like_the_runtime_parks_them()
    {
        var harness = new SagaHarness(Order);
        var result = harness.PublishJson("OrderPlaced", "{oops");
        Assert.Equal(PublishOutcome.Rejected, result.Outcome);
        Assert.Equal(RejectionKind.MalformedPayload, result.Rejection!.Kind);
        harness.Publish("OrderPlaced", new { amount = 3 });
        harness.Publish("Refunded", new { orderId = "o-1" });

        Assert.Equal(
            [RejectionKind.MalformedPayload, RejectionKind.MalformedPayload, RejectionKind.UnknownEventType],
            harness.Rejections.Select(r => r.Rejection!.Kind));
        Assert.Empty(harness.Instances);
        Assert.Empty(harness.Commands);
    }

    private sealed class ThrowingCorrelationSaga : Saga<CounterState>
    {
        public ThrowingCorrelationSaga()
            : base("throwing")
        {
            On<Tagged>((_, incoming) => incoming.Headers["missing"], (state, _, ctx) => ctx.Stay());
            On<Measured>((e, _) => e.Id, (state, _, ctx) => ctx.Stay());
        }

        protected override CounterState Initial() => new(0, 0, 0);
    }
}

public sealed record Measured(string Id, int Value)
{
    public int Value { get; } = Value > 0 ? Value : throw new ArgumentOutOfRangeException(nameof(Value), Value, "must be positive");
}
