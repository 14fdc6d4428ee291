using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Runner.Persistence.Lmdb;
using Runner.Placement.Custody;
using Runner.Placement.Lmdb;
using Runner.TestKit;
using Xunit;

namespace Runner.Placement.Tests;

/// <summary>
/// Journal replication on a three-server NATS cluster (the log at three replicas): an append whose first try was stored
/// but not acknowledged in time is sent again, and the cluster answers "wrong last sequence" (it checks the expected
/// sequence before the message id): the replicator recognises its own message and goes on, unfenced, stored once.
/// </summary>
public sealed class JournalReplicatorClusterSpec : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _name = NatsServerFixture.UniqueName("rc");
    private NatsClusterFixture _cluster = null!;
    private TcpProxy _proxy = null!;
    private NatsConnection _connection = null!;
    private NatsConnection _direct = null!;
    private ActorSystem? _system;
    private TempDirectory? _dir;

    public async Task InitializeAsync()
    {
        _cluster = await NatsClusterFixture.StartAsync();
        _proxy = new TcpProxy(_cluster.Servers[0].Port);
        _connection = new NatsConnection(NatsOpts.Default with { Url = _proxy.NatsUrl });
        _direct = new NatsConnection(NatsOpts.Default with { Url = _cluster.Urls });
    }

    public async Task DisposeAsync()
    {
        if (_system is not null) await _system.Terminate();
        _dir?.Dispose();
        await _connection.DisposeAsync();
        await _direct.DisposeAsync();
        await _proxy.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task An_append_stored_before_its_acknowledgement_came_should_be_taken_as_ours_when_sent_again()
    {
        _dir = new TempDirectory("replica-cluster");
        _system = LmdbNodes.Create("cluster-replica", _dir.Path);
        var js = new NatsJSContext(_connection);
        var settings = new ReplicationSettings
        {
            Enabled = true, Stream = _name.ToUpperInvariant() + "_JOURNAL", Replicas = 3, AppendTimeout = TimeSpan.FromMilliseconds(300), GiveUpAfter = TimeSpan.FromSeconds(30),
        };
        var custody = new CustodySettings { HomesBucket = _name + "-homes", StateBucket = _name + "-state", Replicas = 3 };
        await using var replicator = new JournalReplicator(LmdbPersistence.Get(_system).StateStore(), js, settings, custody, _name, "node-a",
            NullLogger<JournalReplicator>.Instance);
        await replicator.StartAsync(CancellationToken.None);
        await replicator.OpenAsync("t1", 1, false, CancellationToken.None);

        var probe = _system.ActorOf(Props.Create(() => new StringProbe("saga|t1|order|o1")));
        Assert.Equal("ok", await probe.Ask<string>("placed", Wait));

        // The append of "paid" is stored, but its acknowledgement (and the answers to the tries after it) held back past the
        // append timeout: once answers come through again, the next try hears "wrong last sequence".
        _proxy.HoldReplies();
        var paid = probe.Ask<string>("paid", Wait);
        var stored = DateTime.UtcNow + Wait;
        var direct = new NatsJSContext(_direct);
        while (await MessagesAsync(direct, settings.Stream) < 3 && DateTime.UtcNow < stored)
            await Task.Delay(50); // until the held append is in the stream
        await Task.Delay(settings.AppendTimeout * 3); // at least one try timed out
        _proxy.ReleaseReplies();
        Assert.Equal("ok", await paid);
        Assert.Equal("ok", await probe.Ask<string>("shipped", Wait));

        Assert.Null(replicator.Logs().Single().Fence);
        var stream = await js.GetStreamAsync(settings.Stream, new StreamInfoRequest { SubjectsFilter = ReplicationSettings.Subject(_name, "t1") });
        Assert.Equal(4L, stream.Info.State.Subjects!.Values.Single()); // the open marker and three appends, each stored once
    }

    private static async Task<long> MessagesAsync(INatsJSContext js, string stream) => (long)(await js.GetStreamAsync(stream)).Info.State.Messages;
}
