using Runner.Sagas.Internal;

namespace Runner.Sagas;

/// <summary>
/// A timer a decision schedules for its saga instance. An instance has at most one pending timer per name:
/// scheduling a name that is pending replaces it.
/// </summary>
public sealed record TimerRequest
{
    private readonly string _name = "";

    /// <summary>Creates a timer request.</summary>
    /// <param name="name">A timer name the saga declared.</param>
    /// <param name="dueAt">When it fires.</param>
    /// <param name="policy">What happens when it came due while the node was down.</param>
    /// <exception cref="ArgumentException">The name is not a valid timer name.</exception>
    public TimerRequest(string name, DateTimeOffset dueAt, MissedFirePolicy policy = MissedFirePolicy.Fire)
    {
        Name = name;
        DueAt = dueAt;
        Policy = policy;
    }

    /// <summary>The timer name: letters, digits, <c>_</c> and <c>-</c>.</summary>
    public string Name { get => _name; init => _name = SubjectToken.Validate(value, "Timer name", nameof(Name)); }

    /// <summary>When the timer fires.</summary>
    public DateTimeOffset DueAt { get; init; }

    /// <summary>What happens when it came due while the node was down.</summary>
    public MissedFirePolicy Policy { get; init; }

    /// <summary>Deconstructs into name, due time and policy.</summary>
    public void Deconstruct(out string name, out DateTimeOffset dueAt, out MissedFirePolicy policy)
    {
        name = Name;
        dueAt = DueAt;
        policy = Policy;
    }
}
