using Runner.Sagas.Internal;

namespace Runner.Sagas;

/// <summary>
/// A command a decision emits. The outbox publishes it as JSON (<see cref="ISagaDefinition.SerializeCommand"/>) to
/// <c>runner.cmd.&lt;tenant&gt;.&lt;CommandType&gt;</c>.
/// </summary>
public sealed record OutgoingCommand
{
    private readonly string _commandType = "";
    private readonly object _payload = new();

    /// <summary>Creates a command.</summary>
    /// <param name="commandType">The last token of the command subject: letters, digits, <c>_</c> and <c>-</c>.</param>
    /// <param name="payload">The command body; serialized as JSON with its runtime type.</param>
    /// <exception cref="ArgumentException">The command type is not a valid subject token.</exception>
    /// <exception cref="ArgumentNullException">The payload is null.</exception>
    public OutgoingCommand(string commandType, object payload)
    {
        CommandType = commandType;
        Payload = payload;
    }

    /// <summary>The command type: the last token of <c>runner.cmd.&lt;tenant&gt;.&lt;CommandType&gt;</c>.</summary>
    public string CommandType
    {
        get => _commandType;
        init => _commandType = SubjectToken.Validate(value, "Command type", nameof(CommandType));
    }

    /// <summary>The command body.</summary>
    public object Payload
    {
        get => _payload;
        init => _payload = value ?? throw new ArgumentNullException(nameof(Payload), "A command needs a payload.");
    }

    /// <summary>Deconstructs into type and payload.</summary>
    public void Deconstruct(out string commandType, out object payload)
    {
        commandType = CommandType;
        payload = Payload;
    }
}
