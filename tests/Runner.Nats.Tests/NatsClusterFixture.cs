using System.Diagnostics;
using System.Globalization;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Runner.TestKit;

namespace Runner.Nats.Tests;

/// <summary>
/// Three real nats-servers on 127.0.0.1 forming JetStream cluster "runner" (servers nats-1..3, random free ports,
/// temporary stores), started for a test class and removed afterwards: what a single server cannot show, streams and
/// buckets at three replicas.
/// </summary>
public sealed class NatsClusterFixture : IAsyncDisposable, IDisposable
{
    private readonly List<(Process Process, StringBuilder Output, string Store)> _servers = [];

    /// <summary>Starts the servers and waits until JetStream answers (throws with their output after 60 s).</summary>
    public NatsClusterFixture()
    {
        var clientPorts = Enumerable.Range(0, 3).Select(_ => NatsServerFixture.FreePort()).ToArray();
        var routePorts = Enumerable.Range(0, 3).Select(_ => NatsServerFixture.FreePort()).ToArray();
        var routes = string.Join(",", routePorts.Select(p => $"nats://127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"));
        for (var i = 0; i < 3; i++)
        {
            var store = Path.Combine(Path.GetTempPath(), $"runner-nats-cluster-{Guid.NewGuid():N}");
            Directory.CreateDirectory(store);
            var psi = new ProcessStartInfo(NatsServerFixture.Binary())
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var a in new[]
                     {
                         "-a", "127.0.0.1", "-p", clientPorts[i].ToString(CultureInfo.InvariantCulture), "-n", $"nats-{i + 1}", "-js", "-sd", store,
                         "--cluster_name", "runner", "--cluster", $"nats://127.0.0.1:{routePorts[i].ToString(CultureInfo.InvariantCulture)}",
                         "--routes", routes,
                     })
                psi.ArgumentList.Add(a);
            var output = new StringBuilder();
            var process = Process.Start(psi) ?? throw new InvalidOperationException("nats-server did not start");
            process.OutputDataReceived += (_, e) => Append(output, e.Data);
            process.ErrorDataReceived += (_, e) => Append(output, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _servers.Add((process, output, store));
        }

        Url = string.Join(",", clientPorts.Select(p => $"nats://127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"));
        WaitForJetStream();
    }

    /// <summary>The three client URLs, comma-separated (as RUNNER_NATS_URL takes them).</summary>
    public string Url { get; }

    private string Output => string.Join("\n---\n", _servers.Select(s =>
    {
        lock (s.Output) return s.Output.ToString();
    }));

    private void WaitForJetStream()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var connection = new NatsConnection(NatsOpts.Default with { Url = Url });
        try
        {
            var js = new NatsJSContext(connection);
            while (true)
            {
                if (_servers.FirstOrDefault(s => s.Process.HasExited) is { Process: not null } dead)
                    throw new InvalidOperationException($"nats-server exited with {dead.Process.ExitCode}:\n{Output}");
                try
                {
                    // Answers once the cluster has a meta leader.
                    js.GetAccountInfoAsync(cts.Token).AsTask().GetAwaiter().GetResult();
                    return;
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"the NATS cluster did not become ready:\n{Output}");
                }
                catch (NatsException)
                {
                    Thread.Sleep(100); // waiting for external processes to elect a leader: a bounded poll of a condition
                }
            }
        }
        finally
        {
            connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var (process, _, store) in _servers)
        {
            try
            {
                process.Kill();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // already gone
            }

            process.Dispose();
            try
            {
                Directory.Delete(store, recursive: true);
            }
            catch (IOException)
            {
                // best effort
            }
        }

        _servers.Clear();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
