using Akka.Actor;
using Akka.Event;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;

namespace Runner.Actors.Tenant;

/// <summary>
/// The running tenant's saga instances, as its children: a message for an instance starts it when it is not in memory;
/// while an instance passivates, its messages wait and start it again, in their order, once it has stopped.
/// </summary>
internal sealed class TenantInstances(string tenant, TenantServices services, IActorRef publisher, IActorRef scheduleIndex, ILoggingAdapter log)
{
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _passivating = new(StringComparer.Ordinal);
    private readonly InstanceTally _tally = Tracked(new InstanceTally(tenant));

    private static InstanceTally Tracked(InstanceTally tally)
    {
        RunnerMetrics.Track(tally);
        return tally;
    }

    /// <summary>Child name of an instance: URL-escaped so any correlation id makes a valid actor name.</summary>
    public static string ChildName(string saga, string correlationId) => "s-" + Uri.EscapeDataString(saga + "|" + correlationId);

    /// <summary>Whether <paramref name="child"/> is an instance.</summary>
    public static bool IsInstance(IActorRef child) => child.Path.Name.StartsWith("s-", StringComparison.Ordinal);

    /// <summary>Forwards <paramref name="message"/> to its instance, started when needed (or held while it passivates).</summary>
    public void Route(IUntypedActorContext context, ISagaMessage message, IActorRef sender)
    {
        var name = ChildName(message.Saga, message.CorrelationId);
        if (_passivating.TryGetValue(name, out var buffer))
        {
            buffer.Add((message, sender));
            return;
        }

        var child = context.Child(name);
        if (child.IsNobody())
        {
            if (!services.Catalog.TryGet(message.Saga, out var saga))
            {
                log.Warning("Tenant {0} has no saga named {1}; dropping {2}", tenant, message.Saga, message.GetType().Name);
                if (message is DeliverEvent) sender.Tell(new HandlerFailed($"unknown saga '{message.Saga}'"));
                return;
            }

            child = context.Watch(context.ActorOf(
                SagaActor.Props(tenant, saga!, message.CorrelationId, services.Runtime, publisher, scheduleIndex, services.Clock, _tally), name));
        }

        child.Tell(message, sender);
    }

    /// <summary>An instance asked to passivate: it is stopped, and what arrives for it meanwhile is held.</summary>
    public void Passivate(IUntypedActorContext context, IActorRef child)
    {
        if (_passivating.ContainsKey(child.Path.Name)) return;
        _passivating[child.Path.Name] = [];
        context.Stop(child);
    }

    /// <summary>A child stopped: messages that arrived while it passivated go to the tenant again (which restarts it), in order.</summary>
    public void Stopped(IActorRef tenantActor, IActorRef child)
    {
        if (!_passivating.Remove(child.Path.Name, out var buffer) || buffer.Count == 0) return;
        foreach (var (message, sender) in buffer) tenantActor.Tell(message, sender);
    }

    /// <summary>Held messages are dropped (the tenant is stopping; they are redelivered where it runs next).</summary>
    public void Clear() => _passivating.Clear();

    /// <summary>The tenant stopped (its instances stopped first): it no longer counts in <c>runner.instances.active</c>.</summary>
    public void Untrack() => RunnerMetrics.Untrack(_tally);
}
