namespace Runner.Sagas.Samples;

/// <summary>
/// The sample saga <c>order</c>: reserve stock, charge payment, ship; cancel when stock is unavailable or payment does
/// not arrive within the payment timeout.
/// </summary>
/// <remarks>
/// <para>Flow: <see cref="OrderPlaced"/> sends <see cref="ReserveStock"/> and schedules <c>payment-timeout</c>;
/// <see cref="StockReserved"/> sends <see cref="ChargePayment"/>; <see cref="PaymentCaptured"/> sends
/// <see cref="ShipOrder"/>, cancels the timer and completes; <see cref="StockUnavailable"/> sends
/// <see cref="CancelOrder"/> and completes; <c>payment-timeout</c> sends <see cref="CancelOrder"/> with reason
/// <c>payment-timeout</c> and completes.</para>
/// <para>Every event correlates on its <c>orderId</c>. An event that does not fit the current status (a second
/// <see cref="OrderPlaced"/>, <see cref="StockReserved"/> before <see cref="OrderPlaced"/>, <see cref="PaymentCaptured"/>
/// while stock is not yet reserved, ...) is not accepted (<see cref="SagaContext{TState}.Unexpected"/>): nothing
/// changes and the runtime parks the event on the dead-letter subject saying why. Once the saga completes, the
/// runtime parks further events for the order the same way.</para>
/// </remarks>
public sealed class OrderSaga : Saga<OrderState>
{
    /// <summary>The saga name.</summary>
    public const string DefinitionName = "order";

    /// <summary>The timer that cancels an order not paid in time; scheduled when the order is placed.</summary>
    public const string PaymentTimeoutTimer = "payment-timeout";

    /// <summary>The reason of the <see cref="CancelOrder"/> sent when payment times out.</summary>
    public const string PaymentTimeoutReason = "payment-timeout";

    /// <summary>The reason of the <see cref="CancelOrder"/> sent when stock is unavailable (followed by the stock service's reason, if any).</summary>
    public const string StockUnavailableReason = "stock-unavailable";

    /// <summary>How long an order may wait for payment by default: 15 minutes from <see cref="OrderPlaced"/>.</summary>
    public static readonly TimeSpan DefaultPaymentTimeout = TimeSpan.FromMinutes(15);

    /// <summary>Creates the order saga with the <see cref="DefaultPaymentTimeout"/>.</summary>
    public OrderSaga()
        : this(DefaultPaymentTimeout)
    {
    }

    /// <summary>Creates the order saga with its own payment timeout.</summary>
    /// <param name="paymentTimeout">How long after <see cref="OrderPlaced"/> an unpaid order is cancelled.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="paymentTimeout"/> is not positive.</exception>
    public OrderSaga(TimeSpan paymentTimeout)
        : base(DefinitionName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(paymentTimeout, TimeSpan.Zero);
        PaymentTimeout = paymentTimeout;

        On<OrderPlaced>((e, _) => e.OrderId, (state, e, ctx) => state.Status != OrderStatus.New
            ? NotExpected(ctx, nameof(OrderPlaced), state)
            : ctx.Transition(state with { Status = OrderStatus.AwaitingStock, OrderId = e.OrderId, Amount = e.Amount })
                .Send(new ReserveStock(e.OrderId, e.Amount))
                .Schedule(PaymentTimeoutTimer, PaymentTimeout));

        On<StockReserved>((e, _) => e.OrderId, (state, _, ctx) => state.Status != OrderStatus.AwaitingStock
            ? NotExpected(ctx, nameof(StockReserved), state)
            : ctx.Transition(state with { Status = OrderStatus.AwaitingPayment })
                .Send(new ChargePayment(state.OrderId!, state.Amount)));

        On<PaymentCaptured>((e, _) => e.OrderId, (state, _, ctx) => state.Status != OrderStatus.AwaitingPayment
            ? NotExpected(ctx, nameof(PaymentCaptured), state)
            : ctx.Transition(state with { Status = OrderStatus.Shipped })
                .Send(new ShipOrder(state.OrderId!))
                .Cancel(PaymentTimeoutTimer)
                .Complete());

        On<StockUnavailable>((e, _) => e.OrderId, (state, e, ctx) =>
        {
            if (state.Status != OrderStatus.AwaitingStock) return NotExpected(ctx, nameof(StockUnavailable), state);
            var reason = string.IsNullOrWhiteSpace(e.Reason) ? StockUnavailableReason : $"{StockUnavailableReason}: {e.Reason}";
            return Cancel(state, ctx, reason);
        });

        OnTimer(PaymentTimeoutTimer, (state, ctx) => state.Status is OrderStatus.AwaitingStock or OrderStatus.AwaitingPayment
            ? Cancel(state, ctx, PaymentTimeoutReason)
            : ctx.Stay());
    }

    /// <summary>How long after <see cref="OrderPlaced"/> an unpaid order is cancelled.</summary>
    public TimeSpan PaymentTimeout { get; }

    /// <inheritdoc />
    protected override OrderState Initial() => OrderState.Initial;

    private static Decision<OrderState> NotExpected(SagaContext<OrderState> ctx, string eventType, OrderState state) =>
        ctx.Unexpected($"{eventType} while the order is {state.Status}");

    private static Decision<OrderState> Cancel(OrderState state, SagaContext<OrderState> ctx, string reason) =>
        ctx.Transition(state with { Status = OrderStatus.Cancelled, CancelReason = reason })
            .Send(new CancelOrder(state.OrderId!, reason))
            .Cancel(PaymentTimeoutTimer)
            .Complete();
}
