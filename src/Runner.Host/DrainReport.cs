using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Runner.Actors;

namespace Runner.Host;

/// <summary>
/// The node's drain: what ran here when the drain began (CoordinatedShutdown, however it was started: SIGTERM,
/// <c>POST /admin/drain</c>) and the receipt each tenant left when it was handed off. A tenant without a receipt, or
/// with an incomplete one, makes the drain incomplete: said loudly, and the process exits non-zero.
/// </summary>
public sealed class DrainReport
{
    private readonly ConcurrentDictionary<string, TenantDrainReceipt> _receipts = new(StringComparer.Ordinal);
    private ImmutableSortedSet<string> _runningAtStart = ImmutableSortedSet<string>.Empty;

    /// <summary>Whether a drain began.</summary>
    public bool Started { get; private set; }

    /// <summary>Receipts so far, by tenant.</summary>
    public IReadOnlyDictionary<string, TenantDrainReceipt> Receipts => _receipts;

    /// <summary>Tenants that ran here when the drain began.</summary>
    public ImmutableSortedSet<string> RunningAtStart => _runningAtStart;

    /// <summary>Tenants that ran here and left no receipt, or an incomplete one.</summary>
    public IEnumerable<string> Incomplete =>
        _runningAtStart.Where(t => !_receipts.TryGetValue(t, out var r) || !r.Complete)
            .Concat(_receipts.Values.Where(r => !r.Complete).Select(r => r.Tenant)).Distinct(StringComparer.Ordinal);

    internal void Add(TenantDrainReceipt receipt) => _receipts[receipt.Tenant] = receipt;

    /// <summary>
    /// Registers with CoordinatedShutdown: before the regions hand off, note which tenants run here (asking
    /// <paramref name="region"/> for at most <paramref name="askTimeout"/>, <c>runner.admin.drain-region-timeout</c>).
    /// </summary>
    internal void Attach(ActorSystem system, IActorRef region, TimeSpan askTimeout)
    {
        system.ActorOf(Props.Create(() => new Collector(this)), "drain-receipts");
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "runner-drain-start", async () =>
        {
            Started = true;
            try
            {
                var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, askTimeout).ConfigureAwait(false);
                _runningAtStart = state.Shards.Select(s => s.ShardId).ToImmutableSortedSet(StringComparer.Ordinal);
            }
            catch (AskTimeoutException)
            {
                // The receipts still say what was handed off.
            }

            return Akka.Done.Instance;
        });
    }

    /// <summary>The report as the admin API returns it.</summary>
    public object ToJson() => new
    {
        draining = Started,
        complete = !Incomplete.Any(),
        incomplete = Incomplete.Order(StringComparer.Ordinal),
        tenants = _receipts.Values.OrderBy(r => r.Tenant, StringComparer.Ordinal).Select(r => new
        {
            tenant = r.Tenant,
            complete = r.Complete,
            lastAcked = r.LastAcked,
            dedupeWatermark = r.Checkpoints,
            outboxPending = r.OutboxPending,
            sagasStopped = r.SagasStopped,
            timersPending = r.TimersPending,
            nextTimerDue = r.NextTimerDue,
            inFlightFinished = r.InFlightFinished,
            custody = r.Custody,
        }),
    };

    private sealed class Collector : ReceiveActor
    {
        public Collector(DrainReport report) => Receive<TenantDrainReceipt>(report.Add);

        protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(TenantDrainReceipt));
    }
}
