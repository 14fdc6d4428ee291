using System.Globalization;
using Xunit;

namespace Runner.Persistence.Lmdb.Tests.Crash;

/// <summary>
/// A child process persists (durability sync) in a loop and is killed with SIGKILL; every event whose persist was
/// acknowledged before the kill must be there, in order, and the store must stay readable and writable.
/// </summary>
public sealed class CrashSafetySpec : IDisposable
{
    private readonly TempDirectory _dir = new("runner-crash");

    private static long Number(string line) => long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);

    private static (long Count, bool Contiguous, long Last) Recovered(string line)
    {
        // "recovered <n> contiguous=<bool> last=<seqNr>"
        var parts = line.Split(' ');
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), parts[2] == "contiguous=true",
            long.Parse(parts[3]["last=".Length..], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Acknowledged_events_should_survive_sigkill_in_order_again_and_again()
    {
        long acknowledged = 0;
        for (var round = 1; round <= 3; round++)
        {
            using var probe = CrashProbeProcess.Start("persist", _dir.Path, "crash-1", "1000000", "sync");
            var start = Recovered((await probe.ReadUntilAsync(l => l.StartsWith("recovered ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)))[^1]);
            Assert.True(start.Contiguous, $"round {round}: recovery after the previous kill found a gap");
            Assert.True(start.Last >= acknowledged, $"round {round}: {acknowledged} events were acknowledged but only {start.Last} recovered");

            var lines = await probe.ReadUntilAsync(l => l.StartsWith("acked ", StringComparison.Ordinal) && Number(l) >= start.Last + 200,
                TimeSpan.FromSeconds(60));
            await probe.KillAsync();
            acknowledged = Number(lines.Last(l => l.StartsWith("acked ", StringComparison.Ordinal)));
        }

        using var check = CrashProbeProcess.Start("recover", _dir.Path, "crash-1");
        var final = Recovered((await check.ReadUntilAsync(l => l.StartsWith("recovered ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)))[^1]);
        Assert.True(final.Contiguous);
        Assert.True(final.Count >= acknowledged, $"acknowledged {acknowledged}, recovered {final.Count}");
        Assert.Equal(final.Count, final.Last);
        Assert.Equal(0, await check.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // Still writable after the crashes: the next events continue the sequence.
        using var more = CrashProbeProcess.Start("persist", _dir.Path, "crash-1", "5", "sync");
        var after = await more.ReadUntilAsync(l => l == "done", TimeSpan.FromSeconds(60));
        Assert.Equal(final.Last + 5, Number(after.Last(l => l.StartsWith("acked ", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task A_persistent_actor_should_recover_everything_after_a_process_restart()
    {
        foreach (var (count, expected) in new[] { (500L, 500L), (200L, 700L) })
        {
            using var writer = CrashProbeProcess.Start("persist", _dir.Path, "restart-1", count.ToString(CultureInfo.InvariantCulture), "sync");
            await writer.ReadUntilAsync(l => l == "done", TimeSpan.FromSeconds(90));
            Assert.Equal(0, await writer.WaitForExitAsync(TimeSpan.FromSeconds(30)));

            using var reader = CrashProbeProcess.Start("recover", _dir.Path, "restart-1");
            var recovered = Recovered((await reader.ReadUntilAsync(l => l.StartsWith("recovered ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)))[^1]);
            Assert.Equal((expected, true, expected), recovered);
            Assert.Equal(0, await reader.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
    }

    public void Dispose() => _dir.Dispose();
}
