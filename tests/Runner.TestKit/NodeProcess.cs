using System.Diagnostics;
using System.Text;
namespace Runner.TestKit;

/// <summary>
/// The real node as a child process (<c>dotnet Runner.Host.dll</c> from the caller's output directory), configured by
/// environment only; ended by its own pid (SIGTERM or SIGKILL).
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(Process process, string shardId)
    {
        _process = process;
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (_output) _output.AppendLine(line);
            if (line.Contains($"Runner node {shardId} started", StringComparison.Ordinal)) _started.TrySetResult();
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Everything the node printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>Launches the node with <paramref name="env"/> and returns at once (for a start that is expected to fail).</summary>
    public static NodeProcess Launch(IReadOnlyDictionary<string, string> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var dll = Path.Combine(AppContext.BaseDirectory, "Runner.Host.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return new NodeProcess(Process.Start(psi) ?? throw new InvalidOperationException("node did not start"), env["RUNNER_SHARD_ID"]);
    }

    /// <summary>Starts the node with <paramref name="env"/> and waits for its "started" log line.</summary>
    public static async Task<NodeProcess> StartAsync(IReadOnlyDictionary<string, string> env, TimeSpan timeout)
    {
        var node = Launch(env);
        var done = await Task.WhenAny(node._started.Task, node._process.WaitForExitAsync(), Task.Delay(timeout)).ConfigureAwait(false);
        if (done != node._started.Task)
            throw new InvalidOperationException($"node did not start within {timeout} (exited: {node._process.HasExited}):\n{node.Output}");

        // The web host opens the admin endpoint after the node's start-up logged "started": wait until it answers.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{env["RUNNER_ADMIN_PORT"]}"), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative)).ConfigureAwait(false);
                if (health.IsSuccessStatusCode) return node;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            if (DateTime.UtcNow > deadline || node._process.HasExited)
                throw new InvalidOperationException($"the admin endpoint of the node did not answer within {timeout}:\n{node.Output}");
            await Task.Delay(50).ConfigureAwait(false); // polling the endpoint for the condition
        }
    }

    /// <summary>SIGTERM (a supervisor stopping the node), then waits for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            await kill.WaitForExitAsync().ConfigureAwait(false);
        return await ExitCodeAsync(timeout).ConfigureAwait(false);
    }

    /// <summary>Waits for the process to exit by itself and returns its exit code.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) await KillAsync().ConfigureAwait(false);
        _process.Dispose();
    }
}
