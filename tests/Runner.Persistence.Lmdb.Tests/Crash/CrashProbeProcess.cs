using System.Diagnostics;
using System.Text;

namespace Runner.Persistence.Lmdb.Tests.Crash;

/// <summary>Runs the CrashProbe child process (<c>dotnet Runner.Persistence.Lmdb.CrashProbe.dll ...</c>) and reads its output.</summary>
internal sealed class CrashProbeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private CrashProbeProcess(Process process) => _process = process;

    /// <summary>The probe's dll, built next to this test project in the same configuration.</summary>
    public static string ProbeDll()
    {
        // tests/Runner.Persistence.Lmdb.Tests/bin/<Configuration>/<tfm>/ -> tests/Runner.Persistence.Lmdb.CrashProbe/bin/<Configuration>/<tfm>/
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = here.Name;
        var configuration = here.Parent!.Name;
        var tests = here.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(tests, "Runner.Persistence.Lmdb.CrashProbe", "bin", configuration, tfm, "Runner.Persistence.Lmdb.CrashProbe.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"CrashProbe not built at {dll}", dll);
    }

    public static CrashProbeProcess Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ProbeDll());
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the probe");
        var probe = new CrashProbeProcess(process);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (probe._stderr) probe._stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        return probe;
    }

    public string Stderr
    {
        get
        {
            lock (_stderr) return _stderr.ToString();
        }
    }

    /// <summary>Reads stdout lines until one satisfies <paramref name="stop"/>; returns all lines read. Fails on EOF or timeout.</summary>
    public async Task<List<string>> ReadUntilAsync(Func<string, bool> stop, TimeSpan timeout)
    {
        var lines = new List<string>();
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            string? line;
            try
            {
                line = await _process.StandardOutput.ReadLineAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"probe output did not satisfy the condition within {timeout}; last: {lines.LastOrDefault()}; stderr: {Stderr}");
            }

            if (line is null) throw new InvalidOperationException($"probe ended early; last: {lines.LastOrDefault()}; stderr: {Stderr}");
            lines.Add(line);
            if (stop(line)) return lines;
        }
    }

    /// <summary>SIGKILL (Process.Kill on Linux) and wait for the exit.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }
}
