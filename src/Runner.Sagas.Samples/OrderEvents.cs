namespace Runner.Sagas.Samples;

/// <summary>An order was placed: starts an order saga. Wire JSON: <c>{"orderId":"o-1","amount":42.5}</c>.</summary>
/// <param name="OrderId">The order, and the correlation id of its saga instance.</param>
/// <param name="Amount">The amount to charge.</param>
public sealed record OrderPlaced(string OrderId, decimal Amount);

/// <summary>The stock for an order was reserved. Wire JSON: <c>{"orderId":"o-1"}</c>.</summary>
/// <param name="OrderId">The order.</param>
public sealed record StockReserved(string OrderId);

/// <summary>The stock for an order could not be reserved. Wire JSON: <c>{"orderId":"o-1","reason":"sold out"}</c>.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="Reason">Why, when the stock service says; may be omitted.</param>
public sealed record StockUnavailable(string OrderId, string? Reason = null);

/// <summary>The payment for an order was captured. Wire JSON: <c>{"orderId":"o-1"}</c>.</summary>
/// <param name="OrderId">The order.</param>
public sealed record PaymentCaptured(string OrderId);
