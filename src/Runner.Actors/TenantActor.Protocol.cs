namespace Runner.Actors;

/// <summary>The messages a tenant answers from outside (the shard region, placement, the admin endpoint).</summary>
public sealed partial class TenantActor
{
    /// <summary>Starts the tenant (placement does this without waiting for a message); replied with <see cref="Started"/>.</summary>
    public sealed record Start
    {
        /// <summary>The instance.</summary>
        public static Start Instance { get; } = new();
    }

    /// <summary>
    /// Sharding's hand-off stop message: stop consuming, let in-flight events finish (applied, commands
    /// acknowledged, acked), then stop. A plain PoisonPill would drop them to redelivery instead.
    /// </summary>
    public sealed record HandOff
    {
        /// <summary>The instance.</summary>
        public static HandOff Instance { get; } = new();
    }

    /// <summary>Reply to <see cref="Start"/>.</summary>
    public sealed record Started(string Tenant);

    /// <summary>Asks for a summary; replied with <see cref="TenantView"/>.</summary>
    public sealed record GetTenantView
    {
        /// <summary>The instance.</summary>
        public static GetTenantView Instance { get; } = new();
    }

    /// <summary>A tenant's summary.</summary>
    /// <param name="Tenant">The tenant.</param>
    /// <param name="ActiveSagas">Saga instances in memory.</param>
    /// <param name="Consumers">Running consumers.</param>
    /// <param name="Status">running, acquiring custody, not running (and why), handing off.</param>
    public sealed record TenantView(string Tenant, int ActiveSagas, int Consumers, string Status);
}
