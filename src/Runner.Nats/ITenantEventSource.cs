using NATS.Client.JetStream;

namespace Runner.Nats;

/// <summary>
/// What a tenant reads from the events stream: its events per saga in stream order, from its checkpoint on; a range of its
/// events for a dry run; its consumers' positions; and the stream's range. <see cref="NatsEdge"/> implements it on a real
/// server; specs of the tenant side substitute it where a server is not what they test.
/// </summary>
public interface ITenantEventSource
{
    /// <summary>The NATS settings the consumption runs with (parallelism, timeouts, subjects).</summary>
    NatsSettings Settings { get; }

    /// <summary>
    /// The events of a (tenant, saga) in stream order, from its first unapplied event after <paramref name="checkpoint"/>;
    /// a (re)start after an error, a reconnect or silence begins there again. Ends only when
    /// <paramref name="cancellationToken"/> fires.
    /// </summary>
    IAsyncEnumerable<INatsJSMsg<byte[]>> ConsumeInOrderAsync(string tenant, string saga, Func<CancellationToken, Task<ulong?>> checkpoint,
        Action<ConsumerStart>? started, CancellationToken cancellationToken, Action<string>? interrupted = null);

    /// <summary>The tenant's events from <paramref name="fromSeq"/> to <paramref name="toSeq"/>, read without moving any consumer.</summary>
    IAsyncEnumerable<INatsJSMsg<byte[]>> ReadTenantEventsAsync(string tenant, ulong fromSeq, ulong toSeq, string readerName,
        CancellationToken cancellationToken);

    /// <summary>The first and last sequence of the events stream now.</summary>
    Task<(ulong First, ulong Last)> EventsRangeAsync(CancellationToken cancellationToken);

    /// <summary>Deletes the (tenant, saga) consumer(s); false when there was none.</summary>
    Task<bool> DeleteConsumerAsync(string tenant, string saga, CancellationToken cancellationToken);

    /// <summary>The (tenant, saga) consumer's ack floor, pending and ack-pending counts, or null when it does not exist.</summary>
    Task<(ulong AckFloor, ulong Pending, ulong AckPending)?> ConsumerPositionAsync(string tenant, string saga, CancellationToken cancellationToken);

    /// <summary>The stream sequence up to which the (tenant, saga) consumer has every message acked, or null.</summary>
    Task<ulong?> AckFloorAsync(string tenant, string saga, CancellationToken cancellationToken);
}
