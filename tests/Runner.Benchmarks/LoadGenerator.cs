using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Nats;

namespace Runner.Benchmarks;

/// <summary>
/// Publishes the benchmark's events to JetStream (each with a Nats-Msg-Id, as a well-behaved producer does), as
/// fast as possible or paced, keeping a bounded number of publishes in flight. Event <c>e</c> is stamped in the
/// probe just before it is handed to the client.
/// </summary>
internal sealed class LoadGenerator(INatsJSContext js, Subjects subjects, IReadOnlyList<string> tenants, CommandProbe probe, int window)
{
    private long _failures;

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>
    /// Events [from, from + count): one OrderPlaced per order, or (flow) the three events of each order; paced at
    /// rate events per second, or as fast as possible when rate is null; stops publishing at the deadline.
    /// </summary>
    public async Task PublishAsync(int from, int count, bool flow, double? rate, DateTime deadline)
    {
        using var slots = new SemaphoreSlim(window);
        var pending = new List<Task>(count);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            if (DateTime.UtcNow >= deadline) break;
            if (rate is { } r)
            {
                // Pacing: publish whatever is due, then yield for ~1 ms (the timer granularity), so events leave in small bursts.
                while (Stopwatch.GetElapsedTime(start).TotalSeconds < i / r) await Task.Delay(1).ConfigureAwait(false);
            }

            var e = from + i;
            var k = flow ? i % 3 : 0;
            var order = flow ? i / 3 : i;
            var tenant = tenants[order % tenants.Count];
            var orderId = OrderFlow.OrderId(e - k);
            var type = OrderFlow.Events[k];
            await slots.WaitAsync().ConfigureAwait(false);
            probe.MarkPublished(e);
            pending.Add(Publish(subjects.Event(tenant, type), OrderFlow.Payload(type, orderId), "e" + orderId + "-" + type, slots));
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task Publish(string subject, byte[] payload, string msgId, SemaphoreSlim slots)
    {
        try
        {
            var ack = await js.PublishAsync(subject, payload, opts: new NatsJSPubOpts { MsgId = msgId }).ConfigureAwait(false);
            ack.EnsureSuccess();
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
        {
            Interlocked.Increment(ref _failures);
        }
        finally
        {
            slots.Release();
        }
    }
}
