using Runner.Placement;
using Runner.Nats;
using Runner.Sagas;

namespace Runner.Actors;

/// <summary>What every TenantActor of a node shares.</summary>
/// <param name="Catalog">The saga definitions the node runs.</param>
/// <param name="Runtime">Runtime settings.</param>
/// <param name="Clock">The runtime's clock.</param>
/// <param name="Transport">Where commands and dead letters go.</param>
/// <param name="Events">Where the tenant's events come from (the node's <see cref="NatsEdge"/>).</param>
public sealed record TenantServices(SagaCatalog Catalog, RuntimeSettings Runtime, IClock Clock, IRunnerTransport Transport, ITenantEventSource Events)
{
    /// <summary>Who holds tenants' state (placement and moves); <see cref="LocalCustody"/> by default.</summary>
    public ITenantCustody Custody { get; init; } = LocalCustody.Instance;

    /// <summary>How long a tenant refused custody waits before asking again (<c>runner.custody.retry-after</c>).</summary>
    public TimeSpan CustodyRetry { get; init; } = new Runner.Placement.Custody.CustodySettings().RetryAfter;

    /// <summary>Longest a custody acquire or release may take, moving a large tenant's state included (<c>runner.custody.timeout</c>).</summary>
    public TimeSpan CustodyTimeout { get; init; } = new Runner.Placement.Custody.CustodySettings().Timeout;

    /// <summary>
    /// The node's tenant shard region, which a tenant asks to start it again after a hand-off (it then runs wherever it
    /// is allocated next); null where tenants run without sharding (tests).
    /// </summary>
    public Func<Akka.Actor.IActorRef>? Region { get; init; }

    /// <summary>Concurrent publishes per tenant.</summary>
    public int PublishParallelism => Events.Settings.PublishParallelism;
}
