using System.Globalization;
using System.Text;

namespace Runner.Benchmarks;

/// <summary>The sample order saga's events and the command each one leads to.</summary>
internal static class OrderFlow
{
    public static readonly string[] Events = ["OrderPlaced", "StockReserved", "PaymentCaptured"];

    public static readonly string[] Commands = ["ReserveStock", "ChargePayment", "ShipOrder"];

    /// <summary>Place of a command in the flow, or -1.</summary>
    public static int CommandIndex(string commandType) => Array.IndexOf(Commands, commandType);

    /// <summary>The command the raw loop sends for an event type, or null.</summary>
    public static string? CommandFor(string eventType) => Array.IndexOf(Events, eventType) is var i and >= 0 ? Commands[i] : null;

    /// <summary>Order id of an order whose first event is number <paramref name="firstEvent"/>.</summary>
    public static string OrderId(int firstEvent) => "o" + firstEvent.ToString(CultureInfo.InvariantCulture);

    public static byte[] Payload(string eventType, string orderId) => Encoding.UTF8.GetBytes(eventType == "OrderPlaced"
        ? $$"""{"orderId":"{{orderId}}","amount":42.5}"""
        : $$"""{"orderId":"{{orderId}}"}""");
}
