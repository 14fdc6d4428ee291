using Runner.Sagas.Internal;

namespace Runner.Sagas;

/// <summary>
/// One event as it arrived from the broker: published to <c>runner.evt.&lt;tenant&gt;.&lt;EventType&gt;</c>, before it is
/// parsed and correlated by a saga definition.
/// </summary>
public sealed record IncomingEvent
{
    private readonly string _tenant = "";
    private readonly string _eventType = "";
    private readonly IReadOnlyDictionary<string, string> _headers = EmptyHeaders;
    private readonly string _messageId = "";

    /// <summary>An empty header set.</summary>
    public static IReadOnlyDictionary<string, string> EmptyHeaders { get; } = new Dictionary<string, string>(0);

    /// <summary>Creates an event; <paramref name="tenant"/> must satisfy <see cref="TenantId.Pattern"/>.</summary>
    /// <param name="tenant">The tenant token of the subject.</param>
    /// <param name="eventType">The last token of the subject.</param>
    /// <param name="payload">The message body, JSON.</param>
    /// <param name="headers">The message headers (<c>Nats-Msg-Id</c> and whatever the producer added).</param>
    /// <param name="messageId">The <c>Nats-Msg-Id</c> header, or empty when the producer sent none.</param>
    /// <param name="streamSequence">The JetStream stream sequence.</param>
    /// <param name="timestamp">When the stream stored the message.</param>
    /// <exception cref="ArgumentException">The tenant id or the event type is invalid.</exception>
    public IncomingEvent(
        string tenant,
        string eventType,
        ReadOnlyMemory<byte> payload,
        IReadOnlyDictionary<string, string>? headers,
        string? messageId,
        ulong streamSequence,
        DateTimeOffset timestamp)
    {
        Tenant = tenant;
        EventType = eventType;
        Payload = payload;
        Headers = headers ?? EmptyHeaders;
        MessageId = messageId ?? "";
        StreamSequence = streamSequence;
        Timestamp = timestamp;
    }

    /// <summary>The header that carries the producer's message id, which JetStream deduplicates on.</summary>
    public const string MessageIdHeader = "Nats-Msg-Id";

    /// <summary>The tenant, a valid <see cref="TenantId"/>.</summary>
    public string Tenant { get => _tenant; init => _tenant = TenantId.Validate(value); }

    /// <summary>The event type: the last token of the subject <c>runner.evt.&lt;tenant&gt;.&lt;EventType&gt;</c>.</summary>
    public string EventType { get => _eventType; init => _eventType = SubjectToken.Validate(value, "Event type", nameof(EventType)); }

    /// <summary>The message body: JSON.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The message headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get => _headers; init => _headers = value ?? EmptyHeaders; }

    /// <summary>The <c>Nats-Msg-Id</c> header, or empty.</summary>
    public string MessageId { get => _messageId; init => _messageId = value ?? ""; }

    /// <summary>The JetStream stream sequence of the message.</summary>
    public ulong StreamSequence { get; init; }

    /// <summary>When the stream stored the message.</summary>
    public DateTimeOffset Timestamp { get; init; }
}
