using Akka.Actor;
using Runner.Actors.Protocol;
using Runner.Placement;
using Runner.Sagas.Samples;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>Messages a tenant holds while it acquires custody keep their order with the ones that come after.</summary>
public sealed class TenantHeldOrderSpec : ActorSpecBase
{
    private readonly GatedCustody _custody = new();

    public TenantHeldOrderSpec(ITestOutputHelper output) : base(output) => Services = Services with { Custody = _custody };

    /// <summary>
    /// An event held during custody (OrderPlaced) and the next one for the same instance (StockReserved), which reaches the
    /// tenant's mailbox after the custody outcome but before that outcome is handled: the instance must see them in the
    /// order sent. To make the interleaving deterministic, the tenant is kept busy (its reply to <see cref="TenantActor.Start"/>
    /// goes to a sender that blocks) while the custody outcome and then the second event are queued.
    /// </summary>
    [Fact]
    public void TenantActor_should_deliver_messages_held_during_custody_before_later_ones()
    {
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "o-1", amount = 42.5m }, "m-1")); // held: custody is being acquired
        var blocker = new BlockingRef(((ExtendedActorSystem)Sys).Provider);
        tenant.Tell(TenantActor.Start.Instance, blocker);
        Assert.True(blocker.Entered.Wait(TimeSpan.FromSeconds(10)), "the tenant did not answer Start");

        _custody.Grant(); // the custody outcome is queued behind the busy tenant ...
        var cell = ((ActorRefWithCell)tenant).Underlying;
        AwaitCondition(() => cell.NumberOfMessages >= 1, TimeSpan.FromSeconds(10));
        tenant.Tell(Event("StockReserved", new { orderId = "o-1" }, "m-2")); // ... and this event behind it
        blocker.Gate.Set();

        ExpectMsg<Applied>();
        ExpectMsg<Applied>();
        tenant.Tell(new GetSagaView(OrderSaga.DefinitionName, "o-1"));
        Assert.Equal(OrderStatus.AwaitingPayment, ((OrderState)ExpectMsg<SagaView>().State).Status);
        Assert.Equal(["ReserveStock", "ChargePayment"], Transport.CommandTypes("o-1"));
    }

    private sealed class GatedCustody : ITenantCustody
    {
        private readonly TaskCompletionSource<CustodyDecision> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Grant() => _decision.TrySetResult(CustodyDecision.Local);

        public Task<CustodyDecision> AcquireAsync(string tenant, CancellationToken cancellationToken) => _decision.Task;

        public Task<string> ReleaseAsync(string tenant, CancellationToken cancellationToken) => Task.FromResult("released");

        public void Stopped(string tenant, long lease)
        {
        }
    }

    /// <summary>A sender whose first delivery blocks the actor that tells it, until <see cref="Gate"/> is set.</summary>
    private sealed class BlockingRef(IActorRefProvider provider) : MinimalActorRef
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Gate { get; } = new();

        public override ActorPath Path { get; } = new RootActorPath(provider.DefaultAddress) / "blocking-sender";

        public override IActorRefProvider Provider { get; } = provider;

        protected override void TellInternal(object message, IActorRef sender)
        {
            Entered.Set();
            Gate.Wait(TimeSpan.FromSeconds(30));
        }
    }
}
