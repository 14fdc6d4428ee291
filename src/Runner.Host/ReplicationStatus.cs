using Runner.Placement.Lmdb;

namespace Runner.Host;

/// <summary>Journal replication as the admin API shows it (<c>GET /admin/replication</c>): off, or the node's replica logs.</summary>
public sealed class ReplicationStatus
{
    private JournalReplicator? _replicator;

    internal void Attach(JournalReplicator replicator) => _replicator = replicator;

    /// <summary>The answer of <c>GET /admin/replication</c>.</summary>
    public object ToJson() => _replicator is not { } r
        ? new { enabled = false, appends = 0L, tenants = Array.Empty<object>() }
        : new
        {
            enabled = true,
            appends = r.Appends,
            tenants = r.Logs().Select(l => new
            {
                tenant = l.Tenant,
                opened = l.Opened,
                position = l.Position,
                epoch = l.Epoch,
                appendsSinceBase = l.AppendsSinceBase,
                @base = l.BaseObject,
                fenced = l.Fence,
            }).ToArray(),
        };
}
