namespace Runner.Placement.Custody;

/// <summary>
/// A tenant's replica log as custody needs it (journal replication, <c>runner.replication</c>): before a tenant runs on a
/// node its local state is brought in line with the log (rebuilt from it when the node has none), and the log is closed to
/// every other writer; before it leaves, its appends are finished.
/// </summary>
public interface ITenantLog
{
    /// <summary>
    /// Called when custody is granted, before the tenant runs: rebuilds the tenant's state from its log when this node holds
    /// none, otherwise drops from the log what this node never stored; then appends a marker that makes any other node's
    /// appends fail. Returns what it did, for the log and the custody detail.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="epoch">Its custody epoch here (written into the markers).</param>
    /// <param name="imported">Its state was just imported from a node that released it without a log: that state becomes the
    /// log's new base.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    Task<string> OpenAsync(string tenant, long epoch, bool imported, CancellationToken cancellationToken);

    /// <summary>Whether the tenant has a replica log (some node opened it with replication on).</summary>
    Task<bool> ExistsAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// Called before the tenant leaves this node (its state is fenced here and deleted next): waits for its appends, and
    /// leaves its whole state in the log as a new base, so the next owner rebuilds it from one base. Returns what it did.
    /// </summary>
    Task<string> CloseAsync(string tenant, CancellationToken cancellationToken);
}
