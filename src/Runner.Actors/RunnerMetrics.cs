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

    /// <summary>Consumers recreated at their first unapplied sequence so that unacked events come back before newer ones (tags tenant, saga).</summary>
    public static readonly Counter<long> ConsumersRewound = Meter.CreateCounter<long>("runner.consumers.rewound");

    /// <summary>Events parked on the dead-letter subject (tags: tenant, saga, kind).</summary>
    public static readonly Counter<long> EventsDeadLettered = Meter.CreateCounter<long>("runner.events.dead_lettered");

    /// <summary>Commands acknowledged by JetStream.</summary>
    public static readonly Counter<long> CommandsPublished = Meter.CreateCounter<long>("runner.commands.published");

    private static int _unplaced;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Tenant, string Saga), long> Lags = new();

    /// <summary>Time from a saga's decision to its event being durable in the journal, in milliseconds (tags: saga).</summary>
    public static readonly Histogram<double> PersistLatency = Meter.CreateHistogram<double>("runner.persist.latency", "ms");

    /// <summary>Commands decided and not yet acknowledged by JetStream, on this node.</summary>
    public static readonly UpDownCounter<long> OutboxPending = Meter.CreateUpDownCounter<long>("runner.outbox.pending");

    /// <summary>Tenants handed off by this node (moves, drains; tags: tenant).</summary>
    public static readonly Counter<long> Handoffs = Meter.CreateCounter<long>("runner.tenants.handoffs");

    /// <summary>Events of each (tenant, saga) consumer not yet applied and acked, as last sampled.</summary>
    public static readonly ObservableGauge<long> ConsumerLag = Meter.CreateObservableGauge("runner.consumer.lag", () =>
        Lags.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("tenant", kv.Key.Tenant),
            new KeyValuePair<string, object?>("saga", kv.Key.Saga))));

    /// <summary>Records a consumer's lag; null forgets it (the tenant left this node).</summary>
    public static void SetLag(string tenant, string saga, long? lag)
    {
        if (lag is { } value) Lags[(tenant, saga)] = value;
        else Lags.TryRemove((tenant, saga), out _);
    }

    /// <summary>Tenants this node knows that placement puts nowhere, or on a node that is not up (not run anywhere).</summary>
    public static readonly ObservableGauge<int> UnplacedTenants =
        Meter.CreateObservableGauge("runner.placement.unplaced_tenants", () => Volatile.Read(ref _unplaced));

    /// <summary>Sets the number of unplaced tenants (the node's intake keeps it current).</summary>
    public static void SetUnplaced(int count) => Volatile.Write(ref _unplaced, count);

    /// <summary>Replays started on this node, dry runs included (tags: tenant, saga, mode, dry_run).</summary>
    public static readonly Counter<long> Replays = Meter.CreateCounter<long>("runner.replays.started");

    /// <summary>Replays finished on this node (tags: tenant, saga, mode, dry_run).</summary>
    public static readonly Counter<long> ReplaysFinished = Meter.CreateCounter<long>("runner.replays.finished");

    /// <summary>Subjects with an invalid tenant token seen at intake.</summary>
    public static readonly Counter<long> InvalidTenants = Meter.CreateCounter<long>("runner.intake.invalid_tenant");
}
