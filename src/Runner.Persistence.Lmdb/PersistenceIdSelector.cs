using System.Collections.Immutable;

namespace Runner.Persistence.Lmdb;

/// <summary>
/// A set of persistence ids: exact ids and prefixes. A prefix must end with <c>|</c> (the separator of the runner's
/// persistence ids), which keeps fences cheap to check: a persistence id is looked up whole and at each <c>|</c>.
/// </summary>
public sealed record PersistenceIdSelector
{
    /// <summary>Creates a selector.</summary>
    /// <exception cref="ArgumentException">A prefix does not end with '|', or an id or prefix is empty.</exception>
    public PersistenceIdSelector(IEnumerable<string> exact, IEnumerable<string> prefixes)
    {
        ArgumentNullException.ThrowIfNull(exact);
        ArgumentNullException.ThrowIfNull(prefixes);
        Exact = exact.ToImmutableSortedSet(StringComparer.Ordinal);
        Prefixes = prefixes.ToImmutableSortedSet(StringComparer.Ordinal);
        if (Exact.Any(string.IsNullOrEmpty)) throw new ArgumentException("A persistence id must not be empty.", nameof(exact));
        if (Prefixes.Any(p => p.Length < 2 || !p.EndsWith('|')))
            throw new ArgumentException("A persistence id prefix must end with '|' and not be only '|'.", nameof(prefixes));
    }

    /// <summary>Exact persistence ids.</summary>
    public ImmutableSortedSet<string> Exact { get; }

    /// <summary>Prefixes, each ending with '|'.</summary>
    public ImmutableSortedSet<string> Prefixes { get; }

    /// <summary>Whether <paramref name="persistenceId"/> is selected.</summary>
    public bool Matches(string persistenceId)
    {
        ArgumentNullException.ThrowIfNull(persistenceId);
        return Exact.Contains(persistenceId) || Prefixes.Any(p => persistenceId.StartsWith(p, StringComparison.Ordinal));
    }

    /// <summary>Fence entries: exact ids as they are, prefixes as they are (both end the lookup).</summary>
    internal IEnumerable<string> Entries => Exact.Concat(Prefixes);

    /// <inheritdoc />
    public bool Equals(PersistenceIdSelector? other) =>
        other is not null && Exact.SetEquals(other.Exact) && Prefixes.SetEquals(other.Prefixes);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Exact.Count, Prefixes.Count);
}
