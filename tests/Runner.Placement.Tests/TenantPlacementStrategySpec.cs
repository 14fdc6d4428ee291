using System.Collections.Immutable;
using Akka.Actor;
using Xunit;
using static Runner.Placement.Tests.PlacementSnapshotSpec;

namespace Runner.Placement.Tests;

public sealed class TenantPlacementStrategySpec : Akka.TestKit.Xunit2.TestKit
{
    private readonly IActorRef _regionA;
    private readonly IActorRef _regionB;
    private readonly Dictionary<IActorRef, Address> _addresses;
    private PlacementSnapshot _snapshot = PlacementSnapshot.Empty;

    public TenantPlacementStrategySpec()
    {
        _regionA = CreateTestProbe("region-a").Ref;
        _regionB = CreateTestProbe("region-b").Ref;
        _addresses = new Dictionary<IActorRef, Address> { [_regionA] = A, [_regionB] = B };
    }

    private TenantPlacementStrategy Strategy(PlacementSettings? settings = null, bool silentView = false)
    {
        var view = silentView ? CreateTestProbe().Ref : Sys.ActorOf(Props.Create(() => new FixedView(() => _snapshot)));
        return new TenantPlacementStrategy(view, settings ?? new PlacementSettings { AskTimeout = TimeSpan.FromMilliseconds(300) },
            r => _addresses[r], Sys.Log);
    }

    private IImmutableDictionary<IActorRef, IImmutableList<string>> Allocations(string[] onA, string[] onB) =>
        ImmutableDictionary<IActorRef, IImmutableList<string>>.Empty
            .Add(_regionA, onA.ToImmutableList())
            .Add(_regionB, onB.ToImmutableList());

    [Fact]
    public async Task AllocateShard_should_pick_the_region_of_the_allowlisting_node()
    {
        _snapshot = Snapshot([Member(A, "node-a", false, "t1"), Member(B, "node-b", false, "t2")]);
        Assert.Same(_regionB, await Strategy().AllocateShard(_regionA, "t2", Allocations([], [])));
        Assert.Same(_regionA, await Strategy().AllocateShard(_regionB, "t1", Allocations([], [])));
    }

    [Fact]
    public async Task AllocateShard_should_follow_the_bucket()
    {
        _snapshot = Snapshot([Member(A, "node-a", false, "t1"), Member(B, "node-b")], ("t1", "node-b"));
        Assert.Same(_regionB, await Strategy().AllocateShard(_regionA, "t1", Allocations([], [])));
    }

    [Fact]
    public async Task AllocateShard_should_refuse_a_tenant_whose_node_is_absent_or_that_nothing_places()
    {
        _snapshot = Snapshot([Member(A, "node-a"), Member(B, "node-b")], ("t1", "node-c"));
        Assert.Null(await Strategy().AllocateShard(_regionA, "t1", Allocations([], [])));
        Assert.Null(await Strategy().AllocateShard(_regionA, "t2", Allocations([], [])));
    }

    [Fact]
    public async Task AllocateShard_should_refuse_a_node_without_a_registered_region()
    {
        _snapshot = Snapshot([Member(A, "node-a"), Member(B, "node-b"), Member(C, "node-c")], ("t1", "node-c"));
        Assert.Null(await Strategy().AllocateShard(_regionA, "t1", Allocations([], [])));
    }

    [Fact]
    public async Task AllocateShard_should_refuse_when_the_view_does_not_answer_in_time()
    {
        _snapshot = Snapshot([Member(A, "node-a", open: true)]);
        Assert.Null(await Strategy(silentView: true).AllocateShard(_regionA, "t1", Allocations([], [])));
    }

    [Fact]
    public async Task AllocateShard_should_spread_a_burst_of_open_tenants_before_the_coordinator_records_them()
    {
        _snapshot = Snapshot([Member(A, "node-a", open: true), Member(B, "node-b", open: true)]);
        var strategy = Strategy();
        // Four new tenants at once: each allocation still sees the coordinator's empty allocations.
        var regions = await Task.WhenAll(new[] { "t1", "t2", "t3", "t4" }.Select(t => strategy.AllocateShard(_regionA, t, Allocations([], []))));
        Assert.Equal(2, regions.Count(r => ReferenceEquals(r, _regionA)));
        Assert.Equal(2, regions.Count(r => ReferenceEquals(r, _regionB)));
    }

    [Fact]
    public async Task Rebalance_should_return_misplaced_tenants_whose_target_is_up_and_skip_moves_in_progress()
    {
        _snapshot = Snapshot([Member(A, "node-a"), Member(B, "node-b")],
            ("t1", "node-b"), ("t2", "node-b"), ("t3", "node-a"), ("t4", "node-c"));
        var moves = await Strategy().Rebalance(Allocations(["t1", "t2", "t3", "t4"], []), ImmutableHashSet.Create("t2"));
        // t1 moves; t2 is already moving; t3 is home; t4's node is absent, so it stays where it runs.
        Assert.Equal(["t1"], moves.Order());
    }

    [Fact]
    public async Task Rebalance_should_stop_tenants_placed_nowhere_any_more()
    {
        _snapshot = Snapshot([Member(A, "node-a"), Member(B, "node-b")], ("t1", "node-a"));
        Assert.Equal(["t2"], (await Strategy().Rebalance(Allocations(["t1", "t2"], []), ImmutableHashSet<string>.Empty)).Order());
    }

    [Fact]
    public async Task Rebalance_should_cap_moves_per_round_and_keep_open_tenants_where_they_run()
    {
        var tenants = Enumerable.Range(0, 30).Select(i => $"t{i}").ToArray();
        _snapshot = Snapshot([Member(A, "node-a", open: true), Member(B, "node-b", open: true)],
            [.. tenants.Take(20).Select(t => (t, "node-b"))]);
        var moves = await Strategy(new PlacementSettings { MaxMovesPerRebalance = 7 }).Rebalance(Allocations(tenants, []), ImmutableHashSet<string>.Empty);
        Assert.Equal(7, moves.Count);
        Assert.All(moves, t => Assert.Contains(t, tenants.Take(20)));
    }

    [Fact]
    public async Task Rebalance_should_move_nothing_when_the_view_does_not_answer()
    {
        _snapshot = Snapshot([Member(A, "node-a"), Member(B, "node-b")], ("t1", "node-b"));
        Assert.Empty(await Strategy(silentView: true).Rebalance(Allocations(["t1"], []), ImmutableHashSet<string>.Empty));
    }

    private sealed class FixedView : ReceiveActor
    {
        public FixedView(Func<PlacementSnapshot> snapshot) => Receive<PlacementView.GetPlacement>(_ => Sender.Tell(snapshot()));
    }
}
