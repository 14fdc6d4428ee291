using Runner.Actors.Internal;
using Xunit;

namespace Runner.Actors.Tests;

/// <summary>
/// What a stall looks like from the node's own bookkeeping (the checkpoint, <c>/admin/consumers</c>, the lag and
/// seconds-since-progress metrics and the stall warning all read it): the applied position moves only over a contiguous
/// prefix of finished events, and the clock of a stall runs only while events wait.
/// </summary>
public sealed class ConsumptionProgressSpec
{
    private readonly ManualTime _time = new();

    [Fact]
    public void The_applied_position_should_move_only_over_a_contiguous_prefix_of_finished_events()
    {
        var progress = new ConsumptionProgress("t1", "order", _time);
        progress.Started("runner-t1-order", 11, "start"); // the checkpoint was 10
        progress.Delivered(11, 2);
        progress.Delivered(12, 1);
        progress.Delivered(13, 0);
        progress.Finished(12);
        progress.Finished(13);
        Assert.Equal(10ul, progress.Floor); // the checkpoint: 11 is still being applied
        Assert.Equal(1ul, progress.View().Lag);

        progress.Finished(11);
        Assert.Equal(13ul, progress.Floor);
        Assert.Equal(0ul, progress.View().Lag);
    }

    [Fact]
    public void A_stall_should_be_counted_only_while_events_wait_and_end_when_the_position_moves()
    {
        var progress = new ConsumptionProgress("t1", "order", _time);
        progress.Started("runner-t1-order", 1, "start");
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.Zero, progress.View().SinceProgress); // idle: nothing waits, no stall

        progress.Delivered(1, 5); // one in flight, five more held by the consumer
        _time.Advance(TimeSpan.FromSeconds(12));
        var stalled = progress.View();
        Assert.Equal(TimeSpan.FromSeconds(12), stalled.SinceProgress);
        Assert.Equal(6ul, stalled.Lag);
        Assert.True(stalled.Running);

        progress.Finished(1);
        Assert.Equal(TimeSpan.Zero, progress.View().SinceProgress);
        Assert.Equal(1ul, progress.View().AppliedSeq);
    }

    [Fact]
    public void An_interrupted_consumption_should_show_as_not_running_with_its_reason_until_it_starts_again()
    {
        var progress = new ConsumptionProgress("t1", "order", _time);
        progress.Started("runner-t1-order", 1, "start");
        progress.Delivered(1, 3);
        progress.Interrupted("no message or heartbeat for 00:00:01");
        _time.Advance(TimeSpan.FromSeconds(3));
        var down = progress.View();
        Assert.False(down.Running);
        Assert.Equal("no message or heartbeat for 00:00:01", down.Reason);
        Assert.Equal(TimeSpan.FromSeconds(3), down.SinceProgress);

        progress.Started("runner-t1-order-4922d3", 1, "switched to standby consumer runner-t1-order-4922d3");
        var up = progress.View();
        Assert.True(up.Running);
        Assert.Equal("runner-t1-order-4922d3", up.Consumer);
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
