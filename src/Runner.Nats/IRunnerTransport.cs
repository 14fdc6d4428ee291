namespace Runner.Nats;

/// <summary>What the actors need from NATS to let effects out: commands and dead letters.</summary>
public interface IRunnerTransport
{
    /// <summary>
    /// Publishes a command and completes on its PubAck (retrying until then, or until cancelled); <paramref name="traceParent"/>
    /// (the W3C trace context of the decision that made it, or null) goes into its <c>traceparent</c> header.
    /// </summary>
    Task PublishCommandAsync(string tenant, string saga, string correlation, string commandType, byte[] payload, string msgId, string? traceParent,
        CancellationToken cancellationToken);

    /// <summary>Parks a message on the dead-letter subject of (tenant, saga) with its reason and origin.</summary>
    Task PublishDeadLetterAsync(string tenant, string saga, string kind, string reason, string originSubject, ulong originSequence,
        byte[] payload, NATS.Client.Core.NatsHeaders? originHeaders, CancellationToken cancellationToken);
}
