using Runner.Placement;
using System.Globalization;
using Akka.Actor;
using Akka.Streams;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Nats;
using Runner.Sagas;

namespace Runner.Actors.Replay;

/// <summary>
/// What a replay (<see cref="ReplayActor"/>) and a dry run (<see cref="DryRunActor"/>) both do: read the events stream's range
/// and check <c>from_seq</c> against it, list the saga's instances, describe counts, tag metrics. The steps that do I/O pipe
/// their outcome to the actor as a message.
/// </summary>
internal static class ReplaySteps
{
    /// <summary>Reads the events stream's first and last sequence; pipes <see cref="EventsRange"/> or <see cref="StepFailed"/> to <paramref name="self"/>.</summary>
    public static void ReadRange(ITenantEventSource nats, IActorRef self) =>
        nats.EventsRangeAsync(CancellationToken.None)
            .PipeTo(self, success: r => new EventsRange(r.First, r.Last), failure: e => new StepFailed(e, "reading the events stream"));

    /// <summary>
    /// Whether a replay from <paramref name="fromSeq"/> can run on <paramref name="range"/>: null when it can (with a
    /// <paramref name="detail"/> when the stream no longer holds its first events), else the refusal.
    /// </summary>
    public static AdminRefusal? Check(ulong fromSeq, EventsRange range, out string? detail)
    {
        detail = null;
        if (fromSeq > range.Last + 1)
            return AdminRefusal.Invalid($"from_seq {fromSeq} is beyond the end of the events stream (its last sequence is {range.Last})");
        if (range.First > fromSeq && range.Last > 0)
            detail = $"the events stream starts at sequence {range.First}: events before it are no longer there to replay";
        return null;
    }

    /// <summary>Lists the correlation ids of the saga's instances (those with a journal); pipes <see cref="InstanceList"/> or <see cref="StepFailed"/>.</summary>
    public static void ListInstances(ActorSystem system, TenantServices services, string tenant, string saga, IMaterializer materializer, IActorRef self)
    {
        var prefix = TenantKeys.SagaPrefix(tenant, saga);
        PersistenceIds.WithPrefixAsync(system, services.Runtime.QueryPlugin, prefix, materializer)
            .PipeTo(self, success: pids => new InstanceList([.. pids.Select(pid => pid[prefix.Length..])]),
                failure: e => new StepFailed(e, "listing the saga's instances"));
    }

    /// <summary>What the events did, in a sentence for the log.</summary>
    public static string Describe(ReplayCounts c) => string.Create(CultureInfo.InvariantCulture,
        $"{c.Events} event(s): {c.Applied} applied, {c.Duplicates} suppressed by dedupe, {c.IgnoredCompleted} ignored (completed), {c.DeadLettered} dead-lettered; {c.Commands} command(s) re-emitted");

    /// <summary>Metric tags of a replay.</summary>
    public static KeyValuePair<string, object?>[] Tags(string tenant, string saga, string mode, bool dryRun) =>
        [new("tenant", tenant), new("saga", saga), new("mode", mode), new("dry_run", dryRun)];
}

/// <summary>Replay ids: <c>&lt;tenant&gt;.&lt;saga&gt;.&lt;utc time&gt;-&lt;random&gt;</c>, built and read back here only.</summary>
internal static class ReplayIds
{
    /// <summary>A new replay id (the tenant is read back from it).</summary>
    public static string New(string tenant, string saga, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"{tenant}.{saga}.{now.UtcDateTime:yyyyMMddTHHmmss}-{Random.Shared.Next(0x10000):x4}");

    /// <summary>The tenant a replay id belongs to, or null when it is not a replay id.</summary>
    public static string? TenantOf(string id)
    {
        var parts = id.Split('.');
        return parts.Length == 3 && TenantId.IsValid(parts[0]) ? parts[0] : null;
    }
}

/// <summary>The events stream's first and last sequence.</summary>
internal sealed record EventsRange(ulong First, ulong Last);

/// <summary>The saga's instances (correlation ids).</summary>
internal sealed record InstanceList(List<string> CorrelationIds);

/// <summary>A step of a replay or dry run failed: <paramref name="While"/> says which.</summary>
internal sealed record StepFailed(Exception Cause, string While)
{
    /// <summary>The failure, for the status's detail.</summary>
    public string Describe() => $"{While} failed: {Cause.GetBaseException().Message}";
}

/// <summary>A step made no progress within the stall timeout.</summary>
internal sealed record Stalled
{
    public static Stalled Instance { get; } = new();
}
