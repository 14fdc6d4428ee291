namespace Runner.Sagas;

/// <summary>What happens to a timer that came due while no node was running its saga instance.</summary>
public enum MissedFirePolicy
{
    /// <summary>It fires late, as soon as the instance runs again. The default: timeouts still time out.</summary>
    Fire = 0,

    /// <summary>
    /// It is dropped when found overdue by more than a tolerance the runtime chooses (a periodic reminder that would
    /// be pointless late). Within the tolerance it still fires.
    /// </summary>
    Skip = 1,
}
