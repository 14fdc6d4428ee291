using System.Text.RegularExpressions;
using Xunit;

namespace Runner.Sagas.Tests;

public sealed class TenantIdSpec
{
    public static TheoryData<string> Valid => new()
    {
        "a",
        "0",
        "acme",
        "acme-eu_1",
        "9lives",
        "a-",
        "a_",
        new string('a', 63),
    };

    public static TheoryData<string?, string> Invalid => new()
    {
        { null, "null" },
        { "", "empty" },
        { "Acme", "'A'" },
        { "acMe", "'M' at position 2" },
        { new string('a', 64), "64 characters" },
        { "-acme", "starts with '-'" },
        { "_acme", "starts with '_'" },
        { "acme.eu", "'.' at position 4" },
        { "acme.>", "'.' at position 4" },
        { ">", "starts with '>'" },
        { "*", "starts with '*'" },
        { "ac*me", "'*' at position 2" },
        { "acme eu", "character U+0020 at position 4" },
        { "acme\n", "character U+000A at position 4" },
        { "café", "'é' at position 3" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void TenantId_should_accept_valid_ids(string value)
    {
        Assert.True(TenantId.IsValid(value));
        Assert.Equal(value, TenantId.Validate(value));
        Assert.Matches(new Regex(TenantId.Pattern), value);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void TenantId_should_reject_invalid_ids_with_a_clear_message(string? value, string problem)
    {
        Assert.False(TenantId.IsValid(value));
        var ex = Assert.Throws<ArgumentException>(() => TenantId.Validate(value));
        Assert.Contains(value is null ? "Tenant id null" : $"Tenant id \"{value}\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Contains(TenantId.Pattern, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void TenantId_pattern_should_agree_with_the_check(string? value, string problem)
    {
        _ = problem;
        if (value is null) return;
        // A regex '$' also matches before a final newline; \z is what the check enforces.
        var anchored = new Regex(TenantId.Pattern.Replace("$", "\\z", StringComparison.Ordinal));
        Assert.DoesNotMatch(anchored, value);
    }

    [Fact]
    public void SagaName_should_follow_the_tenant_rule()
    {
        Assert.Equal(TenantId.Pattern, SagaName.Pattern);
        Assert.Equal("order", SagaName.Validate("order"));
        Assert.True(SagaName.IsValid("payment-v2"));
        Assert.False(SagaName.IsValid("Order"));
        var ex = Assert.Throws<ArgumentException>(() => SagaName.Validate("my.saga"));
        Assert.Contains("Saga name \"my.saga\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains(SagaName.Pattern, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IncomingEvent_should_reject_an_invalid_tenant_or_event_type()
    {
        var ex = Assert.Throws<ArgumentException>(() => new IncomingEvent("Acme", "OrderPlaced", default, null, null, 1, default));
        Assert.Contains("Tenant id \"Acme\"", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => new IncomingEvent("acme", "Order.Placed", default, null, null, 1, default));
        Assert.Contains("Event type \"Order.Placed\"", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new IncomingEvent("acme", ">", default, null, null, 1, default));
    }
}
