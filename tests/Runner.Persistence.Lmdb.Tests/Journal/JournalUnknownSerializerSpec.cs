using Akka.Actor;
using Akka.Persistence;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Persistence.Lmdb.Tests.Journal;

/// <summary>
/// Events written by an actor system with a serializer that a later actor system lacks: recovery in the later system
/// fails, and the error names the persistence id and the sequence number of the event that cannot be read.
/// </summary>
public sealed class JournalUnknownSerializerSpec(ITestOutputHelper output) : JournalSpecBase(output)
{
    [Fact]
    public async Task Recovery_should_fail_naming_the_event_when_its_serializer_is_unknown()
    {
        await UnreadableEvents.WriteInOtherSystem(Dir.Path, "p-unknown-serializer");

        var failure = UnreadableEvents.Recover(this, "p-unknown-serializer");
        Assert.Contains("p-unknown-serializer", failure.Message, StringComparison.Ordinal);
        Assert.Contains("sequence number 2", failure.Message, StringComparison.Ordinal);
        Assert.Contains(OpaqueSerializer.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), failure.Message, StringComparison.Ordinal);
    }
}

/// <summary>As <see cref="JournalUnknownSerializerSpec"/>, with the serializer known but no longer knowing the manifest.</summary>
public sealed class JournalUnknownManifestSpec(ITestOutputHelper output) : JournalSpecBase(output, TestSerializers.V2OnlyHocon)
{
    [Fact]
    public async Task Recovery_should_fail_naming_the_event_when_its_manifest_is_unknown()
    {
        await UnreadableEvents.WriteInOtherSystem(Dir.Path, "p-unknown-manifest");

        var failure = UnreadableEvents.Recover(this, "p-unknown-manifest");
        Assert.Contains("p-unknown-manifest", failure.Message, StringComparison.Ordinal);
        Assert.Contains("sequence number 2", failure.Message, StringComparison.Ordinal);
        Assert.Contains(OpaqueSerializer.ManifestV1, failure.Message, StringComparison.Ordinal);
    }
}

internal static class UnreadableEvents
{
    /// <summary>Writes a string (1) and an <see cref="Opaque"/> (2) in a system that has the Opaque serializer, then terminates it.</summary>
    public static async Task WriteInOtherSystem(string dataDir, string persistenceId)
    {
        var writer = TestSystems.Create("writer", LmdbSpecBase.Config(dataDir, TestSerializers.Hocon));
        try
        {
            var actor = writer.ActorOf(Props.Create(() => new Recorder(persistenceId, ActorRefs.Nobody)));
            Assert.Equal("persisted:1", await actor.Ask<string>("plain", TimeSpan.FromSeconds(10)));
            Assert.Equal("persisted:2", await actor.Ask<string>(new Opaque("secret"), TimeSpan.FromSeconds(10)));
        }
        finally
        {
            // Stores are shared per directory and released when the system terminates.
            await writer.Terminate();
        }
    }

    /// <summary>Recovers <paramref name="persistenceId"/> in the spec's system and returns the recovery failure.</summary>
    public static Exception Recover(JournalSpecBase spec, string persistenceId)
    {
        var monitor = spec.CreateTestProbe();
        var actor = spec.Sys.ActorOf(Props.Create(() => new Recorder(persistenceId, monitor.Ref)));
        monitor.Watch(actor);
        var failure = monitor.ExpectMsg<RecoveryFailed>(TimeSpan.FromSeconds(10)).Cause;
        monitor.ExpectTerminated(actor);
        return failure;
    }

    private sealed record RecoveryFailed(Exception Cause);

    private sealed class Recorder : ReceivePersistentActor
    {
        private readonly IActorRef _monitor;

        public Recorder(string persistenceId, IActorRef monitor)
        {
            PersistenceId = persistenceId;
            _monitor = monitor;
            Recover<object>(_ => { });
            Command<object>(o => Persist(o, _ => Sender.Tell("persisted:" + LastSequenceNr)));
        }

        public override string PersistenceId { get; }

        protected override void OnRecoveryFailure(Exception reason, object? message = null)
        {
            _monitor.Tell(new RecoveryFailed(reason));
            base.OnRecoveryFailure(reason, message);
        }
    }
}
