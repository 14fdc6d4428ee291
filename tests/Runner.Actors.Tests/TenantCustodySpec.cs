using Runner.Placement;
using System.Collections.Concurrent;
using Akka.Actor;
using Runner.Actors.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

public sealed class TenantCustodySpec : ActorSpecBase
{
    private readonly ScriptedCustody _custody = new();

    public TenantCustodySpec(ITestOutputHelper output) : base(output) =>
        Services = Services with { Custody = _custody, CustodyRetry = TimeSpan.FromMilliseconds(100) };

    [Fact]
    public void TenantActor_should_not_run_anything_until_custody_is_granted()
    {
        _custody.Grant = false;
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "c-1", amount = 3m }, "mc-1"));

        // Refused: asked again and again, the event is not applied, the view says why.
        AwaitCondition(() => _custody.Acquires >= 3, TimeSpan.FromSeconds(10));
        // Between two refusals the tenant is asking again ("acquiring custody"): its status is read once it says why.
        AwaitAssert(() =>
        {
            tenant.Tell(TenantActor.GetTenantView.Instance);
            var view = ExpectMsg<TenantActor.TenantView>();
            Assert.StartsWith("not running: owned by node-b", view.Status, StringComparison.Ordinal);
            Assert.Equal(0, view.ActiveSagas);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Assert.Empty(Transport.CommandTypes("c-1"));

        // Granted: runs, and what arrives now is applied.
        _custody.Grant = true;
        AwaitAssert(() =>
        {
            tenant.Tell(TenantActor.GetTenantView.Instance);
            Assert.Equal("running", ExpectMsg<TenantActor.TenantView>().Status);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        tenant.Tell(Event("OrderPlaced", new { orderId = "c-1", amount = 3m }, "mc-1"));
        ExpectMsg<Applied>();
        Assert.Equal(["ReserveStock"], Transport.CommandTypes("c-1"));
    }

    [Fact]
    public void TenantActor_should_hold_messages_sent_while_custody_is_being_acquired()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "c-2", amount = 3m }, "mc-2"));
        ExpectMsg<Applied>();
        Assert.Equal(1, _custody.Acquires);
    }

    [Fact]
    public void TenantActor_should_release_custody_after_its_sagas_stopped_on_hand_off()
    {
        var tenant = StartTenant();
        _custody.ChildrenAlive = async () =>
        {
            try
            {
                await Sys.ActorSelection(tenant.Path + "/*").ResolveOne(TimeSpan.FromMilliseconds(500));
                return 1;
            }
            catch (ActorNotFoundException)
            {
                return 0;
            }
        };
        Watch(tenant);
        var receipts = CreateTestProbe();
        Sys.EventStream.Subscribe(receipts.Ref, typeof(TenantDrainReceipt));
        tenant.Tell(Event("OrderPlaced", new { orderId = "c-3", amount = 3m }, "mc-3"));
        ExpectMsg<Applied>();
        // The schedule index has seen the payment-timeout timer before the hand-off.
        AwaitAssert(() =>
        {
            Sys.ActorSelection(tenant.Path / "schedule").Tell(ScheduleIndexActor.GetDue.Instance);
            Assert.NotEmpty(ExpectMsg<System.Collections.Immutable.ImmutableArray<(string, string, Runner.Actors.Serialization.TimerEntry)>>());
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));

        tenant.Tell(TenantActor.HandOff.Instance);
        ExpectTerminated(tenant);

        // The drain receipt: nothing left in the outbox, the instance stopped, its timer still pending.
        var receipt = receipts.ExpectMsg<TenantDrainReceipt>();
        Assert.True(receipt.Complete);
        Assert.Equal((0, 1, 1), (receipt.OutboxPending, receipt.SagasStopped, receipt.TimersPending));
        Assert.Equal(Clock.Now + TimeSpan.FromMinutes(15), receipt.NextTimerDue);
        Assert.Equal("released", receipt.Custody);
        var release = Assert.Single(_custody.Releases);
        Assert.Equal(Tenant, release.Tenant);

        // When release ran, no saga instance, index or checkpoint actor of the tenant was alive any more.
        Assert.Equal(0, release.ChildrenAlive);
    }

    [Fact]
    public void TenantActor_should_stop_without_release_when_handed_off_before_it_ran()
    {
        _custody.Grant = false;
        var tenant = StartTenant();
        Watch(tenant);
        AwaitCondition(() => _custody.Acquires >= 1, TimeSpan.FromSeconds(10));
        tenant.Tell(TenantActor.HandOff.Instance);
        ExpectTerminated(tenant);
        Assert.Empty(_custody.Releases);
    }

    [Fact]
    public void TenantActor_handed_off_while_custody_is_being_granted_should_tell_custody_it_stopped()
    {
        var answer = new TaskCompletionSource<CustodyDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        _custody.PendingOnce = answer;
        var tenant = StartTenant();
        Watch(tenant);
        AwaitCondition(() => _custody.Acquires >= 1, TimeSpan.FromSeconds(10));
        tenant.Tell(TenantActor.HandOff.Instance);

        // The grant lands after the hand-off: the tenant does not run, and custody hears it stopped (or it would refuse to
        // release the tenant to its next node for as long as this node lives).
        answer.SetResult(CustodyDecision.Local);
        ExpectTerminated(tenant);
        AwaitCondition(() => _custody.StoppedCalls >= 1, TimeSpan.FromSeconds(10));
        Assert.Equal(1, _custody.StoppedCalls);
        Assert.Empty(_custody.Releases);
    }

    [Fact]
    public void A_grant_landing_after_the_tenant_stopped_waiting_should_be_handed_back_and_the_next_one_kept()
    {
        Services = Services with { CustodyTimeout = TimeSpan.FromMilliseconds(200) };
        var late = new TaskCompletionSource<CustodyDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        _custody.PendingOnce = late;
        var tenant = StartTenant();
        Watch(tenant);

        // The first request timed out; the tenant asked again and runs on that second grant.
        AwaitAssert(() =>
        {
            tenant.Tell(TenantActor.GetTenantView.Instance);
            Assert.Equal("running", ExpectMsg<TenantActor.TenantView>().Status);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        Assert.True(_custody.Acquires >= 2);

        // The first request's grant lands now: handed back with its own lease, the running tenant's lease untouched.
        late.SetResult(CustodyDecision.Local with { Lease = 100 });
        AwaitCondition(() => _custody.StoppedLeases.Contains(100), TimeSpan.FromSeconds(10));
        Assert.Equal([100L], _custody.StoppedLeases);
        tenant.Tell(Event("OrderPlaced", new { orderId = "c-9", amount = 3m }, "mc-9"));
        ExpectMsg<Applied>();

        // Stopping, it hands back the grant it ran on.
        tenant.Tell(TenantActor.HandOff.Instance);
        ExpectTerminated(tenant);
        Assert.Equal([100L, _custody.LastLease], _custody.StoppedLeases);
    }

    /// <summary>Our own custody seam, scripted (the real one moves LMDB state through NATS and has its own specs).</summary>
    private sealed class ScriptedCustody : ITenantCustody
    {
        private readonly ConcurrentQueue<long> _stoppedLeases = new();
        private int _acquires;
        private long _lastLease;

        public volatile bool Grant = true;

        private TaskCompletionSource<CustodyDecision>? _pendingOnce;

        /// <summary>When set, the next acquire (only) answers when this completes.</summary>
        public TaskCompletionSource<CustodyDecision>? PendingOnce
        {
            set => Volatile.Write(ref _pendingOnce, value);
        }

        public int Acquires => Volatile.Read(ref _acquires);

        public ConcurrentQueue<(string Tenant, int ChildrenAlive)> Releases { get; } = new();

        public Func<Task<int>> ChildrenAlive { get; set; } = () => Task.FromResult(0);

        public Task<CustodyDecision> AcquireAsync(string tenant, CancellationToken cancellationToken)
        {
            var lease = Interlocked.Increment(ref _acquires);
            if (Interlocked.Exchange(ref _pendingOnce, null) is { } once) return once.Task;
            if (!Grant) return Task.FromResult(new CustodyDecision(false, "owned by node-b"));
            Volatile.Write(ref _lastLease, lease);
            return Task.FromResult(CustodyDecision.Local with { Lease = lease });
        }

        public int StoppedCalls => _stoppedLeases.Count;

        /// <summary>The leases handed back, in order.</summary>
        public long[] StoppedLeases => [.. _stoppedLeases];

        /// <summary>The lease of the last grant made without <see cref="PendingOnce"/>.</summary>
        public long LastLease => Volatile.Read(ref _lastLease);

        public void Stopped(string tenant, long lease)
        {
            _stoppedLeases.Enqueue(lease);
        }

        public async Task<string> ReleaseAsync(string tenant, CancellationToken cancellationToken)
        {
            Releases.Enqueue((tenant, await ChildrenAlive()));
            return "released";
        }
    }
}
