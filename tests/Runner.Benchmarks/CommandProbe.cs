using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using NATS.Client.Core;
using Runner.Nats;

namespace Runner.Benchmarks;

/// <summary>
/// Time stamps of one scenario: when each event was published (written by the load generator) and when its
/// command appeared on <c>&lt;prefix&gt;.cmd.&gt;</c> (a core NATS subscription on its own connection, which sees a
/// command as JetStream stores it). Event number <c>e</c> is the slot; its command is matched by the
/// <c>Runner-Correlation</c> header (<c>o&lt;n&gt;</c>, n = the order's first event number) plus the command's place
/// in the order flow (ReserveStock 0, ChargePayment 1, ShipOrder 2).
/// </summary>
internal sealed class CommandProbe : IAsyncDisposable
{
    private readonly long[] _published;
    private readonly long[] _arrived;
    private readonly NatsConnection _connection;
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private int _arrivedCount;
    private long _duplicates;
    private long _duplicatesOtherMsgId;
    private readonly string?[] _msgIds;
    private long _unmatched;

    public CommandProbe(string url, int slots)
    {
        _published = new long[slots];
        _arrived = new long[slots];
        _msgIds = new string?[slots];
        // Wait (not drop) when the subscription's buffer is full: a dropped command would look like a lost one.
        _connection = new NatsConnection(NatsOpts.Default with
        {
            Url = url,
            Name = "bench-probe",
            SubPendingChannelCapacity = 1 << 16,
            SubPendingChannelFullMode = BoundedChannelFullMode.Wait,
        });
    }

    public int Slots => _published.Length;

    public int Arrived => Volatile.Read(ref _arrivedCount);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>
    /// Duplicates with another Nats-Msg-Id than the first copy: a second decision for the same event (a double application),
    /// where a duplicate with the same id is a re-publish that JetStream keeps once.
    /// </summary>
    public long DuplicatesOtherMsgId => Interlocked.Read(ref _duplicatesOtherMsgId);

    public long Unmatched => Interlocked.Read(ref _unmatched);

    public async Task StartAsync(string subject)
    {
        await _connection.ConnectAsync().ConfigureAwait(false);
        var sub = await _connection.SubscribeCoreAsync<byte[]>(subject, cancellationToken: _stop.Token).ConfigureAwait(false);
        // A ping round trip makes sure the server has the subscription before anything is published.
        await _connection.PingAsync().ConfigureAwait(false);
        _reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var msg in sub.Msgs.ReadAllAsync(_stop.Token).ConfigureAwait(false)) Record(msg);
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
            finally
            {
                await sub.DisposeAsync().ConfigureAwait(false);
            }
        });
    }

    public void MarkPublished(int slot) => _published[slot] = Stopwatch.GetTimestamp();

    private void Record(NatsMsg<byte[]> msg)
    {
        var now = Stopwatch.GetTimestamp();
        var slot = Slot(msg.Subject, msg.Headers);
        if (slot < 0 || slot >= _arrived.Length)
        {
            Interlocked.Increment(ref _unmatched);
            return;
        }

        var msgId = msg.Headers is { } h && h.TryGetValue("Nats-Msg-Id", out var id) ? id.ToString() : "";
        if (_arrived[slot] != 0)
        {
            Interlocked.Increment(ref _duplicates);
            if (!string.Equals(Volatile.Read(ref _msgIds[slot]), msgId, StringComparison.Ordinal)) Interlocked.Increment(ref _duplicatesOtherMsgId);
            return;
        }

        Volatile.Write(ref _msgIds[slot], msgId);
        _arrived[slot] = now;
        Interlocked.Increment(ref _arrivedCount);
    }

    private static int Slot(string subject, NatsHeaders? headers)
    {
        if (headers is null || !headers.TryGetValue(RunnerHeaders.Correlation, out var correlation)) return -1;
        var id = correlation.ToString();
        if (id.Length < 2 || id[0] != 'o' || !int.TryParse(id.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var first)) return -1;
        var type = subject[(subject.LastIndexOf('.') + 1)..];
        return OrderFlow.CommandIndex(type) is var k and >= 0 ? first + k : -1;
    }

    /// <summary>Waits until the commands of slots [from, from + count) have all arrived or <paramref name="deadline"/> passes.</summary>
    public async Task<bool> WaitAsync(int from, int count, DateTime deadline)
    {
        var next = from;
        while (true)
        {
            // Arrival times are stamped by the reader; this loop only decides when to stop waiting.
            while (next < from + count && Volatile.Read(ref _arrived[next]) != 0) next++;
            if (next == from + count) return true;
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(2).ConfigureAwait(false);
        }
    }

    /// <summary>Measurements of slots [from, from + count): throughput from the first publish to the last command.</summary>
    public PhaseStats Stats(int from, int count)
    {
        var latencies = new List<double>(count);
        long first = long.MaxValue, last = 0;
        for (var i = from; i < from + count; i++)
        {
            if (_published[i] != 0) first = Math.Min(first, _published[i]);
            if (_arrived[i] == 0 || _published[i] == 0) continue;
            last = Math.Max(last, _arrived[i]);
            latencies.Add(Stopwatch.GetElapsedTime(_published[i], _arrived[i]).TotalMilliseconds);
        }

        latencies.Sort();
        var seconds = last > first ? Stopwatch.GetElapsedTime(first, last).TotalSeconds : 0;
        return new PhaseStats(count, latencies.Count, seconds, latencies.Count > 0 && seconds > 0 ? latencies.Count / seconds : 0,
            Percentile(latencies, 0.50), Percentile(latencies, 0.90), Percentile(latencies, 0.99), latencies.Count > 0 ? latencies[^1] : double.NaN);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}

/// <summary>One phase's numbers.</summary>
internal sealed record PhaseStats(int Expected, int Arrived, double Seconds, double Rate, double P50, double P90, double P99, double Max);
