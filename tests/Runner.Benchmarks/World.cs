using System.Diagnostics;
using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.Nats;
using Runner.TestKit;

namespace Runner.Benchmarks;

/// <summary>One scenario's names on the shared nats-server: a unique subject prefix and stream names, as the host tests do.</summary>
internal sealed class World : IAsyncDisposable
{
    private readonly NatsConnection _publisher;
    private readonly List<string> _shared = [];

    public World(NatsServerFixture nats)
    {
        Url = nats.Url;
        Prefix = NatsServerFixture.UniqueName("b");
        Subjects = new Subjects(Prefix);
        _publisher = new NatsConnection(NatsOpts.Default with { Url = Url, Name = "bench-load-" + Prefix });
        Js = new NatsJSContext(_publisher);
    }

    public string Url { get; }

    public string Prefix { get; }

    public Subjects Subjects { get; }

    public string EventsStream => Prefix.ToUpperInvariant() + "_EVENTS";

    public string CommandsStream => Prefix.ToUpperInvariant() + "_COMMANDS";

    public string DeadLetterStream => Prefix.ToUpperInvariant() + "_DLQ";

    public INatsJSContext Js { get; }

    /// <summary>
    /// Makes a stream whose name is fixed (not under this scenario's prefix) this scenario's own: an earlier scenario's is
    /// deleted now, this one's when the scenario ends.
    /// </summary>
    public async Task OwnSharedStreamAsync(string stream)
    {
        await DeleteStreamAsync(stream).ConfigureAwait(false);
        _shared.Add(stream);
    }

    public async ValueTask DisposeAsync()
    {
        // The scenario's streams go, so that later scenarios do not pay for their files.
        foreach (var stream in new[] { EventsStream, CommandsStream, DeadLetterStream }.Concat(_shared))
            await DeleteStreamAsync(stream).ConfigureAwait(false);

        await _publisher.DisposeAsync().ConfigureAwait(false);
    }

    private async Task DeleteStreamAsync(string stream)
    {
        try
        {
            await Js.DeleteStreamAsync(stream).ConfigureAwait(false);
        }
        catch (NatsJSApiException)
        {
            // never created
        }
    }
}

/// <summary>CPU time of this process and of the nats-server listening on a port (Linux /proc; 0 elsewhere).</summary>
internal sealed class CpuMeter(int natsPort)
{
    private readonly int? _natsPid = FindNats(natsPort);

    public (TimeSpan Self, TimeSpan Nats) Now()
    {
        using var self = Process.GetCurrentProcess();
        return (self.TotalProcessorTime, NatsCpu());
    }

    private TimeSpan NatsCpu()
    {
        if (_natsPid is not { } pid) return TimeSpan.Zero;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // utime and stime are fields 14 and 15 of stat; after the ")" they are at index 11 and 12, in clock ticks (100 Hz).
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromMilliseconds(ticks * 10);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
            return TimeSpan.Zero;
        }
    }

    private static int? FindNats(int port)
    {
        if (!Directory.Exists("/proc")) return null;
        var token = port.ToString(CultureInfo.InvariantCulture);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (args.Length > 0 && args[0].EndsWith("nats-server", StringComparison.Ordinal) && args.Contains(token)) return pid;
            }
            catch (IOException)
            {
                // gone
            }
            catch (UnauthorizedAccessException)
            {
                // not ours
            }
        }

        return null;
    }
}
