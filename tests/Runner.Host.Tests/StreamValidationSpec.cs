using NATS.Client.JetStream.Models;
using Runner.TestKit;
using Xunit;

namespace Runner.Host.Tests;

public sealed class StreamValidationSpec(NatsServerFixture nats) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task A_stream_with_incompatible_settings_should_stop_the_start_with_what_differs()
    {
        await using var s = new Scenario(nats);
        await s.Js.CreateStreamAsync(new StreamConfig(s.EventsStream, [$"{s.Prefix}.evt.only-this.>"])
        {
            DuplicateWindow = TimeSpan.FromSeconds(30),
        });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => s.StartNodeAsync());
        Assert.Contains(s.EventsStream, e.Message, StringComparison.Ordinal);
        Assert.Contains("subjects", e.Message, StringComparison.Ordinal);
        Assert.Contains("duplicate window", e.Message, StringComparison.Ordinal);
        var unchanged = await s.Js.GetStreamAsync(s.EventsStream);
        Assert.Equal([$"{s.Prefix}.evt.only-this.>"], unchanged.Info.Config.Subjects);
    }
}
