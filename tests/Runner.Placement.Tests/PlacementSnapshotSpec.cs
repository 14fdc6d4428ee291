using System.Collections.Immutable;
using Akka.Actor;
using Xunit;

namespace Runner.Placement.Tests;

public sealed class PlacementSnapshotSpec
{
    internal static readonly Address A = new("akka.tcp", "runner", "10.0.0.1", 4053);
    internal static readonly Address B = new("akka.tcp", "runner", "10.0.0.2", 4053);
    internal static readonly Address C = new("akka.tcp", "runner", "10.0.0.3", 4053);

    internal static PlacementMember Member(Address at, string shardId, bool open = false, params string[] allowlist) =>
        new(at, shardId, allowlist.ToImmutableHashSet(StringComparer.Ordinal), open);

    internal static PlacementSnapshot Snapshot(IEnumerable<PlacementMember> members, params (string Tenant, string Shard)[] bucket) =>
        new(bucket.ToImmutableDictionary(b => b.Tenant, b => b.Shard, StringComparer.Ordinal), [.. members], true);

    [Fact]
    public void Resolve_should_let_the_bucket_win_over_an_allowlist()
    {
        var s = Snapshot([Member(A, "node-a", false, "t1"), Member(B, "node-b")], ("t1", "node-b"));
        var d = s.Resolve("t1");
        Assert.Equal(("node-b", PlacementSource.Bucket, B), (d.ShardId, d.Source, d.Member!.Address));
    }

    [Fact]
    public void Resolve_should_follow_an_allowlist_when_the_bucket_does_not_name_the_tenant()
    {
        var s = Snapshot([Member(A, "node-a", false, "t1"), Member(B, "node-b", false, "t2")], ("t3", "node-a"));
        Assert.Equal("node-b", s.Resolve("t2").ShardId);
        Assert.Equal(PlacementSource.Allowlist, s.Resolve("t2").Source);
    }

    [Fact]
    public void Resolve_should_give_a_tenant_on_two_allowlists_to_the_lowest_address_and_report_it()
    {
        var s = Snapshot([Member(B, "node-b", false, "t1"), Member(A, "node-a", false, "t1")]);
        Assert.Equal("node-a", s.Resolve("t1").ShardId);
        Assert.Equal(["t1"], s.Conflicts);
    }

    [Fact]
    public void Resolve_should_put_an_unplaced_tenant_on_the_open_node_with_fewest_tenants()
    {
        var s = Snapshot([Member(A, "node-a", open: true), Member(B, "node-b", open: true), Member(C, "node-c", false, "t9")]);
        var d = s.Resolve("t1", at => at.Equals(A) ? 5 : 1);
        Assert.Equal(("node-b", PlacementSource.Open), (d.ShardId, d.Source));
        Assert.Equal("node-a", s.Resolve("t1").ShardId); // ties: lowest address
    }

    [Fact]
    public void Resolve_should_place_a_tenant_nowhere_when_nothing_names_it_and_no_node_is_open()
    {
        var d = Snapshot([Member(A, "node-a", false, "t1")]).Resolve("t2");
        Assert.Null(d.ShardId);
        Assert.False(d.CanRun);
        Assert.Contains("placed nowhere", d.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_should_not_run_a_tenant_whose_node_is_absent_anywhere_else()
    {
        var d = Snapshot([Member(A, "node-a", open: true)], ("t1", "node-c")).Resolve("t1");
        Assert.Equal("node-c", d.ShardId);
        Assert.Null(d.Member);
        Assert.False(d.CanRun);
        Assert.Contains("not in the cluster", d.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_should_place_nothing_before_a_configured_bucket_was_read()
    {
        var s = Snapshot([Member(A, "node-a", open: true)]) with { BucketReady = false };
        Assert.False(s.Resolve("t1").CanRun);
    }

    [Fact]
    public void Roles_should_round_trip_shard_id_and_allowlist()
    {
        var roles = PlacementRoles.For("node-a", ["t1", "t2"], open: false);
        Assert.Equal("node-a", PlacementRoles.ShardIdOf(roles));
        Assert.Equal(["t1", "t2"], PlacementRoles.TenantsOf(roles));
        Assert.DoesNotContain(PlacementRoles.Open, roles);
        Assert.Contains(PlacementRoles.Open, PlacementRoles.For("node-b", [], open: true));
    }
}
