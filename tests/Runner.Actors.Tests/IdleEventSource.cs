using System.Runtime.CompilerServices;
using Akka.Configuration;
using NATS.Client.JetStream;
using Runner.Nats;

namespace Runner.Actors.Tests;

/// <summary>
/// An events stream with nothing in it, for specs of the tenant side that do not test consumption: every consumption waits
/// until it is stopped, no consumer exists, the stream is empty.
/// </summary>
public class IdleEventSource : ITenantEventSource
{
    public virtual NatsSettings Settings { get; } = NatsSettings.Create(ConfigurationFactory.Empty);

    public virtual async IAsyncEnumerable<INatsJSMsg<byte[]>> ConsumeInOrderAsync(string tenant, string saga, Func<CancellationToken, Task<ulong?>> checkpoint,
        Action<ConsumerStart>? started, [EnumeratorCancellation] CancellationToken cancellationToken, Action<string>? interrupted = null)
    {
        var after = await checkpoint(cancellationToken).ConfigureAwait(false) ?? 0;
        started?.Invoke(new ConsumerStart(NatsEdge.ConsumerName(tenant, saga), after + 1, false, after, 0, "start"));
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        yield break;
    }

    public async IAsyncEnumerable<INatsJSMsg<byte[]>> ReadTenantEventsAsync(string tenant, ulong fromSeq, ulong toSeq, string readerName,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield break;
    }

    public Task<(ulong First, ulong Last)> EventsRangeAsync(CancellationToken cancellationToken) => Task.FromResult((0UL, 0UL));

    public Task<bool> DeleteConsumerAsync(string tenant, string saga, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<(ulong AckFloor, ulong Pending, ulong AckPending)?> ConsumerPositionAsync(string tenant, string saga, CancellationToken cancellationToken) =>
        Task.FromResult<(ulong, ulong, ulong)?>(null);

    public Task<ulong?> AckFloorAsync(string tenant, string saga, CancellationToken cancellationToken) => Task.FromResult<ulong?>(null);
}
