using System.Collections.Immutable;

namespace Runner.Actors;

/// <summary>
/// What a tenant left behind when it was handed off (published on the event stream): the drain receipt.
/// </summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="LastAcked">Per saga, the consumer's ack floor (last stream sequence acked with everything before it).</param>
/// <param name="Checkpoints">Per saga, the runner's checkpoint, which is also its dedupe watermark: every event up to it is applied.</param>
/// <param name="OutboxPending">Commands decided but not acknowledged by JetStream at the stop (must be 0).</param>
/// <param name="SagasStopped">Saga instances that were in memory.</param>
/// <param name="TimersPending">Durable timers still scheduled (they fire wherever the tenant runs next).</param>
/// <param name="NextTimerDue">The earliest of them.</param>
/// <param name="InFlightFinished">Whether every event pulled before the stop was finished within the processing timeout.</param>
/// <param name="Custody">What happened to the tenant's state.</param>
public sealed record TenantDrainReceipt(
    string Tenant,
    ImmutableDictionary<string, ulong> LastAcked,
    ImmutableDictionary<string, ulong> Checkpoints,
    int OutboxPending,
    int SagasStopped,
    int TimersPending,
    DateTimeOffset? NextTimerDue,
    bool InFlightFinished,
    string Custody)
{
    /// <summary>Whether the tenant left nothing unfinished.</summary>
    public bool Complete => OutboxPending == 0 && InFlightFinished;
}
