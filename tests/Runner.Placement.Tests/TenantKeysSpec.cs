using Xunit;

namespace Runner.Placement.Tests;

/// <summary>Every per-tenant key format is built and parsed by <see cref="TenantKeys"/>, and the two agree.</summary>
public sealed class TenantKeysSpec
{
    [Theory]
    [InlineData("acme", "order", "o-1")]
    [InlineData("t_2", "order", "a|b|c")] // a correlation id may contain the separator
    [InlineData("t3", "order", "")]
    public void A_saga_persistence_id_should_parse_back_to_its_parts(string tenant, string saga, string correlation)
    {
        var pid = TenantKeys.Saga(tenant, saga, correlation);
        Assert.StartsWith(TenantKeys.SagaPrefix(tenant, saga), pid, StringComparison.Ordinal);
        Assert.StartsWith(TenantKeys.SagaPrefix(tenant), pid, StringComparison.Ordinal);
        Assert.True(TenantKeys.TryParseSaga(pid, out var t, out var s, out var c));
        Assert.Equal((tenant, saga, correlation), (t, s, c));
    }

    [Theory]
    [InlineData("checkpoint|acme")]
    [InlineData("schedule|acme")]
    [InlineData("saga|acme")]
    [InlineData("saga||order|o-1")]
    [InlineData("sagas|acme|order|o-1")]
    [InlineData("")]
    public void Other_ids_should_not_parse_as_saga_instances(string pid) =>
        Assert.False(TenantKeys.TryParseSaga(pid, out _, out _, out _));

    [Fact]
    public void The_tenant_level_ids_and_the_tag_should_have_their_documented_formats()
    {
        Assert.Equal("checkpoint|acme", TenantKeys.Checkpoints("acme"));
        Assert.Equal("schedule|acme", TenantKeys.Schedule("acme"));
        Assert.Equal("timers|acme", TenantKeys.TimersTag("acme"));
        Assert.Equal("saga|acme|order|o-1", TenantKeys.Saga("acme", "order", "o-1"));
    }

    [Fact]
    public void An_instance_key_should_parse_back_with_a_separator_in_the_correlation_id()
    {
        Assert.True(TenantKeys.TryParseInstance(TenantKeys.Instance("order", "x|y"), out var saga, out var correlation));
        Assert.Equal(("order", "x|y"), (saga, correlation));
        Assert.False(TenantKeys.TryParseInstance("no-separator", out _, out _));
    }

    [Fact]
    public void Custody_should_move_instances_and_checkpoints_but_not_the_schedule_index()
    {
        var moved = TenantKeys.MovedOf("acme");
        Assert.Equal(["checkpoint|acme"], moved.Exact);
        Assert.Equal(["saga|acme|"], moved.Prefixes);
        var all = TenantKeys.AllOf("acme");
        Assert.Equal(["checkpoint|acme", "schedule|acme"], all.Exact);
        Assert.Equal(["saga|acme|"], all.Prefixes);
    }
}
