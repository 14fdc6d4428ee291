namespace Runner.Placement;

/// <summary>
/// Who holds a tenant's state. A tenant's saga state lives in the LMDB volume of one node; before a
/// TenantActor runs anything it acquires custody (which may bring the state over from the previous
/// owner), and when it is handed off it releases custody (which may ship the state to the node placement names).
/// A node without placement (one node, tests) keeps custody of everything: <see cref="LocalCustody"/>.
/// </summary>
public interface ITenantCustody
{
    /// <summary>Asks for custody of <paramref name="tenant"/> on this node; called before the tenant starts.</summary>
    Task<CustodyDecision> AcquireAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// Called once the handed-off tenant and all of its persistent children have stopped: hands the state on if the
    /// tenant now belongs elsewhere. Returns what was done, for the log and the drain report.
    /// </summary>
    Task<string> ReleaseAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// Told when a tenant that ran here has stopped, however it stopped (hand-off, a forced stop, a failure), or when a
    /// grant came after its requester stopped waiting: its state is no longer in use here, so a release requested by the
    /// node placement now names can proceed. <paramref name="lease"/> is the grant's <see cref="CustodyDecision.Lease"/>:
    /// a grant made since (the tenant started here again) is kept.
    /// </summary>
    void Stopped(string tenant, long lease);
}

/// <summary>The answer to <see cref="ITenantCustody.AcquireAsync"/>.</summary>
/// <param name="Granted">Whether the tenant may run here now.</param>
/// <param name="Detail">What happened (imported state, fresh tenant) or why not (owned by another node).</param>
public sealed record CustodyDecision(bool Granted, string Detail)
{
    /// <summary>Identifies a grant, for <see cref="ITenantCustody.Stopped"/> (0 where custody does not track grants).</summary>
    public long Lease { get; init; }

    /// <summary>Granted with the state already on this node.</summary>
    public static CustodyDecision Local { get; } = new(true, "state is local");
}

/// <summary>Custody that is always granted and never moves anything: a node that owns every tenant it runs.</summary>
public sealed class LocalCustody : ITenantCustody
{
    /// <summary>The instance.</summary>
    public static LocalCustody Instance { get; } = new();

    private LocalCustody()
    {
    }

    /// <inheritdoc />
    public Task<CustodyDecision> AcquireAsync(string tenant, CancellationToken cancellationToken) => Task.FromResult(CustodyDecision.Local);

    /// <inheritdoc />
    public Task<string> ReleaseAsync(string tenant, CancellationToken cancellationToken) => Task.FromResult("state kept on this node");

    /// <inheritdoc />
    public void Stopped(string tenant, long lease)
    {
    }
}
