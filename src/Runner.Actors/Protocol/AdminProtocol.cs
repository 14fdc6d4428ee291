using System.Collections.Immutable;
using Runner.Actors.Serialization;

namespace Runner.Actors.Protocol;

/// <summary>
/// An operator's request to a tenant (admin endpoint, routed through the tenant shard region to the node that runs the
/// tenant). Replied with an <see cref="ITenantAdminReply"/>: typed data or an <see cref="AdminRefusal"/>, never HTTP or
/// JSON (the admin endpoint maps and renders them). These cross nodes: each has a versioned manifest in
/// <see cref="Serialization.RunnerWireSerializer"/>.
/// </summary>
public interface ITenantAdminRequest : IRunnerWire;

/// <summary>Starts a replay of one saga of the tenant (or a dry run of it).</summary>
/// <param name="Saga">The saga.</param>
/// <param name="Mode">One of <see cref="ReplayModes"/>.</param>
/// <param name="FromSeq">First stream sequence to replay; null = the beginning of the stream.</param>
/// <param name="DryRun">Change nothing: report which commands would be re-emitted and which events dedupe would suppress.</param>
public sealed record StartReplay(string Saga, string Mode, ulong? FromSeq, bool DryRun) : ITenantAdminRequest;

/// <summary>Asks for one replay's progress or result.</summary>
public sealed record GetReplay(string Id) : ITenantAdminRequest;

/// <summary>Asks for the tenant's replays (active, recent finished, dry runs kept in memory).</summary>
public sealed record ListReplays : ITenantAdminRequest
{
    /// <summary>The instance.</summary>
    public static ListReplays Instance { get; } = new();
}

/// <summary>Lists the tenant's saga instances, optionally of one saga and in one state, paged.</summary>
/// <param name="Saga">Only this saga; null = all.</param>
/// <param name="State"><c>active</c>, <c>completed</c>, or a value of the state's <c>status</c> member (case-insensitive); null = all.</param>
/// <param name="Offset">Matches to skip.</param>
/// <param name="Limit">Most matches to return.</param>
/// <param name="Search">Only instances whose correlation id contains it (case-insensitive); null = all.</param>
public sealed record ListSagas(string? Saga, string? State, int Offset, int Limit, string? Search = null) : ITenantAdminRequest;

/// <summary>One saga instance with its journal (event history).</summary>
/// <param name="Saga">The saga.</param>
/// <param name="CorrelationId">The instance.</param>
/// <param name="HistoryLimit">Most journal events to return (oldest first).</param>
public sealed record ShowSaga(string Saga, string CorrelationId, int HistoryLimit) : ITenantAdminRequest;

/// <summary>Lists the tenant's pending timers as its schedule index holds them.</summary>
public sealed record ListTimers : ITenantAdminRequest
{
    /// <summary>The instance.</summary>
    public static ListTimers Instance { get; } = new();
}

/// <summary>The replay modes.</summary>
public static class ReplayModes
{
    /// <summary>Rewind the stream position; dedupe markers skip what was applied.</summary>
    public const string CheckpointOnly = "checkpoint_only";

    /// <summary>Rewind and forget dedupe markers: events re-apply onto the current state.</summary>
    public const string CheckpointAndDedupe = "checkpoint_and_dedupe";

    /// <summary>Also delete the instances' state, outbox and schedules, then rebuild them from the stream.</summary>
    public const string FullReset = "full_reset";

    /// <summary>Every mode.</summary>
    public static ImmutableArray<string> All { get; } = [CheckpointOnly, CheckpointAndDedupe, FullReset];

    /// <summary>Whether <paramref name="mode"/> is a mode.</summary>
    public static bool IsValid(string? mode) => mode is not null && All.Contains(mode);
}

