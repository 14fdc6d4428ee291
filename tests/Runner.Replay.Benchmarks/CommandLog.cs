using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Runner.Nats;

namespace Runner.Replay.Benchmarks;

/// <summary>A command as the command stream stored it.</summary>
/// <param name="MsgId">Its <c>Nats-Msg-Id</c>.</param>
/// <param name="Type">Its command type (last subject token).</param>
/// <param name="Correlation">The saga instance it came from (<c>Runner-Correlation</c>).</param>
/// <param name="StoredAt">When JetStream stored it (message metadata).</param>
internal sealed record StoredCommand(string MsgId, string Type, string Correlation, DateTimeOffset StoredAt);

/// <summary>
/// Every command of the tenant in the command stream, in stream order, read by a consumer of its own (no acks, all
/// from the start): what the node published and JetStream kept, with JetStream's store time.
/// </summary>
internal sealed class CommandLog : IAsyncDisposable
{
    private readonly List<StoredCommand> _commands = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _reading = Task.CompletedTask;

    public int Count
    {
        get
        {
            lock (_commands) return _commands.Count;
        }
    }

    /// <summary>The commands read so far, from <paramref name="from"/> on.</summary>
    public IReadOnlyList<StoredCommand> Since(int from)
    {
        lock (_commands) return _commands.Skip(from).ToList();
    }

    public async Task StartAsync(INatsJSContext js, string stream, string subject)
    {
        // One filter subject on a plain consumer: nats-server 2.9 ignores filters of ordered consumers.
        var reader = await js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("replay-bench-reader")
        {
            FilterSubject = subject,
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
        });
        _reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var msg in reader.ConsumeAsync<byte[]>(cancellationToken: _stop.Token))
                {
                    var headers = msg.Headers;
                    var id = headers is not null && headers.TryGetValue(RunnerHeaders.MsgId, out var m) ? m.ToString() : "";
                    var correlation = headers is not null && headers.TryGetValue(RunnerHeaders.Correlation, out var c) ? c.ToString() : "";
                    var stored = msg.Metadata?.Timestamp ?? DateTimeOffset.UtcNow;
                    var command = new StoredCommand(id, msg.Subject[(msg.Subject.LastIndexOf('.') + 1)..], correlation, stored);
                    lock (_commands) _commands.Add(command);
                }
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
        });
    }

    /// <summary>Waits until <paramref name="count"/> commands were read; false at <paramref name="deadline"/>.</summary>
    public async Task<bool> WaitForAsync(int count, DateTime deadline)
    {
        while (Count < count)
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(20); // polling what the reader has seen
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _reading;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
