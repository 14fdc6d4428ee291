using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Configuration;
using Akka.Streams;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Nats;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// The order a consumption keeps per instance when an event is left unresolved: a later event of the instance that
/// arrives after the unresolved one's chain has ended is held back (left unacked) until the unresolved one comes back,
/// never applied ahead of it. The consumer is scripted and the tenant is a probe, so every step is observed.
/// </summary>
public sealed class EventPumpOrderSpec : ActorSpecBase
{
    private readonly ScriptedEventSource _source = new();

    public EventPumpOrderSpec(ITestOutputHelper output)
        : base(output)
    {
        Services = new TenantServices(Services.Catalog, Services.Runtime, Clock, Transport, _source);
    }

    [Fact]
    public async Task An_event_after_one_left_unresolved_should_wait_for_it_to_come_back()
    {
        var tenant = CreateTestProbe();
        var (pump, handle) = StartPump(tenant);

        // OrderPlaced is applied but its ack fails: left unacked. StockReserved, queued behind it, is not applied either.
        var placed = _source.Push(1, "OrderPlaced", """{"orderId":"o1","amount":1}""", failAck: true);
        Assert.Equal(1UL, tenant.ExpectMsg<DeliverEvent>().Event.StreamSequence);
        var reserved = _source.Push(2, "StockReserved", """{"orderId":"o1"}""");
        await AwaitConditionAsync(() => Task.FromResult(handle.Progress.View().Lag == 2));
        tenant.LastSender.Tell(new Applied(1, 1));
        await AwaitConditionAsync(() => Task.FromResult(placed.AckAttempts == 1 && !pump.InChain("o1")));

        // PaymentCaptured arrives once that chain has ended: it must not reach the instance before StockReserved.
        var captured = _source.Push(3, "PaymentCaptured", """{"orderId":"o1"}""");
        _source.Push(4, "OrderPlaced", """{"orderId":"o2","amount":1}""");
        var next = tenant.ExpectMsg<DeliverEvent>();
        Assert.Equal("o2", next.CorrelationId); // o1's PaymentCaptured (seq 3) was handled before it, and held back
        tenant.LastSender.Tell(new Applied(1, 1));

        // The three come back (as after AckWait), in their order: OrderPlaced (a duplicate now), StockReserved, PaymentCaptured.
        _source.Redeliver(reserved); // ahead of its predecessor: still held
        _source.Redeliver(placed);
        Assert.Equal(1UL, tenant.ExpectMsg<DeliverEvent>().Event.StreamSequence);
        tenant.LastSender.Tell(new Duplicate("m-1"));
        await AwaitConditionAsync(() => Task.FromResult(placed.Acked));
        _source.Redeliver(reserved);
        Assert.Equal(2UL, tenant.ExpectMsg<DeliverEvent>().Event.StreamSequence);
        tenant.LastSender.Tell(new Applied(2, 1));
        _source.Redeliver(captured);
        Assert.Equal(3UL, tenant.ExpectMsg<DeliverEvent>().Event.StreamSequence);
        tenant.LastSender.Tell(new Applied(3, 1));

        await AwaitConditionAsync(() => Task.FromResult(captured.Acked));
        Assert.Equal([4UL, 1UL, 2UL, 3UL], _source.AckOrder);
        Assert.Empty(Transport.DeadLetters);
        handle.Stop();
    }

    [Fact]
    public async Task Events_of_other_instances_should_go_on_while_one_is_held()
    {
        var tenant = CreateTestProbe();
        var (_, handle) = StartPump(tenant);

        var placed = _source.Push(1, "OrderPlaced", """{"orderId":"o1","amount":1}""", failAck: true);
        tenant.ExpectMsg<DeliverEvent>();
        tenant.LastSender.Tell(new Applied(1, 1));
        await AwaitConditionAsync(() => Task.FromResult(placed.AckAttempts == 1));

        _source.Push(2, "StockReserved", """{"orderId":"o1"}""");
        for (var i = 0; i < 3; i++)
        {
            _source.Push((ulong)(3 + i), "OrderPlaced", $$"""{"orderId":"x{{i}}","amount":1}""");
            var other = tenant.ExpectMsg<DeliverEvent>();
            Assert.Equal($"x{i}", other.CorrelationId);
            tenant.LastSender.Tell(new Applied(1, 1));
        }

        // The held instance's own event comes back: it is applied again (a duplicate at the instance) and it goes on.
        _source.Redeliver(placed);
        Assert.Equal(1UL, tenant.ExpectMsg<DeliverEvent>().Event.StreamSequence);
        tenant.LastSender.Tell(new Duplicate("k"));
        await AwaitConditionAsync(() => Task.FromResult(placed.Acked));
        Assert.Equal([3UL, 4UL, 5UL, 1UL], _source.AckOrder);
        handle.Stop();
    }

