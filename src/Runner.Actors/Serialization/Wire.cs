namespace Runner.Actors.Serialization;

/// <summary>
/// Marker of the messages that cross nodes between the admin endpoint and the tenant it asks (bound to
/// <see cref="RunnerWireSerializer"/>): each has an explicit, versioned manifest, so that nodes of two versions
/// understand each other or refuse with the manifest's name, never by a CLR type name.
/// </summary>
public interface IRunnerWire;
