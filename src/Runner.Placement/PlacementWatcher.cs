using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.Sagas;

namespace Runner.Placement;

/// <summary>
/// Reads the placement bucket in full, then follows it live (one watch of the whole bucket: nats-server 2.9 cannot
/// watch several keys), and tells the <see cref="PlacementView"/>. Invalid keys (not tenant ids) and values (not shard
/// ids) are ignored with a warning naming them. A failed watch (NATS down, bucket deleted) is started again with
/// back-off, and the bucket is read in full again, so deletions during the outage are not missed.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Cancelled and disposed in PostStop.")]
public sealed class PlacementWatcher : ReceiveActor, IWithTimers
{
    private readonly INatsJSContext _js;
    private readonly PlacementSettings _settings;
    private readonly IActorRef _view;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stop = new();
    private TimeSpan _backoff;

    /// <summary>Creates the watcher.</summary>
    public PlacementWatcher(INatsJSContext js, PlacementSettings settings, IActorRef view)
    {
        _js = js;
        _settings = settings;
        _view = view;
        _backoff = settings.WatchMinBackoff;
        Receive<Watch>(_ => Run());
        Receive<WatchEnded>(e =>
        {
            if (e.Error is { } error) _log.Warning("Watch of placement bucket {0} failed ({1}); watching again in {2}", _settings.Bucket, error.Message, _backoff);
            else _log.Info("Watch of placement bucket {0} ended; watching again in {1}", _settings.Bucket, _backoff);
            Timers.StartSingleTimer("watch", Watch.Instance, _backoff);
            _backoff = TimeSpan.FromTicks(Math.Min(_settings.WatchMaxBackoff.Ticks, _backoff.Ticks * 2));
        });
        Receive<Healthy>(_ => _backoff = _settings.WatchMinBackoff);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props.</summary>
    public static Props Props(INatsJSContext js, PlacementSettings settings, IActorRef view) =>
        Akka.Actor.Props.Create(() => new PlacementWatcher(js, settings, view));

    /// <inheritdoc />
    protected override void PreStart() => Self.Tell(Watch.Instance);

    /// <inheritdoc />
    protected override void PostStop()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    private void Run()
    {
        var self = Self;
        var token = _stop.Token;
        WatchAsync(self, token).ContinueWith(t => new WatchEnded(t.Exception?.GetBaseException()), TaskScheduler.Default)
            .PipeTo(self);
    }

    private async Task WatchAsync(IActorRef self, CancellationToken token)
    {
        var store = await OpenAsync(token).ConfigureAwait(false);
        var initial = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var loaded = false;
        void Loaded()
        {
            if (loaded) return;
            loaded = true;
            _view.Tell(new PlacementView.BucketLoaded(initial.ToImmutable()));
            self.Tell(Healthy.Instance);
        }

        var opts = new NatsKVWatchOpts
        {
            OnNoData = _ =>
            {
                Loaded();
                return ValueTask.FromResult(true);
            },
        };
        await foreach (var entry in store.WatchAsync<string>(opts: opts, cancellationToken: token).ConfigureAwait(false))
        {
            var valid = Validate(entry);
            if (!loaded)
            {
                if (valid is { } shardId) initial[entry.Key] = shardId;
                else initial.Remove(entry.Key);
                if (entry.Delta == 0) Loaded();
                continue;
            }

            _view.Tell(valid is { } s ? new PlacementView.BucketPut(entry.Key, s) : new PlacementView.BucketDeleted(entry.Key));
        }
    }

    private string? Validate(NatsKVEntry<string> entry)
    {
        if (entry.Operation is NatsKVOperation.Del or NatsKVOperation.Purge) return null;
        if (!TenantId.IsValid(entry.Key))
        {
            _log.Warning("Placement bucket {0}: key '{1}' is not a tenant id ({2}); ignored", _settings.Bucket, entry.Key, TenantId.Pattern);
            return null;
        }

        var value = entry.Value?.Trim() ?? "";
        if (!TenantId.IsValid(value))
        {
            _log.Warning("Placement bucket {0}: value '{1}' of tenant {2} is not a shard id ({3}); the entry is ignored",
                _settings.Bucket, value, entry.Key, TenantId.Pattern);
            return null;
        }

        return value;
    }

    private async Task<INatsKVStore> OpenAsync(CancellationToken token)
    {
        var kv = new NatsKVContext(_js);
        try
        {
            return await kv.GetStoreAsync(_settings.Bucket, token).ConfigureAwait(false);
        }
        catch (NatsKVException) when (_settings.CreateBucket)
        {
            return await CreateAsync(kv, token).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404 && _settings.CreateBucket)
        {
            return await CreateAsync(kv, token).ConfigureAwait(false);
        }
    }

    private async Task<INatsKVStore> CreateAsync(NatsKVContext kv, CancellationToken token)
    {
        try
        {
            var store = await kv.CreateStoreAsync(new NatsKVConfig(_settings.Bucket) { History = 1, Storage = NatsKVStorageType.File }, token)
                .ConfigureAwait(false);
            _log.Info("Placement bucket {0} created", _settings.Bucket);
            return store;
        }
        catch (NatsJSApiException)
        {
            // Another node created it first.
            return await kv.GetStoreAsync(_settings.Bucket, token).ConfigureAwait(false);
        }
    }

    private sealed record Watch
    {
        public static Watch Instance { get; } = new();
    }

    private sealed record Healthy
    {
        public static Healthy Instance { get; } = new();
    }

    private sealed record WatchEnded(Exception? Error);
}
