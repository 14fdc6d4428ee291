using System.Collections.Immutable;
using System.Globalization;
using Akka.Event;
using Runner.Actors.Protocol;

namespace Runner.Actors.Tenant;

/// <summary>
/// The last step of a tenant's hand-off, once every child has stopped: its consumers' ack floors are read for the receipt,
/// custody is released (the state moves on if placement moved the tenant), and the drain receipt says what was left behind.
/// </summary>
internal static class TenantRelease
{
    /// <summary>Custody's answer and the ack floors per saga (a saga whose floor NATS did not give is left out).</summary>
    internal sealed record Released(string Detail, ImmutableDictionary<string, ulong> AckFloors);

    /// <summary>What the stopping children left behind, for the drain receipt.</summary>
    internal sealed record StopReports
    {
        public bool InFlightFinished { get; init; } = true;

        public int OutboxPending { get; init; }

        public int Sagas { get; init; }

        public ScheduleStopReport? Schedule { get; init; }

        public ImmutableDictionary<string, ulong> Checkpoints { get; init; } = ImmutableDictionary<string, ulong>.Empty;
    }

    /// <summary>Reads the ack floors and releases custody within <c>runner.custody.timeout</c>; a failure is reported, never thrown.</summary>
    public static async Task<Released> RunAsync(string tenant, TenantServices services)
    {
        var floors = ImmutableDictionary.CreateBuilder<string, ulong>(StringComparer.Ordinal);
        foreach (var saga in services.Catalog.All.Select(s => s.Name))
        {
            try
            {
                if (await services.Events.AckFloorAsync(tenant, saga, CancellationToken.None).ConfigureAwait(false) is { } floor) floors[saga] = floor;
            }
            catch (Exception)
            {
                // NATS unreachable: the receipt says nothing about that saga's ack floor.
            }
        }

        string detail;
        try
        {
            detail = await services.Custody.ReleaseAsync(tenant, CancellationToken.None).WaitAsync(services.CustodyTimeout).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            detail = "release failed, state kept on this node: " + e.GetBaseException().Message;
        }

        return new Released(detail, floors.ToImmutable());
    }

    /// <summary>The drain receipt of the tenant.</summary>
    public static TenantDrainReceipt Receipt(string tenant, StopReports reports, Released released) =>
        new(tenant, released.AckFloors, reports.Checkpoints, reports.OutboxPending, reports.Sagas,
            reports.Schedule?.TimersPending ?? 0, reports.Schedule?.NextDue, reports.InFlightFinished, released.Detail);

    /// <summary>Logs the receipt: info when complete, error when something was left behind.</summary>
    public static void Log(ILoggingAdapter log, TenantDrainReceipt receipt)
    {
        if (receipt.Complete)
            log.Info("Tenant {0} handed off: {1}", receipt.Tenant, string.Create(CultureInfo.InvariantCulture,
                $"acked [{Describe(receipt.LastAcked)}], checkpoints [{Describe(receipt.Checkpoints)}], outbox pending 0, {receipt.SagasStopped} instance(s) stopped, {receipt.TimersPending} timer(s) pending (next {receipt.NextTimerDue:O}); custody: {receipt.Custody}"));
        else
            log.Error("Tenant {0} handed off INCOMPLETE: {1}", receipt.Tenant, string.Create(CultureInfo.InvariantCulture,
                $"outbox pending {receipt.OutboxPending}, in-flight events finished: {receipt.InFlightFinished}; acked [{Describe(receipt.LastAcked)}]; custody: {receipt.Custody}"));
    }

    private static string Describe(ImmutableDictionary<string, ulong> bySaga) => string.Join(", ", bySaga.Select(kv => $"{kv.Key}={kv.Value}"));
}
