using System.Text;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Runner.TestKit;
using Xunit;

namespace Runner.Nats.Tests;

/// <summary>Command publishing against a real nats-server.</summary>
public sealed class NatsEdgeSpec(NatsServerFixture server) : IClassFixture<NatsServerFixture>
{
    private async Task<NatsEdge> StartEdgeAsync()
    {
        var name = NatsServerFixture.UniqueName();
        var settings = new NatsSettings
        {
            Url = server.Url,
            Subjects = new Subjects(name),
            EventsStream = name.ToUpperInvariant() + "_EVENTS",
            CommandsStream = name.ToUpperInvariant() + "_COMMANDS",
            DeadLetterStream = name.ToUpperInvariant() + "_DLQ",
            FileStorage = false,
            PublishTimeout = TimeSpan.FromSeconds(2),
        };
        var edge = new NatsEdge(settings);
        await edge.StartAsync();
        return edge;
    }

    [Fact]
    public async Task PublishCommandAsync_should_complete_when_the_stream_already_holds_the_msg_id()
    {
        await using var edge = await StartEdgeAsync();
        var payload = Encoding.UTF8.GetBytes("""{"orderId":"o-1"}""");

        // A recovered outbox entry is published again with the same Nats-Msg-Id: JetStream answers "duplicate",
        // which means the command is already in the stream and the publish has reached its goal.
        await edge.PublishCommandAsync("acme", "order", "o-1", "ReserveStock", payload, "acme:order:o-1:1:0", null, CancellationToken.None);
        var again = edge.PublishCommandAsync("acme", "order", "o-1", "ReserveStock", payload, "acme:order:o-1:1:0", null, CancellationToken.None);
        await again.WaitAsync(TimeSpan.FromSeconds(10));

        var stream = await edge.JetStream.GetStreamAsync(edge.Settings.CommandsStream);
        Assert.Equal(1L, stream.Info.State.Messages);
    }

    [Fact]
    public async Task PublishCommandAsync_should_keep_trying_while_the_subject_has_no_stream_and_stop_when_cancelled()
    {
        await using var edge = await StartEdgeAsync();
        await edge.JetStream.DeleteStreamAsync(edge.Settings.CommandsStream);
        using var cts = new CancellationTokenSource();
        var publishing = edge.PublishCommandAsync("acme", "order", "o-2", "ReserveStock", [1], "acme:order:o-2:1:0", null, cts.Token);

        // No stream answers: the publish is retried, not failed and not dropped.
        await Task.WhenAny(publishing, Task.Delay(TimeSpan.FromSeconds(2)));
        Assert.False(publishing.IsCompleted);

        await edge.JetStream.CreateStreamAsync(new StreamConfig(edge.Settings.CommandsStream, [edge.Settings.Subjects.AllCommands])
        {
            Storage = StreamConfigStorage.Memory,
            DuplicateWindow = edge.Settings.DuplicateWindow,
        });
        await publishing.WaitAsync(TimeSpan.FromSeconds(15));
        var stream = await edge.JetStream.GetStreamAsync(edge.Settings.CommandsStream);
        Assert.Equal(1L, stream.Info.State.Messages);
    }

    [Fact]
    public async Task ReadTenantEventsAsync_should_read_one_tenants_events_in_a_range_and_leave_no_consumer_behind()
    {
        await using var edge = await StartEdgeAsync();
        for (var i = 1; i <= 6; i++)
        {
            var tenant = i % 2 == 0 ? "beta" : "acme";
            (await edge.JetStream.PublishAsync(edge.Settings.Subjects.Event(tenant, "Happened"), Encoding.UTF8.GetBytes($"{{\"i\":{i}}}"))).EnsureSuccess();
        }

        var read = new List<ulong>();
        await foreach (var msg in edge.ReadTenantEventsAsync("acme", 2, 5, "reader-1", CancellationToken.None)) read.Add(msg.Metadata!.Value.Sequence.Stream);
        Assert.Equal([3UL, 5UL], read);

        var all = new List<ulong>();
        await foreach (var msg in edge.ReadTenantEventsAsync("beta", 1, 100, "reader-2", CancellationToken.None)) all.Add(msg.Metadata!.Value.Sequence.Stream);
        Assert.Equal([2UL, 4UL, 6UL], all);
        Assert.Equal((1UL, 6UL), await edge.EventsRangeAsync(CancellationToken.None));

        var consumers = new List<string>();
        await foreach (var name in edge.JetStream.ListConsumerNamesAsync(edge.Settings.EventsStream)) consumers.Add(name);
        Assert.Empty(consumers);
    }
}
