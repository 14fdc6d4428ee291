namespace Runner.Sagas.Testing;

/// <summary>What the harness did with a published event.</summary>
public enum PublishOutcome
{
    /// <summary>Parsed, correlated, decided and applied.</summary>
    Applied,

    /// <summary>Rejected by <see cref="ISagaDefinition.Parse"/>; the runtime would park it on the dead-letter subject.</summary>
    Rejected,

    /// <summary>Correlated to a completed instance, which ignores further events.</summary>
    IgnoredCompleted,

    /// <summary>Its <c>Nats-Msg-Id</c> was published before; JetStream would drop it.</summary>
    Duplicate,

    /// <summary>
    /// The saga did not accept it in its instance's state (<see cref="SagaContext{TState}.Unexpected"/>): nothing applied;
    /// the runtime would park it on the dead-letter subject. <see cref="PublishResult.Decision"/> says why.
    /// </summary>
    Unexpected,
}

/// <summary>The result of <see cref="SagaHarness.Publish"/>.</summary>
/// <param name="Event">The event as the saga saw it.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Parse">The parse result (null for <see cref="PublishOutcome.Duplicate"/>).</param>
/// <param name="Decision">The applied decision (<see cref="PublishOutcome.Applied"/>), or the one that did not accept the event
/// (<see cref="PublishOutcome.Unexpected"/>, with its <see cref="Decision.Unexpected"/> reason).</param>
public sealed record PublishResult(IncomingEvent Event, PublishOutcome Outcome, ParseResult? Parse, Decision? Decision)
{
    /// <summary>The correlation id, when the event parsed.</summary>
    public string? CorrelationId => (Parse as ParseResult.Ok)?.CorrelationId;

    /// <summary>The rejection, when the event was rejected.</summary>
    public ParseResult.Rejected? Rejection => Parse as ParseResult.Rejected;
}

/// <summary>A command emitted by a saga instance in the harness.</summary>
/// <param name="CorrelationId">The instance that emitted it.</param>
/// <param name="Command">The command.</param>
public sealed record EmittedCommand(string CorrelationId, OutgoingCommand Command);

/// <summary>A timer the harness fired.</summary>
/// <param name="CorrelationId">The instance that owns the timer.</param>
/// <param name="Timer">The timer as scheduled.</param>
/// <param name="FiredAt">When it fired: its due time, or later after <see cref="SagaHarness.SimulateDowntime"/>.</param>
/// <param name="Decision">The applied decision.</param>
public sealed record TimerFiring(string CorrelationId, TimerRequest Timer, DateTimeOffset FiredAt, Decision Decision);
