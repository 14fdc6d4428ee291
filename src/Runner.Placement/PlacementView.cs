using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace Runner.Placement;

/// <summary>
/// The node's cached view of placement: the bucket's entries (fed by <see cref="PlacementWatcher"/>) and the members
/// that are up with their roles. The allocation strategy asks it (locally, with a timeout); every change is
/// published on the event stream as <see cref="PlacementChanged"/> so the node can start newly placed tenants.
/// </summary>
public sealed class PlacementView : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ImmutableDictionary<string, string> _bucket = ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
    private ImmutableDictionary<Address, PlacementMember> _members = ImmutableDictionary<Address, PlacementMember>.Empty;
    private bool _bucketReady;

    /// <summary>Creates the view; <paramref name="usesBucket"/> = nothing is placed until the bucket has been read.</summary>
    public PlacementView(bool usesBucket)
    {
        _bucketReady = !usesBucket;
        Receive<GetPlacement>(_ => Sender.Tell(Snapshot()));
        Receive<BucketLoaded>(m =>
        {
            _bucket = m.Entries.WithComparers(StringComparer.Ordinal);
            _bucketReady = true;
            _log.Info("Placement bucket read: {0} tenant(s) placed", _bucket.Count);
            Changed();
        });
        Receive<BucketPut>(m =>
        {
            if (_bucket.TryGetValue(m.Tenant, out var old) && old == m.ShardId) return;
            _bucket = _bucket.SetItem(m.Tenant, m.ShardId);
            _log.Info("Placement: tenant {0} → {1}", m.Tenant, m.ShardId);
            Changed();
        });
        Receive<BucketDeleted>(m =>
        {
            if (!_bucket.ContainsKey(m.Tenant)) return;
            _bucket = _bucket.Remove(m.Tenant);
            _log.Info("Placement: tenant {0} removed from the bucket", m.Tenant);
            Changed();
        });
        Receive<ClusterEvent.MemberUp>(m => Up(m.Member));
        Receive<ClusterEvent.MemberWeaklyUp>(m => Up(m.Member));
        Receive<ClusterEvent.IMemberEvent>(m =>
        {
            if (m.Member.Status is MemberStatus.Up or MemberStatus.WeaklyUp) return;
            if (_members.ContainsKey(m.Member.Address))
            {
                _members = _members.Remove(m.Member.Address);
                Changed();
            }
        });
    }

    /// <summary>Props.</summary>
    public static Props Props(bool usesBucket) => Akka.Actor.Props.Create(() => new PlacementView(usesBucket));

    /// <inheritdoc />
    protected override void PreStart() =>
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));

    /// <inheritdoc />
    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);

    private void Up(Member member)
    {
        if (PlacementRoles.ShardIdOf(member.Roles) is not { } shardId)
        {
            _log.Warning("Member {0} has no shard-id role; it is not given tenants", member.Address);
            return;
        }

        _members = _members.SetItem(member.Address, new PlacementMember(member.Address, shardId,
            PlacementRoles.TenantsOf(member.Roles).ToImmutableHashSet(StringComparer.Ordinal), member.Roles.Contains(PlacementRoles.Open)));
        Changed();
    }

    private PlacementSnapshot Snapshot() => new(_bucket, [.. _members.Values], _bucketReady);

    private void Changed()
    {
        var snapshot = Snapshot();
        foreach (var tenant in snapshot.Conflicts)
            _log.Warning("Tenant {0} is allowlisted on several nodes; the lowest address wins", tenant);
        Context.System.EventStream.Publish(new PlacementChanged(snapshot));
    }

    /// <summary>Asks for the current <see cref="PlacementSnapshot"/>.</summary>
    public sealed record GetPlacement
    {
        /// <summary>The instance.</summary>
        public static GetPlacement Instance { get; } = new();
    }

    /// <summary>Published on the event stream after every change.</summary>
    public sealed record PlacementChanged(PlacementSnapshot Snapshot);

    /// <summary>The bucket's valid entries, read in full (replaces what the view held).</summary>
    public sealed record BucketLoaded(ImmutableDictionary<string, string> Entries);

    /// <summary>A valid entry was put.</summary>
    public sealed record BucketPut(string Tenant, string ShardId);

    /// <summary>An entry was deleted (or replaced by an invalid value).</summary>
    public sealed record BucketDeleted(string Tenant);
}
