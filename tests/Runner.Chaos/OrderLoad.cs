using System.Diagnostics;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Runner.Chaos;

/// <summary>What the load published for one order: the stream sequence and PubAck time of each of its three events.</summary>
internal sealed class OrderRecord(string tenant, string id)
{
    public string Tenant { get; } = tenant;

    public string Id { get; } = id;

    /// <summary>Stream sequences of OrderPlaced, StockReserved, PaymentCaptured (0 = not published).</summary>
    public ulong[] Seqs { get; } = new ulong[3];

    /// <summary>When each event's PubAck arrived.</summary>
    public DateTimeOffset[] AckedAt { get; } = new DateTimeOffset[3];

    /// <summary>When publishing each event was first tried.</summary>
    public DateTimeOffset[] TriedAt { get; } = new DateTimeOffset[3];

    public bool Complete => Seqs.All(s => s > 0);
}

/// <summary>
/// The order saga's happy path as a steady load: order k (on tenant k mod T) is placed at step k, its stock reserved
/// at step k+1 and its payment captured at step k+2, so every step publishes three events of three orders and each
/// order's events are a few milliseconds apart in the stream. Each event has a unique <c>Nats-Msg-Id</c>; a publish
/// that fails (server down) is retried with the same id until it is acknowledged, so each event is in the stream once
/// and the events of an order keep their order.
/// </summary>
internal sealed class OrderLoad(INatsJSContext js, IReadOnlyList<string> tenants, int orders, double eventsPerSecond)
{
    public static readonly string[] EventTypes = ["OrderPlaced", "StockReserved", "PaymentCaptured"];

    public static readonly string[] CommandTypes = ["ReserveStock", "ChargePayment", "ShipOrder"];

    private int _published;

    public IReadOnlyList<OrderRecord> Orders { get; } =
        [.. Enumerable.Range(0, orders).Select(k => new OrderRecord(tenants[k % tenants.Count], $"{tenants[k % tenants.Count]}-o{k}"))];

    public int EventsPublished => Volatile.Read(ref _published);

    public int EventsPlanned => orders * 3;

    /// <summary>Publishes every event at the given rate (catching up after an outage); ends when all are acknowledged.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var index = 0;
        for (var step = 0; step < orders + 2; step++)
        {
            for (var e = 0; e < 3; e++)
            {
                var k = step - e;
                if (k < 0 || k >= orders) continue;
                var due = TimeSpan.FromSeconds(index++ / eventsPerSecond);
                var ahead = due - clock.Elapsed;
                if (ahead > TimeSpan.FromMilliseconds(1)) await Task.Delay(ahead, cancellationToken).ConfigureAwait(false);
                await PublishAsync(Orders[k], e, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task PublishAsync(OrderRecord order, int e, CancellationToken cancellationToken)
    {
        var json = e == 0 ? $$"""{"orderId":"{{order.Id}}","amount":1}""" : $$"""{"orderId":"{{order.Id}}"}""";
        var headers = new NatsHeaders { ["Nats-Msg-Id"] = $"{order.Id}:{EventTypes[e]}" };
        order.TriedAt[e] = DateTimeOffset.UtcNow;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                var ack = await js.PublishAsync($"runner.evt.{order.Tenant}.{EventTypes[e]}", Encoding.UTF8.GetBytes(json), headers: headers,
                    cancellationToken: timeout.Token).ConfigureAwait(false);
                if (ack.Error is not null) throw new InvalidOperationException(ack.Error.Description);
                order.Seqs[e] = ack.Seq;
                order.AckedAt[e] = DateTimeOffset.UtcNow;
                Interlocked.Increment(ref _published);
                return;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false); // the server is down or restarting: the same event again
            }
        }
    }

    /// <summary>
    /// Publishes one <c>OrderPlaced</c> (an order nothing else follows: its payment timeout fires) and returns its stream
    /// sequence; retried with the same <c>Nats-Msg-Id</c> until acknowledged (a stream electing a leader dedupes the copies).
    /// </summary>
    public static async Task<ulong> PublishOrderPlacedAsync(INatsJSContext js, string tenant, string orderId, CancellationToken ct)
    {
        var headers = new NatsHeaders { ["Nats-Msg-Id"] = orderId + ":OrderPlaced" };
        var body = Encoding.UTF8.GetBytes($$"""{"orderId":"{{orderId}}","amount":1}""");
        while (true)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                var ack = await js.PublishAsync($"runner.evt.{tenant}.OrderPlaced", body, headers: headers, cancellationToken: timeout.Token)
                    .ConfigureAwait(false);
                if (ack.Error is null) return ack.Seq;
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The stream elects a leader when the killed server led it: the same event again (its Msg-Id dedupes).
            }

            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Publishes <paramref name="count"/> malformed events for <paramref name="tenant"/>: bodies that are not JSON, orders
    /// without an id, wrong member types and event types no saga handles, in turn.
    /// </summary>
    public static async Task PublishPoisonAsync(INatsJSContext js, string tenant, int count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            var (type, body) = (i % 4) switch
            {
                0 => ("OrderPlaced", "{not json " + i),
                1 => ("OrderPlaced", """{"amount":1}"""),
                2 => ("StockReserved", """{"orderId":17}"""),
                _ => ("OrderTeleported", $$"""{"orderId":"p-{{i}}"}"""),
            };
            var headers = new NatsHeaders { ["Nats-Msg-Id"] = $"poison-{tenant}-{i}" };
            var ack = await js.PublishAsync($"runner.evt.{tenant}.{type}", Encoding.UTF8.GetBytes(body), headers: headers,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            ack.EnsureSuccess();
        }
    }
}
