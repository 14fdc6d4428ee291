using Akka.Actor;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace Runner.Actors.Tests;

/// <summary>
/// How a consumption hears its instances' answers without an <c>Ask</c> per event: the answer told to the event's
/// sender completes its wait, an event nobody answers is answered as not applied once the processing timeout has run
/// out, and a stopped consumption leaves nothing waiting.
/// </summary>
public sealed class OutcomeRepliesSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private IActorRefProvider Provider => ((ExtendedActorSystem)Sys).Provider;

    [Fact]
    public async Task The_answer_told_to_the_sender_should_complete_the_wait()
    {
        using var replies = new OutcomeReplies(Provider, TimeSpan.FromSeconds(30));
        var (sent, sender) = Deliver(replies, CreateTestProbe(), "event");

        Assert.Equal(1, replies.Pending);
        sender.Tell(new Applied(7, 1));
        sender.Tell(new Applied(8, 1)); // a second answer changes nothing

        Assert.Equal(new Applied(7, 1), await sent.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, replies.Pending);
    }

    [Fact]
    public async Task A_failure_told_to_the_sender_should_be_an_event_not_applied()
    {
        using var replies = new OutcomeReplies(Provider, TimeSpan.FromSeconds(30));
        var (sent, sender) = Deliver(replies, CreateTestProbe(), "event");

        sender.Tell(new Status.Failure(new InvalidOperationException("journal down")));

        var outcome = Assert.IsType<NotApplied>(await sent.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("journal down", outcome.Reason);
    }

    [Fact]
    public async Task An_event_nobody_answers_should_be_not_applied_once_the_timeout_ran_out_and_others_still_answered()
    {
        using var replies = new OutcomeReplies(Provider, TimeSpan.FromMilliseconds(300));
        var silent = CreateTestProbe();
        var started = Environment.TickCount64;
        var unanswered = replies.Send(silent.Ref, "first");
        var (answered, sender) = Deliver(replies, CreateTestProbe(), "second");
        sender.Tell(new Duplicate("k"));

        Assert.Equal(new Duplicate("k"), await answered.WaitAsync(TimeSpan.FromSeconds(10)));
        var outcome = Assert.IsType<NotApplied>(await unanswered.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("not applied within", outcome.Reason, StringComparison.Ordinal);
        Assert.True(Environment.TickCount64 - started >= 300, "answered before the timeout ran out");
        Assert.Equal(0, replies.Pending);
    }

    [Fact]
    public async Task A_stopped_consumption_should_answer_what_waits_and_every_later_event_as_not_applied()
    {
        var replies = new OutcomeReplies(Provider, TimeSpan.FromMinutes(5));
        var instance = CreateTestProbe();
        var (waiting, _) = Deliver(replies, instance, "event");

        replies.Dispose();

        Assert.IsType<NotApplied>(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsType<NotApplied>(await replies.Send(instance.Ref, "later").WaitAsync(TimeSpan.FromSeconds(10)));
        instance.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, replies.Pending);
    }

    [Fact]
    public void Each_sender_should_have_a_path_of_its_own()
    {
        using var replies = new OutcomeReplies(Provider, TimeSpan.FromSeconds(30));
        var instance = CreateTestProbe();
        var (_, first) = Deliver(replies, instance, "a");
        var (_, second) = Deliver(replies, instance, "b");

        Assert.NotEqual(first.Path, second.Path);
        Assert.NotEqual(first, second);
        first.Tell(new Applied(1));
        second.Tell(new Applied(2));
    }

    /// <summary>Sends <paramref name="message"/> through <paramref name="replies"/> and returns the wait with the sender the instance saw.</summary>
    private static (Task<IEventOutcome> Sent, IActorRef Sender) Deliver(OutcomeReplies replies, Akka.TestKit.TestProbe instance, string message)
    {
        var sent = replies.Send(instance.Ref, message);
        instance.ExpectMsg(message);
        return (sent, instance.LastSender);
    }
}
