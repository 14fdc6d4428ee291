using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Runner.TestKit;

/// <summary>
/// A real nats-server with JetStream on 127.0.0.1, a random free port and a temporary store directory, started
/// for a test class and removed afterwards. <see cref="RestartAsync"/> stops and starts it on the same port and
/// store (a NATS restart mid-stream). Give each test its own subject prefix and stream names
/// (<see cref="UniqueName"/>), as nats.net's own tests do, so tests sharing a server never see each other.
/// </summary>
public sealed class NatsServerFixture : IAsyncDisposable, IDisposable
{
    private readonly string _storeDir;
    private readonly string[] _clusterArgs;
    private readonly StringBuilder _output = new();
    private Process? _process;
    private static int _counter;

    /// <summary>Starts a server (throws with its output if it does not come up within 20 s).</summary>
    public NatsServerFixture()
        : this(0, [], null, start: true)
    {
    }

    /// <summary>
    /// A server on <paramref name="port"/> with extra arguments (a cluster member's name, cluster port and routes),
    /// started now unless <paramref name="start"/> is false (then by <see cref="StartAgain"/>).
    /// </summary>
    internal NatsServerFixture(int port, string[] clusterArgs, bool start = true)
        : this(port, clusterArgs, null, start)
    {
    }

    /// <summary>
    /// A server on <paramref name="port"/>, or (0) on a free port of its own: a port found free can be taken by another
    /// process before the server binds it (test assemblies run in parallel), so a server whose port was taken starts
    /// again on another free one.
    /// </summary>
    private NatsServerFixture(int port, string[] clusterArgs, string? config, bool start)
    {
        var ownPort = port == 0;
        Port = ownPort ? FreePort() : port;
        _clusterArgs = clusterArgs;
        _storeDir = Path.Combine(Path.GetTempPath(), $"runner-nats-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_storeDir);
        if (config is not null) ConfigFile = Path.Combine(_storeDir, "server.conf");
        for (var attempt = 1; ; attempt++)
        {
            if (config is not null) File.WriteAllText(ConfigFile!, WithBasics(config));
            if (!start) return;
            try
            {
                Start();
                return;
            }
            catch (NatsPortInUseException) when (ownPort && attempt < 5)
            {
                Port = FreePort();
            }
        }
    }

    /// <summary>
    /// A server started with <c>-c</c> and a configuration file holding <paramref name="config"/> (authorization, tls,
    /// operator blocks) after the fixture's listen address and JetStream store, which the text therefore leaves out.
    /// <see cref="ReloadAsync"/> changes it while the server runs.
    /// </summary>
    public static NatsServerFixture WithConfig(string config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new NatsServerFixture(0, [], config, start: true);
    }

    // Address, port and store in the file itself: a reload reads only the file, and a file without a jetstream block
    // would shut JetStream down (nats-server 2.9 refuses -sd next to a store_dir, so the command line carries only -c).
    private string WithBasics(string config) =>
        $"listen: \"127.0.0.1:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}\"\njetstream {{ store_dir: \"{_storeDir}\" }}\n{config}\n";

    /// <summary>The configuration file (<see cref="WithConfig"/>), or null.</summary>
    public string? ConfigFile { get; }

    /// <summary>
    /// Writes <paramref name="config"/> over the configuration file and has the running server reload it (SIGHUP), as an
    /// operator revoking or granting credentials does; returns once the server logged the reload.
    /// </summary>
    public async Task ReloadAsync(string config, TimeSpan? timeout = null)
    {
        if (ConfigFile is null) throw new InvalidOperationException("the server was not started with a configuration file (WithConfig)");
        if (_process is not { HasExited: false } process) throw new InvalidOperationException("the server is not running");
        int before;
        lock (_output) before = _output.Length;
        await File.WriteAllTextAsync(ConfigFile, WithBasics(config)).ConfigureAwait(false);
        using (var hup = Process.Start("kill", ["-HUP", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            await hup.WaitForExitAsync().ConfigureAwait(false);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (Output.IndexOf("Reloaded server configuration", before, StringComparison.Ordinal) < 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"nats-server did not reload {ConfigFile}:\n{Output}");
            await Task.Delay(20).ConfigureAwait(false); // the server's log line is the only signal of a finished reload
        }
    }

    /// <summary>The server's process id while it runs.</summary>
    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Whether the server process runs now.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The client URL.</summary>
    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>The port.</summary>
    public int Port { get; private set; }

    /// <summary>The server's output so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>A name unique within the test run, usable as a subject token and stream name suffix.</summary>
    public static string UniqueName(string prefix = "t") => $"{prefix}{Environment.ProcessId}x{Interlocked.Increment(ref _counter)}";

    /// <summary>Path of the nats-server binary: <c>NATS_SERVER</c>, PATH, or Debian's /usr/sbin.</summary>
    public static string Binary()
    {
        var explicitPath = Environment.GetEnvironmentVariable("NATS_SERVER");
        if (!string.IsNullOrEmpty(explicitPath) && File.Exists(explicitPath)) return explicitPath;
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Append("/usr/sbin").Append("/usr/local/bin").Append("/usr/bin")
            .Select(d => Path.Combine(d, "nats-server"))
            .FirstOrDefault(File.Exists);
        return path ?? throw new InvalidOperationException("nats-server not found: install it (apt-get install nats-server) or set NATS_SERVER.");
    }

    /// <summary>Stops the server (SIGKILL when <paramref name="kill"/>), waits, and starts it again on the same port and store.</summary>
    public async Task RestartAsync(TimeSpan downFor = default, bool kill = false)
    {
        await StopAsync(kill).ConfigureAwait(false);
        if (downFor > TimeSpan.Zero) await Task.Delay(downFor).ConfigureAwait(false); // the outage itself is the point here
        Start();
    }

    /// <summary>Starts the server again on its port and store after <see cref="StopAsync"/>.</summary>
    public void StartAgain()
    {
        if (_process is not null) throw new InvalidOperationException("the server is running");
        Start();
    }

    /// <summary>Stops the server.</summary>
    public async Task StopAsync(bool kill = false)
    {
        if (_process is null) return;
        if (kill) _process.Kill();
        else
        {
            // SIGTERM: nats-server shuts down cleanly.
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await term!.WaitForExitAsync().ConfigureAwait(false);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        _process.Dispose();
        _process = null;
    }

    private void Start()
    {
        var psi = new ProcessStartInfo(Binary())
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // With a configuration file the file holds address, port and store (a reload reads only the file).
        var args = ConfigFile is not null
            ? new[] { "-c", ConfigFile }
            : new[] { "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", _storeDir };
        foreach (var a in args.Concat(_clusterArgs))
            psi.ArgumentList.Add(a);
        int startedAt;
        lock (_output) startedAt = _output.Length; // this run's "ready", not the one of the run before a restart
        _process = Process.Start(psi) ?? throw new InvalidOperationException("nats-server did not start");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // the rest of its output (the reason it stopped is its last line)
                var output = Output;
                var message = $"nats-server exited with {_process.ExitCode}:\n{output}";
                _process.Dispose();
                _process = null;
                if (output.IndexOf("address already in use", startedAt, StringComparison.OrdinalIgnoreCase) >= 0) throw new NatsPortInUseException(message);
                throw new InvalidOperationException(message);
            }

            if (Output.IndexOf("Server is ready", startedAt, StringComparison.Ordinal) >= 0 && CanConnect()) return;
            Thread.Sleep(20); // waiting for an external process to listen: a bounded poll of a condition
        }

        throw new TimeoutException($"nats-server did not become ready on {Url}:\n{Output}");
    }

    private bool CanConnect()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>A free TCP port on 127.0.0.1 (for nodes and servers under test).</summary>
    public static int FreePort()
    {
        // The kernel may hand out a port again once its listener is closed: a port given to one server that has not bound it yet
        // must not go to another (a node's remoting and admin ports once came out the same). Never twice in this process.
        while (true)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (HandedOut)
            {
                if (HandedOut.Add(port)) return port;
            }
        }
    }

    /// <summary>Every port <see cref="FreePort"/> handed out in this process.</summary>
    private static readonly HashSet<int> HandedOut = [];

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(kill: true).ConfigureAwait(false);
        try
        {
            Directory.Delete(_storeDir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}

/// <summary>A nats-server stopped at its start because another process had taken one of its ports.</summary>
public sealed class NatsPortInUseException(string message) : InvalidOperationException(message);
