using System.Net;
using System.Net.Sockets;

namespace Runner.TestKit;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of one local server, for partition specs: <see cref="Cut"/> drops every connection
/// through it and refuses new ones (they are closed as soon as they are accepted) until <see cref="Restore"/>;
/// <see cref="HoldReplies"/> lets requests through but holds back what the server sends.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private volatile bool _cut;
    private volatile bool _holding;

    /// <summary>Starts listening on a free port of 127.0.0.1, forwarding to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The proxy's port.</summary>
    public int Port { get; }

    /// <summary>The proxy as a NATS URL.</summary>
    public string NatsUrl => $"nats://127.0.0.1:{Port}";

    /// <summary>Drops every connection and refuses new ones.</summary>
    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var c in _open) c.Dispose();
            _open.Clear();
        }
    }

    /// <summary>Lets connections through again.</summary>
    public void Restore() => _cut = false;

    /// <summary>Holds back everything the server sends (its replies pile up in the proxy) until <see cref="ReleaseReplies"/>.</summary>
    public void HoldReplies() => _holding = true;

    /// <summary>Lets the held and later replies through.</summary>
    public void ReleaseReplies() => _holding = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            if (_cut)
            {
                client.Dispose();
                continue;
            }

            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (_open)
            {
                _open.Add(client);
                _open.Add(server);
            }

            _ = PumpAsync(client, server, replies: false);
            _ = PumpAsync(server, client, replies: true);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool replies)
    {
        try
        {
            var buffer = new byte[64 * 1024];
            var source = from.GetStream();
            var target = to.GetStream();
            while (true)
            {
                var n = await source.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (n == 0) break;
                while (replies && _holding) await Task.Delay(10, _stop.Token).ConfigureAwait(false); // replies held back
                await target.WriteAsync(buffer.AsMemory(0, n), _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // Cut, closed by either side, or stopped: both ends go.
        }

        from.Dispose();
        to.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        Cut();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
