using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Runner.TestKit;

/// <summary>
/// Three real nats-servers clustered on 127.0.0.1 (random free client and cluster ports, a temporary store each,
/// JetStream on every one), for specs and chaos scenarios about replicated streams and a lost server. Members are
/// named n1..n3; <see cref="Kill"/> and <see cref="Restart"/> take one down and bring it back on its store.
/// </summary>
public sealed class NatsClusterFixture : IAsyncDisposable
{
    private readonly NatsServerFixture[] _servers;

    /// <summary>
    /// Starts the members and waits until JetStream answers (a metadata leader is elected). With
    /// <paramref name="running"/> below <paramref name="size"/>, only the first ones start (a cluster still forming);
    /// <see cref="Restart"/> starts the others.
    /// </summary>
    public static async Task<NatsClusterFixture> StartAsync(int size = 3, int running = -1, CancellationToken cancellationToken = default)
    {
        // The ports are chosen free before the members start; one taken meanwhile by another process stops its member at
        // its start: the cluster is then formed again on other free ports.
        NatsClusterFixture cluster;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                cluster = new NatsClusterFixture(size, running < 0 ? size : running);
                break;
            }
            catch (NatsPortInUseException) when (attempt < 5)
            {
            }
        }

        try
        {
            await cluster.WaitForJetStreamAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private NatsClusterFixture(int size, int running)
    {
        var clientPorts = Enumerable.Range(0, size).Select(_ => NatsServerFixture.FreePort()).ToArray();
        var clusterPorts = Enumerable.Range(0, size).Select(_ => NatsServerFixture.FreePort()).ToArray();
        _servers = new NatsServerFixture[size];
        try
        {
            for (var i = 0; i < size; i++)
            {
                var routes = string.Join(",", clusterPorts.Where((_, j) => j != i).Select(p => "nats://127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture)));
                _servers[i] = new NatsServerFixture(clientPorts[i],
                [
                    "-n", Name(i), "--cluster_name", "runner", "--cluster", "nats://127.0.0.1:" + clusterPorts[i].ToString(CultureInfo.InvariantCulture),
                    "--routes", routes,
                ], start: i < running);
            }
        }
        catch
        {
            // The members started so far go (a failed constructor leaves nothing running).
            foreach (var server in _servers.Where(s => s is not null)) server.Dispose();
            throw;
        }
    }

    /// <summary>The members, in name order (n1 first).</summary>
    public IReadOnlyList<NatsServerFixture> Servers => _servers;

    /// <summary>Every member's client URL, comma-separated (what a node gets in RUNNER_NATS_URL).</summary>
    public string Urls => string.Join(",", _servers.Select(s => s.Url));

    /// <summary>The server name of member <paramref name="index"/> (n1, n2, ...).</summary>
    public static string Name(int index) => "n" + (index + 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>The member index of a server name, or -1.</summary>
    public int IndexOf(string? serverName) => Enumerable.Range(0, _servers.Length).FirstOrDefault(i => Name(i) == serverName, -1);

    /// <summary>SIGKILLs member <paramref name="index"/>.</summary>
    public Task Kill(int index) => _servers[index].StopAsync(kill: true);

    /// <summary>Starts member <paramref name="index"/> again on its port and store.</summary>
    public void Restart(int index) => _servers[index].StartAgain();

    /// <summary>The member that leads <paramref name="stream"/> now, or -1 when it has no leader (or the answer does not come).</summary>
    public static async Task<int> LeaderIndexAsync(INatsJSContext js, string stream, NatsClusterFixture cluster, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            var info = await js.GetStreamAsync(stream, cancellationToken: timeout.Token).ConfigureAwait(false);
            return cluster.IndexOf(info.Info.Cluster?.Leader);
        }
        catch (Exception e) when (e is OperationCanceledException or NatsException && !cancellationToken.IsCancellationRequested)
        {
            return -1;
        }
    }

    private async Task WaitForJetStreamAsync(TimeSpan within, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = Urls, Name = "cluster-fixture" });
        var js = new NatsJSContext(connection);
        var deadline = DateTime.UtcNow + within;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                await js.GetAccountInfoAsync(attempt.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                last = e;
                await Task.Delay(100, cancellationToken).ConfigureAwait(false); // the cluster elects its metadata leader: a bounded poll
            }
        }

        throw new TimeoutException($"JetStream did not answer on the cluster within {within}: {last?.Message}\n{string.Join("\n-----\n", _servers.Select(s => s.Output))}");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers) await server.DisposeAsync().ConfigureAwait(false);
    }
}
