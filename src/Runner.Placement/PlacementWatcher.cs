using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Runner.Nats;
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
            // A bucket the configuration cannot use (missing and not to be created, other replicas) waits for the operator:
            // nothing is placed from it until it is fixed.
            if (e.Error is InvalidOperationException unusable) _log.Error("{0} Nothing is placed from it; trying again in {1}", unusable.Message, _backoff);
            else if (e.Error is { } error) _log.Warning("Watch of placement bucket {0} failed ({1}); watching again in {2}", _settings.Bucket, error.Message, _backoff);
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
        var store = await EnsureBucketAsync(_js, _settings, token).ConfigureAwait(false);
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

    /// <summary>
    /// Opens the placement bucket as the node is configured to: created when missing (file storage, history 1,
    /// <c>runner.nats.streams.replicas</c>) unless <c>runner.nats.streams.mode = validate</c> or
    /// <c>runner.placement.create-bucket = off</c>, and refused when its replicas differ. Await it at start so that such a
    /// bucket stops the start; the watcher opens the bucket through it too.
    /// </summary>
    /// <exception cref="InvalidOperationException">The bucket is missing and may not be created, or its replicas differ.</exception>
    public static Task<INatsKVStore> EnsureBucketAsync(INatsJSContext js, PlacementSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.UsesBucket) throw new InvalidOperationException("No placement bucket is configured (runner.placement.bucket, RUNNER_TENANT_PLACEMENT_BUCKET).");
        return StreamProvisioner.EnsureBucketAsync(js, settings.BucketConfig, settings.BucketNotCreatedBecause, settings.Placement, cancellationToken);
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