    private (EventPump Pump, PumpHandle Handle) StartPump(Akka.TestKit.TestProbe tenant)
    {
        var checkpoints = Sys.ActorOf(Props.Create(() => new NoCheckpoints()));
        var pump = new EventPump(Tenant, Saga, Services, _source, tenant.Ref, Sys.Log);
        return (pump, pump.Run(Sys.Materializer(), checkpoints));
    }

    private sealed class NoCheckpoints : ReceiveActor
    {
        public NoCheckpoints() =>
            Receive<CheckpointActor.GetCheckpoints>(_ => Sender.Tell(ImmutableDictionary<string, ulong>.Empty));
    }

    /// <summary>One consumer whose deliveries the spec pushes (and pushes again, as a redelivery), recording acks in order.</summary>
    private sealed class ScriptedEventSource : IdleEventSource
    {
        private readonly Channel<ScriptedMsg> _deliveries = Channel.CreateUnbounded<ScriptedMsg>();
        private readonly ConcurrentQueue<ulong> _acks = new();

        public override NatsSettings Settings { get; } = NatsSettings.Create(ConfigurationFactory.ParseString("runner.nats.consumer.retry-backoff = 50ms"));

        public ulong[] AckOrder => [.. _acks];

        public ScriptedMsg Push(ulong seq, string type, string json, bool failAck = false)
        {
            var msg = new ScriptedMsg(this, $"runner.evt.{Tenant}.{type}", seq, Encoding.UTF8.GetBytes(json), failAck);
            _deliveries.Writer.TryWrite(msg);
            return msg;
        }

        public void Redeliver(ScriptedMsg msg) => _deliveries.Writer.TryWrite(msg);

        internal void Acked(ulong seq) => _acks.Enqueue(seq);

        public override async IAsyncEnumerable<INatsJSMsg<byte[]>> ConsumeInOrderAsync(string tenant, string saga, Func<CancellationToken, Task<ulong?>> checkpoint,
            Action<ConsumerStart>? started, [EnumeratorCancellation] CancellationToken cancellationToken, Action<string>? interrupted = null)
        {
            await checkpoint(cancellationToken).ConfigureAwait(false);
            started?.Invoke(new ConsumerStart(NatsEdge.ConsumerName(tenant, saga), 1, false, 0, 0, "start"));
            while (true)
            {
                ScriptedMsg next;
                try
                {
                    next = await _deliveries.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }

                yield return next;
            }
        }
    }

    /// <summary>A delivered event; its first ack fails when asked to (as with a connection lost at that moment).</summary>
    private sealed class ScriptedMsg(ScriptedEventSource source, string subject, ulong seq, byte[] data, bool failAck) : INatsJSMsg<byte[]>
    {
        private int _ackAttempts;
        private volatile bool _acked;

        public int AckAttempts => Volatile.Read(ref _ackAttempts);

        public bool Acked => _acked;

        public string Subject { get; } = subject;

        public int Size => Data?.Length ?? 0;

        public NatsHeaders? Headers => new() { ["Nats-Msg-Id"] = $"m-{seq}" };

        public byte[]? Data { get; } = data;

        public INatsConnection? Connection => null;

        public NatsJSMsgMetadata? Metadata { get; } =
            new NatsJSMsgMetadata(new NatsJSSequencePair(seq, seq), 1, 0, DateTimeOffset.UtcNow, "runner-events", "c", string.Empty);

        public string? ReplyTo => null;

        public NatsException? Error => null;

        public void EnsureSuccess()
        {
        }

        public ValueTask ReplyAsync(NatsHeaders? headers = null, string? replyTo = null, NatsPubOpts? opts = null,
            CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask AckAsync(AckOpts? opts = null, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _ackAttempts) == 1 && failAck) throw new NatsException("connection lost while acking");
            _acked = true;
            source.Acked(seq);
            return ValueTask.CompletedTask;
        }

        public ValueTask NakAsync(AckOpts? opts = null, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask AckProgressAsync(AckOpts? opts = null, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask AckTerminateAsync(AckOpts? opts = null, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }
}
