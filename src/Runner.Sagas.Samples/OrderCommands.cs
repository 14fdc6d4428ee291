namespace Runner.Sagas.Samples;

/// <summary>Asks the stock service to reserve an order's stock. Wire JSON: <c>{"orderId":"o-1","amount":42.5}</c>.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="Amount">The order amount.</param>
public sealed record ReserveStock(string OrderId, decimal Amount);

/// <summary>Asks the payment service to charge an order. Wire JSON: <c>{"orderId":"o-1","amount":42.5}</c>.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="Amount">The amount to charge.</param>
public sealed record ChargePayment(string OrderId, decimal Amount);

/// <summary>Asks the shipping service to ship an order. Wire JSON: <c>{"orderId":"o-1"}</c>.</summary>
/// <param name="OrderId">The order.</param>
public sealed record ShipOrder(string OrderId);

/// <summary>Tells everyone an order is cancelled. Wire JSON: <c>{"orderId":"o-1","reason":"payment-timeout"}</c>.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="Reason">Why: <c>payment-timeout</c>, or <c>stock-unavailable</c> (with the stock service's reason after a colon when it gave one).</param>
public sealed record CancelOrder(string OrderId, string Reason);
