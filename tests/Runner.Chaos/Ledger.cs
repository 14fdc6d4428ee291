using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Runner.TestKit;

namespace Runner.Chaos;

/// <summary>A message read back from the command or dead-letter stream.</summary>
internal sealed record StreamMessage(string Tenant, string Type, string MsgId, string Correlation, ulong Seq, DateTimeOffset At, string Kind, string Reason, string Node);

/// <summary>How one scenario went, counted by a reader independent of the nodes.</summary>
internal sealed record Verdict(int Events, int Commands, int Lost, int Dup, int DupByMsgId, int OutOfOrder, int Unexpected, int Parked)
{
    public bool Clean => Lost == 0 && Dup == 0 && OutOfOrder == 0;
}

/// <summary>
/// The independent reader: the command and dead-letter streams read back with a consumer of its own, and each order's
/// history read from the node that runs its tenant (admin endpoint). Per order of the load it expects ReserveStock,
/// ChargePayment and ShipOrder once each; duplicates are counted by <c>Nats-Msg-Id</c> and by (order, command type);
/// an order is out of order when the stream sequences its instance applied are not exactly its three events in
/// increasing order, and every event parked as not accepted by its state counts too.
/// </summary>
internal static class Ledger
{
    public static async Task<List<StreamMessage>> ReadAsync(INatsJSContext js, string stream, CancellationToken cancellationToken)
    {
        ConsumerConfig Config() => new($"chaos-reader-{Guid.NewGuid():N}")
        {
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            InactiveThreshold = TimeSpan.FromMinutes(1),
            MemStorage = true,
            NumReplicas = 1, // on a cluster with a server down, a one-replica reader is created on a live one
        };
        INatsJSConsumer consumer;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // A one-replica reader may be placed on a server that is down and never answer: another name, another draw.
                using var answer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                answer.CancelAfter(TimeSpan.FromSeconds(3));
                consumer = await js.CreateOrUpdateConsumerAsync(stream, Config(), answer.Token).ConfigureAwait(false);
                break;
            }
            catch (Exception) when (attempt < 60 && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(500, cancellationToken).ConfigureAwait(false); // a cluster electing a leader: try again, bounded
            }
        }

        var result = new List<StreamMessage>();
        while (true)
        {
            var any = false;
            await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1000 }, cancellationToken: cancellationToken)
                               .ConfigureAwait(false))
            {
                any = true;
                var parts = msg.Subject.Split('.');
                string H(string name) => msg.Headers is { } h && h.TryGetValue(name, out var v) ? v.ToString() : "";
                result.Add(new StreamMessage(parts.Length > 2 ? parts[2] : "", parts[^1], H("Nats-Msg-Id"), H("Runner-Correlation"),
                    msg.Metadata?.Sequence.Stream ?? 0, msg.Metadata?.Timestamp ?? default, H("Runner-Dlq-Kind"), H("Runner-Dlq-Reason"), H("Runner-Node")));
            }

            if (any) continue;
            await consumer.RefreshAsync(cancellationToken).ConfigureAwait(false);
            if (consumer.Info.NumPending == 0) break;
        }

        try
        {
            await js.DeleteConsumerAsync(stream, consumer.Info.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException)
        {
            // its inactivity threshold removes it
        }

        return result;
    }

    /// <summary>
    /// Waits until the commands stream holds <paramref name="expectedCommands"/> messages and every tenant's consumer has
    /// nothing pending or unacked (nothing more is coming), or until <paramref name="timeout"/>.
    /// </summary>
    /// <remarks>
    /// Whether every tenant's consumption has nothing pending or unacked is asked of the tenants' canonical consumers,
    /// unless the scenario (whose consumers may move to other names) passes its own check as <c>consumersIdle</c>.
    /// </remarks>
    public static async Task<bool> WaitSettledAsync(INatsJSContext js, IEnumerable<string> tenants, long expectedCommands, TimeSpan timeout,
        CancellationToken cancellationToken, Func<CancellationToken, Task<bool>>? consumersIdle = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var names = tenants.Select(t => $"runner-{t}-order").ToList();
        consumersIdle ??= async ct =>
        {
            foreach (var name in names)
            {
                var consumer = await js.GetConsumerAsync(ChaosWorld.EventsStream, name, ct).ConfigureAwait(false);
                if (consumer.Info.NumPending > 0 || consumer.Info.NumAckPending > 0) return false;
            }

            return true;
        };
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var answer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                answer.CancelAfter(TimeSpan.FromSeconds(5));
                var stream = await js.GetStreamAsync(ChaosWorld.CommandsStream, cancellationToken: answer.Token).ConfigureAwait(false);
                if ((long)stream.Info.State.Messages >= expectedCommands && await consumersIdle(answer.Token).ConfigureAwait(false)) return true;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is NatsException or OperationCanceledException)
            {
                // a consumer being recreated, the server restarting: ask again
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false); // polling the streams for the condition
        }

        return false;
    }

    /// <summary>
    /// Judges the load's orders on <paramref name="orderTenants"/>; commands of the orders in <paramref name="judgedElsewhere"/>
    /// (orders the scenario placed beside the load and judges itself) are left out.
    /// </summary>
    public static async Task<Verdict> JudgeAsync(ChaosWorld world, OrderLoad load, IReadOnlySet<string> orderTenants, CancellationToken cancellationToken,
        IReadOnlySet<string>? judgedElsewhere = null)
    {
        var commands = await ReadAsync(world.Js, ChaosWorld.CommandsStream, cancellationToken).ConfigureAwait(false);
        var parked = await ReadAsync(world.Js, ChaosWorld.DeadLetterStream, cancellationToken).ConfigureAwait(false);
        var flow = commands.Where(c => orderTenants.Contains(c.Tenant) && judgedElsewhere?.Contains(c.Correlation) != true).ToList();

        var expected = load.Orders.Where(o => o.Complete).ToList();
        var seen = flow.GroupBy(c => (c.Correlation, c.Type)).ToDictionary(g => g.Key, g => g.Count());
        var lost = expected.Sum(o => OrderLoad.CommandTypes.Count(t => !seen.ContainsKey((o.Id, t))));
        var dup = flow.Count - seen.Count;
        var dupByMsgId = flow.Count - flow.Select(c => c.MsgId).Distinct(StringComparer.Ordinal).Count();
        var unexpectedCommands = flow.Count(c => !OrderLoad.CommandTypes.Contains(c.Type));
        var unexpectedEvents = parked.Count(p => orderTenants.Contains(p.Tenant) && p.Kind is "UnexpectedEvent" or "AfterCompletion");

        var outOfOrder = await HistoriesOutOfOrderAsync(world, expected, cancellationToken).ConfigureAwait(false) + unexpectedEvents;
        return new Verdict(load.EventsPublished, flow.Count, lost, dup + unexpectedCommands, dupByMsgId, outOfOrder, unexpectedEvents,
            parked.Count(p => orderTenants.Contains(p.Tenant)));
    }

    /// <summary>Orders whose instance did not apply exactly their three events, each once, in stream order.</summary>
    private static async Task<int> HistoriesOutOfOrderAsync(ChaosWorld world, IReadOnlyList<OrderRecord> orders, CancellationToken cancellationToken)
    {
        var node = world.Running[0];
        using var admin = world.Admin(node);
        var bad = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(orders, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (order, _) =>
        {
            var (status, body) = await admin.GetAsync($"/admin/tenants/{order.Tenant}/sagas/order/{Uri.EscapeDataString(order.Id)}?history=50")
                .ConfigureAwait(false);
            if (status != HttpStatusCode.OK)
            {
                bad.Add($"{order.Id}: HTTP {(int)status} {body}");
                return;
            }

            var applied = body.GetProperty("history").EnumerateArray()
                .Where(e => e.GetProperty("kind").GetString() == "applied" && e.TryGetProperty("streamSeq", out var s) && s.ValueKind == JsonValueKind.Number)
                .Select(e => e.GetProperty("streamSeq").GetUInt64())
                .ToList();
            if (!applied.SequenceEqual(order.Seqs)) bad.Add($"{order.Id}: applied [{string.Join(",", applied)}], published [{string.Join(",", order.Seqs)}]");
        }).ConfigureAwait(false);

        foreach (var line in bad.Take(10)) Console.WriteLine($"chaos:   out of order: {line}");
        return bad.Count;
    }
}
