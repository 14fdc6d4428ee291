using System.Text.Json.Serialization;

namespace Runner.Sagas.Samples;

/// <summary>Where an order is in its saga.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OrderStatus>))]
public enum OrderStatus
{
    /// <summary>No <see cref="OrderPlaced"/> yet.</summary>
    New,

    /// <summary>Placed; waiting for <see cref="StockReserved"/> or <see cref="StockUnavailable"/>.</summary>
    AwaitingStock,

    /// <summary>Stock reserved; waiting for <see cref="PaymentCaptured"/>.</summary>
    AwaitingPayment,

    /// <summary>Paid and sent to shipping (final).</summary>
    Shipped,

    /// <summary>Cancelled (final).</summary>
    Cancelled,
}

/// <summary>The state of one order saga instance. Stored as JSON with the status as a string.</summary>
/// <param name="Status">Where the order is.</param>
/// <param name="OrderId">The order (null until placed).</param>
/// <param name="Amount">The order amount (0 until placed).</param>
/// <param name="CancelReason">Why it was cancelled, once it is.</param>
public sealed record OrderState(OrderStatus Status, string? OrderId = null, decimal Amount = 0m, string? CancelReason = null)
{
    /// <summary>The state of an order saga before its first event.</summary>
    public static OrderState Initial { get; } = new(OrderStatus.New);
}
