namespace Runner.Sagas;

/// <summary>
/// A named saga: the events it handles, how it correlates them to a saga instance, its initial state and its pure
/// decision functions. The runtime holds one instance per node and calls it from many threads, so an implementation
/// must be stateless after construction. Write sagas by deriving from <see cref="Saga{TState}"/>.
/// </summary>
public interface ISagaDefinition
{
    /// <summary>The saga name, a valid <see cref="SagaName"/>; part of persistence ids and the dead-letter subject.</summary>
    string Name { get; }

    /// <summary>The event types (last subject tokens) the saga handles.</summary>
    IReadOnlyCollection<string> EventTypes { get; }

    /// <summary>The timer names the saga declared; decisions can schedule only these.</summary>
    IReadOnlyCollection<string> TimerNames { get; }

    /// <summary>The CLR type of the saga state.</summary>
    Type StateType { get; }

    /// <summary>The state of a new saga instance, before its first event.</summary>
    object InitialState();

    /// <summary>
    /// Deserializes the payload (System.Text.Json, web defaults: camelCase) into the event type's CLR type and
    /// correlates it. Never throws for bad input: returns <see cref="ParseResult.Rejected"/> with a reason naming the
    /// problem.
    /// </summary>
    ParseResult Parse(IncomingEvent incoming);

    /// <summary>
    /// Decides what an event means for an instance in <paramref name="state"/>. Pure: no I/O, no clock other than
    /// <paramref name="now"/>. Throws when the saga author's code throws; the runtime parks such events.
    /// </summary>
    /// <param name="state">The instance's current state, of <see cref="StateType"/>.</param>
    /// <param name="sagaEvent">An event from <see cref="ParseResult.Ok"/>.</param>
    /// <param name="now">The runtime's clock.</param>
    Decision Decide(object state, object sagaEvent, DateTimeOffset now);

    /// <summary>Decides what a fired timer means for an instance in <paramref name="state"/>; pure like <see cref="Decide"/>.</summary>
    /// <param name="state">The instance's current state.</param>
    /// <param name="timerName">One of <see cref="TimerNames"/>.</param>
    /// <param name="now">The runtime's clock (late when the timer fired late).</param>
    Decision OnTimer(object state, string timerName, DateTimeOffset now);

    /// <summary>Serializes a state as JSON (web defaults).</summary>
    byte[] SerializeState(object state);

    /// <summary>Deserializes a state written by <see cref="SerializeState"/>.</summary>
    object DeserializeState(ReadOnlySpan<byte> data);

    /// <summary>Serializes a command's payload as the JSON body of its message (web defaults: camelCase).</summary>
    byte[] SerializeCommand(OutgoingCommand command);
}
