using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Persistence.Lmdb;
using Runner.Sagas;
using Runner.Sagas.Samples;
using Runner.TestKit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>TestKit spec with the LMDB journal in a temporary directory, the runner's serializer, a manual clock and a recording transport.</summary>
public abstract class ActorSpecBase : Akka.TestKit.Xunit2.TestKit
{
    protected const string Tenant = "acme";

    protected ActorSpecBase(ITestOutputHelper output, string extraHocon = "", TempDirectory? dir = null)
        : this(output, extraHocon, dir ?? new TempDirectory("runner-actors"), 0)
    {
    }

    private ActorSpecBase(ITestOutputHelper output, string extraHocon, TempDirectory dir, int _)
        : base(Config(dir.Path, extraHocon), output: output)
    {
        Dir = dir;
        Clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        Transport = new RecordingTransport();
        Saga = new OrderSaga(TimeSpan.FromMinutes(15));
        var catalog = new SagaCatalog();
        catalog.Add(Saga);
        Services = new TenantServices(catalog, RuntimeSettings.Create(Sys.Settings.Config), Clock, Transport, new IdleEventSource());
    }

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    protected TempDirectory Dir { get; }

    protected ManualClock Clock { get; }

    protected RecordingTransport Transport { get; }

    protected OrderSaga Saga { get; }

    protected TenantServices Services { get; set; }

    public static Config Config(string dir, string extraHocon) =>
        ConfigurationFactory.ParseString(extraHocon)
            .WithFallback(ConfigurationFactory.ParseString($$"""
                akka.loglevel = INFO
                akka.persistence.journal.plugin = "akka.persistence.journal.lmdb"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.lmdb"
                akka.persistence.journal.lmdb { data-dir = "{{dir}}", durability = nosync }
                akka.persistence.snapshot-store.lmdb { data-dir = "{{dir}}", durability = nosync }
                runner.runtime.timer-tick = 50ms
                akka.test.single-expect-default = 15s
                """))
            .WithFallback(RuntimeSettings.DefaultConfiguration())
            .WithFallback(LmdbPersistence.DefaultConfiguration());

    protected IActorRef StartTenant(string name = "tenant") => Sys.ActorOf(TenantActor.Props(Tenant, Services), name);

    /// <summary>An event as the consumer would deliver it (parsed and correlated by the saga itself).</summary>
    protected DeliverEvent Event(string type, object payload, string? msgId = null, ulong seq = 1)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(payload, Web);
        var incoming = new IncomingEvent(Tenant, type, json, null, msgId ?? $"m-{Guid.NewGuid():N}", seq, Clock.Now);
        var parsed = Saga.Parse(incoming) as ParseResult.Ok
                     ?? throw new InvalidOperationException($"test event {type} did not parse: {Saga.Parse(incoming)}");
        return new DeliverEvent(Saga.Name, parsed.CorrelationId, incoming, parsed.Event);
    }

    protected static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Places order <paramref name="order"/> on <paramref name="tenant"/> (its payment timeout scheduled) and waits until it is applied.</summary>
    protected void PlaceOrder(IActorRef tenant, string order)
    {
        tenant.Tell(Event("OrderPlaced", new { orderId = order, amount = 3m }, "m-" + order));
        ExpectMsg<Applied>();
    }

    /// <summary>The timers the tenant's schedule index holds, by due time.</summary>
    protected ImmutableArray<(string Saga, string Correlation, TimerEntry Timer)> IndexedTimers(IActorRef tenant)
    {
        Sys.ActorSelection(tenant.Path / "schedule").Tell(ScheduleIndexActor.GetDue.Instance, TestActor);
        return ExpectMsg<ImmutableArray<(string, string, TimerEntry)>>();
    }

    protected void StopAndWait(IActorRef actor)
    {
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        Dir.Dispose();
    }
}
