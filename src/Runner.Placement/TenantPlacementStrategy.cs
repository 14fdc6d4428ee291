using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace Runner.Placement;

/// <summary>
/// Shard allocation that follows placement (after Akka's <c>ExternalShardAllocationStrategy</c>: a locally cached
/// view, asked with a timeout). A tenant shard goes to the region of the member whose shard id placement names;
/// if that member is absent, or the view does not answer in time, the allocation fails (the coordinator retries it
/// when the tenant is asked for again) and the tenant runs nowhere: it is never placed by guess. It never returns a
/// region that is not in the current allocations. Rebalance returns tenants whose placement names another member
/// that is up (at most <see cref="PlacementSettings.MaxMovesPerRebalance"/> per round), and tenants placed nowhere
/// any more (they stop); a tenant re-placed onto an absent member stays where it runs until that member is up.
/// </summary>
public sealed class TenantPlacementStrategy : IShardAllocationStrategy
{
    private readonly IActorRef _view;
    private readonly PlacementSettings _settings;
    private readonly Func<IActorRef, Address> _addressOf;
    private readonly ILoggingAdapter _log;
    private readonly ConcurrentDictionary<string, DateTime> _reported = new(StringComparer.Ordinal);

    // Allocations returned but not yet in the coordinator's allocations: a burst of new tenants (allocated concurrently)
    // counts them, so open tenants spread over the open nodes instead of all going to the one that looked emptiest.
    private readonly ConcurrentDictionary<string, (Address At, DateTime Since)> _allocating = new(StringComparer.Ordinal);

    /// <summary>Creates the strategy over the node's <see cref="PlacementView"/>.</summary>
    public TenantPlacementStrategy(ActorSystem system, IActorRef view, PlacementSettings settings)
        : this(view, settings, LocalAware(system), Logging.GetLogger(system, typeof(TenantPlacementStrategy)))
    {
    }

    /// <summary>For specs: <paramref name="addressOf"/> says where a region is.</summary>
    internal TenantPlacementStrategy(IActorRef view, PlacementSettings settings, Func<IActorRef, Address> addressOf, ILoggingAdapter log)
    {
        _view = view;
        _settings = settings;
        _addressOf = addressOf;
        _log = log;
    }

    /// <summary>A local region's path has no host and port: it is at the node's own address.</summary>
    private static Func<IActorRef, Address> LocalAware(ActorSystem system) =>
        region => region.Path.Address.HasLocalScope ? Cluster.Get(system).SelfAddress : region.Path.Address;

    /// <inheritdoc />
    public async Task<IActorRef> AllocateShard(IActorRef requester, string shardId,
        IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        ArgumentNullException.ThrowIfNull(currentShardAllocations);
        var snapshot = await AskView().ConfigureAwait(false);
        if (snapshot is null)
        {
            Report(shardId, $"tenant {shardId} not allocated: the placement view did not answer within {_settings.AskTimeout}");
            return null!;
        }

        // Deciding and counting the allocation is one step: allocations of a burst run concurrently.
        lock (_allocating) return Allocate(shardId, snapshot, currentShardAllocations);
    }

    private IActorRef Allocate(string shardId, PlacementSnapshot snapshot, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        var decision = snapshot.Resolve(shardId, TenantsOn(currentShardAllocations));
        if (!snapshot.BucketReady)
        {
            Report(shardId, $"tenant {shardId} not allocated yet: the placement bucket has not been read");
            return null!;
        }

        if (decision.Member is not { } member)
        {
            Report(shardId, decision.Describe() + "; it is not run");
            return null!;
        }

        var region = RegionAt(currentShardAllocations, member.Address);
        if (region is null)
        {
            Report(shardId, $"tenant {shardId} is placed on {member.ShardId}, whose tenant region is not registered yet");
            return null!;
        }

        _reported.TryRemove(shardId, out _);
        _allocating[shardId] = (member.Address, DateTime.UtcNow);
        _log.Info("Tenant {0} allocated to {1} ({2})", shardId, member.ShardId, decision.Source.ToString().ToLowerInvariant());
        return region;
    }

    /// <inheritdoc />
    public async Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations,
        IImmutableSet<string> rebalanceInProgress)
    {
        ArgumentNullException.ThrowIfNull(currentShardAllocations);
        ArgumentNullException.ThrowIfNull(rebalanceInProgress);
        var snapshot = await AskView().ConfigureAwait(false);
        if (snapshot is null || !snapshot.BucketReady) return ImmutableHashSet<string>.Empty;

        var tenantsOn = TenantsOn(currentShardAllocations);
        var moves = ImmutableHashSet.CreateBuilder<string>(StringComparer.Ordinal);
        foreach (var (region, shards) in currentShardAllocations.OrderBy(kv => AddressOf(kv.Key), PlacementSnapshot.AddressOrder))
        {
            var at = AddressOf(region);
            foreach (var shard in shards.Order(StringComparer.Ordinal))
            {
                if (moves.Count >= _settings.MaxMovesPerRebalance) return moves.ToImmutable();
                if (rebalanceInProgress.Contains(shard)) continue;
                var decision = snapshot.Resolve(shard, tenantsOn);
                if (decision.ShardId is null)
                {
                    _log.Info("Tenant {0} is placed nowhere any more; stopping it", shard);
                    moves.Add(shard);
                }
                else if (decision.Source == PlacementSource.Open && snapshot.Members.Any(m => m.Open && m.Address.Equals(at)))
                {
                    // An open tenant stays on the open node it runs on: no churn as load changes.
                }
                else if (decision.Member is { } target && !target.Address.Equals(at) && RegionAt(currentShardAllocations, target.Address) is not null)
                {
                    _log.Info("Tenant {0} moves to {1} ({2})", shard, target.ShardId, decision.Source.ToString().ToLowerInvariant());
                    moves.Add(shard);
                }
            }
        }

        return moves.ToImmutable();
    }

    private async Task<PlacementSnapshot?> AskView()
    {
        try
        {
            return await _view.Ask<PlacementSnapshot>(PlacementView.GetPlacement.Instance, _settings.AskTimeout).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    private Func<Address, int> TenantsOn(IImmutableDictionary<IActorRef, IImmutableList<string>> allocations)
    {
        var counts = allocations.ToDictionary(kv => AddressOf(kv.Key), kv => kv.Value.Count);
        var allocated = allocations.Values.SelectMany(v => v).ToHashSet(StringComparer.Ordinal);
        var stale = DateTime.UtcNow - TimeSpan.FromSeconds(30);
        foreach (var (shard, (at, since)) in _allocating)
        {
            // Once the coordinator has it (or it never took it), it is no longer counted here.
            if (allocated.Contains(shard) || since < stale) _allocating.TryRemove(shard, out _);
            else counts[at] = counts.GetValueOrDefault(at) + 1;
        }

        return address => counts.GetValueOrDefault(address);
    }

    private IActorRef? RegionAt(IImmutableDictionary<IActorRef, IImmutableList<string>> allocations, Address address) =>
        allocations.Keys.FirstOrDefault(r => AddressOf(r).Equals(address));

    private Address AddressOf(IActorRef region) => _addressOf(region);

    private void Report(string tenant, string message)
    {
        var now = DateTime.UtcNow;
        var last = _reported.GetOrAdd(tenant, DateTime.MinValue);
        if (now - last < _settings.ReportInterval) return;
        _reported[tenant] = now;
        _log.Warning(message);
    }
}
