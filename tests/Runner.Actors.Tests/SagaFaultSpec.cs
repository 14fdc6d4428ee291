using Akka.Actor;
using Runner.Actors.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>The fault hook of the chaos suite: an injected storage fault is answered "not applied" and leaves nothing behind.</summary>
public sealed class SagaFaultSpec(ITestOutputHelper output) : ActorSpecBase(output, "runner.runtime.fault-injection.apply-failure-rate = 1")
{
    [Fact]
    public void SagaActor_should_answer_not_applied_and_stop_when_its_write_fails()
    {
        Assert.True(Services.Runtime.Faults.Enabled);
        var tenant = StartTenant();
        tenant.Tell(Event("OrderPlaced", new { orderId = "f-1", amount = 1m }, "f-1"));
        ExpectMsg<NotApplied>(n => Assert.Contains("journal write failed", n.Reason, StringComparison.Ordinal));

        // Nothing was stored and nothing was published; the next incarnation starts from the (empty) journal.
        tenant.Tell(new GetSagaView("order", "f-1"));
        var view = ExpectMsg<SagaView>();
        Assert.Equal(0, view.SequenceNr);
        Assert.Empty(view.OutboxPending);
        Assert.Empty(Transport.Commands);
    }

    [Fact]
    public void Fault_injection_should_be_off_by_default_and_validated()
    {
        Assert.False(RuntimeSettings.Default.Faults.Enabled);
        Assert.False(RuntimeSettings.Create(RuntimeSettings.DefaultConfiguration()).Faults.Enabled);
        var bad = Akka.Configuration.ConfigurationFactory.ParseString("runner.runtime.fault-injection.apply-failure-rate = 1.5")
            .WithFallback(RuntimeSettings.DefaultConfiguration());
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => RuntimeSettings.Create(bad));
        var slow = Akka.Configuration.ConfigurationFactory.ParseString("runner.runtime.fault-injection.slow-apply-rate = 0.1")
            .WithFallback(RuntimeSettings.DefaultConfiguration());
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => RuntimeSettings.Create(slow));
    }
}
