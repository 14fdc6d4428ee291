using Runner.Nats;
using Runner.Sagas;

namespace Runner.Actors;

/// <summary>What every TenantActor of a node shares.</summary>
/// <param name="Catalog">The saga definitions the node runs.</param>
/// <param name="Runtime">Runtime settings.</param>
/// <param name="Clock">The runtime's clock.</param>
/// <param name="Transport">Where commands and dead letters go.</param>
/// <param name="Nats">The NATS edge whose consumers feed the tenant; null runs the tenant without consumption (tests).</param>
public sealed record TenantServices(SagaCatalog Catalog, RuntimeSettings Runtime, IClock Clock, IRunnerTransport Transport, NatsEdge? Nats)
{
    /// <summary>Concurrent publishes per tenant.</summary>
    public int PublishParallelism => Nats?.Settings.PublishParallelism ?? 32;
}
