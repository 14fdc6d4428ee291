using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Runner.Actors.Protocol;
using Runner.Nats;

namespace Runner.Actors;

/// <summary>
/// Publishes a tenant's outbox entries to JetStream (each with its deterministic Nats-Msg-Id, retried with backoff
/// while NATS is down) and tells the saga instance which ones were acknowledged.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Cancelled in PostStop; publishes still running must observe the token, so it is not disposed.")]
internal sealed class OutboxPublisher : ReceiveActor
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _slots;

    public OutboxPublisher(string tenant, IRunnerTransport transport, int parallelism)
    {
        _slots = new SemaphoreSlim(parallelism);
        var log = Context.GetLogger();
        Receive<PublishCommands>(p =>
        {
            var saga = Sender;
            var token = _stopping.Token;
            Publish(tenant, transport, p, token).PipeTo(saga,
                success: ids => new CommandsPublished(ids),
                failure: e =>
                {
                    if (!token.IsCancellationRequested) log.Warning(e, "Publishing commands of {0}/{1} failed", p.Saga, p.CorrelationId);
                    return new CommandsPublished([]);
                });
        });
    }

    private async Task<ImmutableArray<string>> Publish(string tenant, IRunnerTransport transport, PublishCommands p, CancellationToken token)
    {
        // One instance's entries go out in decision order; instances publish concurrently up to the slot count.
        await _slots.WaitAsync(token).ConfigureAwait(false);
        try
        {
            var done = ImmutableArray.CreateBuilder<string>(p.Entries.Length);
            foreach (var entry in p.Entries)
            {
                await transport.PublishCommandAsync(tenant, p.Saga, p.CorrelationId, entry.CommandType, entry.Payload, entry.MsgId, entry.TraceParent, token)
                    .ConfigureAwait(false);
                RunnerMetrics.CommandsPublished.Add(1, new KeyValuePair<string, object?>("tenant", tenant));
                done.Add(entry.MsgId);
            }

            return done.ToImmutable();
        }
        finally
        {
            _slots.Release();
        }
    }

    protected override void PostStop()
    {
        // Not disposed: publishes still running observe the cancelled token.
        _stopping.Cancel();
        base.PostStop();
    }
}
