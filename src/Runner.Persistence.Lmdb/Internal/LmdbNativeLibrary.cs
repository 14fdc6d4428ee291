using System.Reflection;
using System.Runtime.InteropServices;
using LightningDB;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>
/// Resolves LightningDB's <c>DllImport("lmdb")</c> so the store opens on old and new glibc alike.
/// Order: <c>RUNNER_LMDB_LIBRARY</c>; <c>librunner-lmdb.so</c> compiled from the package's sources at build time;
/// the library LightningDB bundles (needs glibc 2.38 on Linux); the system's <c>liblmdb.so.0</c> (Debian liblmdb0).
/// </summary>
internal static class LmdbNativeLibrary
{
    /// <summary>Environment variable naming an explicit LMDB shared library to load.</summary>
    public const string LibraryVariable = "RUNNER_LMDB_LIBRARY";

    private static readonly object Gate = new();
    private static bool _installed;
    private static readonly List<string> Attempts = [];

    /// <summary>Where the library came from, once loaded (for logs).</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>Installs the resolver (once per process) and proves that LMDB loads, or throws a clear error.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (!_installed)
            {
                NativeLibrary.SetDllImportResolver(typeof(LightningEnvironment).Assembly, Resolve);
                _installed = true;
            }

            if (LoadedFrom is not null) return;
            try
            {
                _ = LightningDB.Native.Lmdb.mdb_version(out _, out _, out _);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                throw new DllNotFoundException(
                    "The LMDB native library could not be loaded. Tried: " + string.Join("; ", Attempts) +
                    ". Build on a machine with gcc (the build compiles librunner-lmdb.so from LightningDB's sources), " +
                    "install the system package (Debian: apt-get install liblmdb0), or set " + LibraryVariable +
                    " to the path of an LMDB shared library.", e);
            }
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!string.Equals(libraryName, "lmdb", StringComparison.Ordinal)) return IntPtr.Zero;

        foreach (var (candidate, how) in Candidates(assembly))
        {
            if (how == Probe.Path && !File.Exists(candidate))
            {
                Attempts.Add(candidate + " (absent)");
                continue;
            }

            bool ok = how == Probe.Default
                ? NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle)
                : NativeLibrary.TryLoad(candidate, out handle);
            if (ok)
            {
                LoadedFrom = candidate;
                return handle;
            }

            Attempts.Add(candidate + " (failed to load)");
        }

        return IntPtr.Zero;
    }

    private enum Probe { Path, Default, System }

    private static IEnumerable<(string, Probe)> Candidates(Assembly lightning)
    {
        // Read here, not from configuration: the native library is resolved when LMDB is first touched, which may be
        // before (or without) any Akka configuration, and the path belongs to the machine, not to the node's settings.
        var explicitPath = Environment.GetEnvironmentVariable(LibraryVariable);
        if (!string.IsNullOrWhiteSpace(explicitPath)) yield return (explicitPath, Probe.Path);

        var ours = Path.GetDirectoryName(typeof(LmdbNativeLibrary).Assembly.Location);
        var theirs = Path.GetDirectoryName(lightning.Location);
        foreach (var dir in new[] { ours, theirs, AppContext.BaseDirectory }.Where(d => !string.IsNullOrEmpty(d)).Distinct())
        {
            if (OperatingSystem.IsLinux()) yield return (Path.Combine(dir!, "librunner-lmdb.so"), Probe.Path);
        }

        yield return ("lmdb", Probe.Default);

        if (OperatingSystem.IsLinux())
        {
            var rid = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.Arm64 => "linux-arm64",
                Architecture.Arm => "linux-arm",
                _ => "linux-x64",
            };
            foreach (var dir in new[] { ours, theirs }.Where(d => !string.IsNullOrEmpty(d)).Distinct())
                yield return (Path.Combine(dir!, "runtimes", rid, "native", "liblmdb.so"), Probe.Path);
            yield return ("liblmdb.so.0", Probe.System);
            yield return ("liblmdb.so", Probe.System);
        }
    }
}
