using System.Diagnostics.Metrics;

namespace Runner.Actors;

/// <summary>The runner's instruments (meter <c>Runner</c>); exported by the host.</summary>
public static class RunnerMetrics
{
    /// <summary>Meter name.</summary>
    public const string MeterName = "Runner";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Events applied to saga instances (tags: tenant, saga).</summary>
    public static readonly Counter<long> EventsApplied = Meter.CreateCounter<long>("runner.events.applied");

    /// <summary>Events skipped because their dedupe marker existed.</summary>
    public static readonly Counter<long> EventsDuplicate = Meter.CreateCounter<long>("runner.events.duplicate");

    /// <summary>Events a saga did not accept in its instance's state, or that reached a completed instance (parked; tags tenant, saga, kind).</summary>
    public static readonly Counter<long> EventsUnexpected = Meter.CreateCounter<long>("runner.events.unexpected");

    /// <summary>Attempts to apply an event again after it was not applied (storage error, timeout), in place and in order (tags tenant, saga).</summary>
    public static readonly Counter<long> EventsRetried = Meter.CreateCounter<long>("runner.events.retried");

    /// <summary>Events left unacked because an earlier event of their instance was left unresolved in the same run (tags tenant, saga).</summary>
    public static readonly Counter<long> EventsHeld = Meter.CreateCounter<long>("runner.events.held");

    /// <summary>Consumers recreated at their first unapplied sequence so that unacked events come back before newer ones (tags tenant, saga).</summary>
    public static readonly Counter<long> ConsumersRewound = Meter.CreateCounter<long>("runner.consumers.rewound");

    /// <summary>Events parked on the dead-letter subject (tags: tenant, saga, kind).</summary>
    public static readonly Counter<long> EventsDeadLettered = Meter.CreateCounter<long>("runner.events.dead_lettered");

    /// <summary>Commands acknowledged by JetStream.</summary>
    public static readonly Counter<long> CommandsPublished = Meter.CreateCounter<long>("runner.commands.published");

    private static int _unplaced;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Tenant, string Saga), Internal.ConsumptionProgress> Consumptions = new();

    /// <summary>Time from a saga's decision to its event being durable in the journal, in milliseconds (tags: saga).</summary>
    public static readonly Histogram<double> PersistLatency = Meter.CreateHistogram<double>("runner.persist.latency", "ms");

    /// <summary>Commands decided and not yet acknowledged by JetStream, on this node.</summary>
    public static readonly UpDownCounter<long> OutboxPending = Meter.CreateUpDownCounter<long>("runner.outbox.pending");

    /// <summary>Tenants handed off by this node (moves, drains; tags: tenant).</summary>
    public static readonly Counter<long> Handoffs = Meter.CreateCounter<long>("runner.tenants.handoffs");

    /// <summary>Events of each (tenant, saga) consumption on this node not yet applied and acked (tags: tenant, saga).</summary>
    public static readonly ObservableGauge<long> ConsumerLag = Meter.CreateObservableGauge("runner.consumer.lag", () =>
        Consumption().Select(v => new Measurement<long>((long)v.Lag, Tags(v))));

    /// <summary>
    /// Seconds the applied position of each (tenant, saga) consumption has not moved while events waited or its consumer
    /// was not running; 0 when idle (tags: tenant, saga).
    /// </summary>
    public static readonly ObservableGauge<double> ConsumerSecondsSinceProgress = Meter.CreateObservableGauge("runner.consumer.seconds_since_progress", () =>
        Consumption().Select(v => new Measurement<double>(Math.Round(v.SinceProgress.TotalSeconds, 3), Tags(v))));

    /// <summary>Consumptions restarted after their consumer went silent (lost server or pull, leader change; tags: tenant, saga).</summary>
    public static readonly Counter<long> ConsumersRestarted = Meter.CreateCounter<long>("runner.consumers.restarted");

    /// <summary>Where every (tenant, saga) consumption on this node stands now.</summary>
    public static IReadOnlyList<ConsumerProgressView> Consumption() =>
        [.. Consumptions.Values.Select(p => p.View()).OrderBy(v => v.Tenant, StringComparer.Ordinal).ThenBy(v => v.Saga, StringComparer.Ordinal)];

    internal static void Track(Internal.ConsumptionProgress progress) => Consumptions[(progress.Tenant, progress.Saga)] = progress;

    internal static void Untrack(Internal.ConsumptionProgress progress) =>
        ((ICollection<KeyValuePair<(string, string), Internal.ConsumptionProgress>>)Consumptions).Remove(new((progress.Tenant, progress.Saga), progress));

    private static KeyValuePair<string, object?>[] Tags(ConsumerProgressView v) => [new("tenant", v.Tenant), new("saga", v.Saga)];

    /// <summary>Tenants this node knows that placement puts nowhere, or on a node that is not up (not run anywhere).</summary>
    public static readonly ObservableGauge<int> UnplacedTenants =
        Meter.CreateObservableGauge("runner.placement.unplaced_tenants", () => Volatile.Read(ref _unplaced));

    /// <summary>Sets the number of unplaced tenants (the node's intake keeps it current).</summary>
    public static void SetUnplaced(int count) => Volatile.Write(ref _unplaced, count);

    /// <summary>Replays started on this node, dry runs included (tags: tenant, saga, mode, dry_run).</summary>
    public static readonly Counter<long> Replays = Meter.CreateCounter<long>("runner.replays.started");

    /// <summary>Replays finished on this node (tags: tenant, saga, mode, dry_run).</summary>
    public static readonly Counter<long> ReplaysFinished = Meter.CreateCounter<long>("runner.replays.finished");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Internal.InstanceTally, byte> Tallies = new();

    /// <summary>Saga instances in memory on this node, started and not yet passivated or stopped (tags: tenant).</summary>
    public static readonly ObservableGauge<int> InstancesActive = Meter.CreateObservableGauge("runner.instances.active", () =>
        ActiveInstances().Select(p => new Measurement<int>(p.Value, new KeyValuePair<string, object?>("tenant", p.Key))));

    /// <summary>Saga instances in memory on this node, by tenant (tenants running here with none in memory included).</summary>
    public static IReadOnlyDictionary<string, int> ActiveInstances() =>
        Tallies.Keys.GroupBy(t => t.Tenant, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(t => t.Count), StringComparer.Ordinal);

    internal static void Track(Internal.InstanceTally tally) => Tallies.TryAdd(tally, 0);

    internal static void Untrack(Internal.InstanceTally tally) => Tallies.TryRemove(tally, out _);

    /// <summary>Subjects with an invalid tenant token seen at intake.</summary>
    public static readonly Counter<long> InvalidTenants = Meter.CreateCounter<long>("runner.intake.invalid_tenant");
}

/// <summary>
/// Where a (tenant, saga) consumption on this node stands.
/// </summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Saga">The saga.</param>
/// <param name="Consumer">The durable consumer in use.</param>
/// <param name="AppliedSeq">Stream sequence up to which every event of the tenant is applied and acked (its checkpoint).</param>
/// <param name="Lag">Events delivered and not yet finished plus those the consumer reported undelivered after the last delivery.</param>
/// <param name="Running">Whether a consumer is delivering now (false while it restarts after a lost server, pull or connection).</param>
/// <param name="SinceProgress">How long the applied position has not moved while events waited or the consumer was not running (zero when idle).</param>
/// <param name="Reason">Why the consumer last (re)started or stopped.</param>
public sealed record ConsumerProgressView(string Tenant, string Saga, string Consumer, ulong AppliedSeq, ulong Lag, bool Running, TimeSpan SinceProgress,
    string Reason);
