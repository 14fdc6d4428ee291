using System.Diagnostics.CodeAnalysis;
using System.Collections.Immutable;

namespace Runner.Placement;

/// <summary>
/// The one owner of every per-tenant key format of the runtime: persistence ids, the tag its schedule index follows,
/// and the sets of ids custody fences, moves and deletes. Built and parsed here only.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>saga|&lt;tenant&gt;|&lt;saga&gt;|&lt;correlation&gt;</c>: one saga instance (the correlation id may itself contain '|');</item>
/// <item><c>checkpoint|&lt;tenant&gt;</c>: the tenant's checkpoints and replay records;</item>
/// <item><c>schedule|&lt;tenant&gt;</c>: the tenant's schedule index (rebuilt on a new node, never moved);</item>
/// <item>tag <c>timers|&lt;tenant&gt;</c>: saga events that change timers or the outbox, followed by the schedule index.</item>
/// </list>
/// Tenant ids (<c>^[a-z0-9][a-z0-9_-]{0,62}$</c>) and saga names never contain '|', so each format parses unambiguously.
/// </remarks>
public static class TenantKeys
{
    private const string SagaKind = "saga|";
    private const string CheckpointKind = "checkpoint|";

    /// <summary>Persistence id of one saga instance.</summary>
    public static string Saga(string tenant, string saga, string correlationId) => $"{SagaKind}{tenant}|{saga}|{correlationId}";

    /// <summary>Prefix of every saga instance of the tenant.</summary>
    public static string SagaPrefix(string tenant) => $"{SagaKind}{tenant}|";

    /// <summary>Prefix of every instance of one saga of the tenant (what follows is the correlation id).</summary>
    public static string SagaPrefix(string tenant, string saga) => $"{SagaKind}{tenant}|{saga}|";

    /// <summary>Reads a saga instance's persistence id; false for any other id.</summary>
    public static bool TryParseSaga(string persistenceId, [NotNullWhen(true)] out string? tenant, [NotNullWhen(true)] out string? saga,
        [NotNullWhen(true)] out string? correlationId)
    {
        tenant = saga = correlationId = null;
        if (persistenceId is null || !persistenceId.StartsWith(SagaKind, StringComparison.Ordinal)) return false;
        var parts = persistenceId.Split('|', 4);
        if (parts.Length != 4 || parts[1].Length == 0 || parts[2].Length == 0) return false;
        (tenant, saga, correlationId) = (parts[1], parts[2], parts[3]);
        return true;
    }

    /// <summary>
    /// The tenant whose moved state (<see cref="MovedOf"/>: a saga instance or its checkpoints) <paramref name="persistenceId"/>
    /// belongs to, or null for any other id (the schedule index, which is rebuilt wherever the tenant runs).
    /// </summary>
    public static string? TenantOfMoved(string persistenceId)
    {
        ArgumentNullException.ThrowIfNull(persistenceId);
        if (persistenceId.StartsWith(SagaKind, StringComparison.Ordinal))
        {
            var end = persistenceId.IndexOf('|', SagaKind.Length);
            return end > SagaKind.Length ? persistenceId[SagaKind.Length..end] : null;
        }

        return persistenceId.StartsWith(CheckpointKind, StringComparison.Ordinal) && persistenceId.Length > CheckpointKind.Length
            ? persistenceId[CheckpointKind.Length..]
            : null;
    }

    /// <summary>Persistence id of the tenant's checkpoints and replay records.</summary>
    public static string Checkpoints(string tenant) => CheckpointKind + tenant;

    /// <summary>Persistence id of the tenant's schedule index.</summary>
    public static string Schedule(string tenant) => "schedule|" + tenant;

    /// <summary>Tag of the tenant's saga events that its schedule index follows.</summary>
    public static string TimersTag(string tenant) => "timers|" + tenant;

    /// <summary>Key of one instance inside a tenant's schedule index snapshot: <c>&lt;saga&gt;|&lt;correlation&gt;</c>.</summary>
    public static string Instance(string saga, string correlationId) => saga + "|" + correlationId;

    /// <summary>Reads an <see cref="Instance"/> key.</summary>
    public static bool TryParseInstance(string key, [NotNullWhen(true)] out string? saga, [NotNullWhen(true)] out string? correlationId)
    {
        saga = correlationId = null;
        var parts = key.Split('|', 2);
        if (parts.Length != 2 || parts[0].Length == 0) return false;
        (saga, correlationId) = (parts[0], parts[1]);
        return true;
    }

    /// <summary>Every persistence id of a tenant (fences, deletes, the replaced set of an import).</summary>
    public static TenantKeySet AllOf(string tenant) => new([Checkpoints(tenant), Schedule(tenant)], [SagaPrefix(tenant)]);

    /// <summary>
    /// What travels with a tenant: saga instances and checkpoints. The schedule index stays behind: its offsets belong to
    /// the old store; the new node rebuilds it from the imported, tagged saga events.
    /// </summary>
    public static TenantKeySet MovedOf(string tenant) => new([Checkpoints(tenant)], [SagaPrefix(tenant)]);
}

/// <summary>A set of persistence ids: some exact, the rest by prefix (each ending with '|').</summary>
/// <param name="Exact">Exact persistence ids.</param>
/// <param name="Prefixes">Prefixes of persistence ids.</param>
public sealed record TenantKeySet(ImmutableSortedSet<string> Exact, ImmutableSortedSet<string> Prefixes)
{
    /// <summary>Creates a set.</summary>
    public TenantKeySet(IEnumerable<string> exact, IEnumerable<string> prefixes)
        : this(exact.ToImmutableSortedSet(StringComparer.Ordinal), prefixes.ToImmutableSortedSet(StringComparer.Ordinal))
    {
    }
}
