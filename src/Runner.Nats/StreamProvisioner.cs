using System.Globalization;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;

namespace Runner.Nats;

/// <summary>
/// Creates the runner's streams and buckets or validates the ones that exist. An existing stream whose subjects,
/// storage, replicas or duplicate window differ from the settings, or an existing KV or object store bucket whose
/// replicas differ, is a start-up error that says what differs: the runner never silently changes a stream or bucket
/// an operator owns. Where the runner may not create (<c>runner.nats.streams.mode = validate</c>), a missing one is an
/// error that says what the operator must create.
/// </summary>
public static class StreamProvisioner
{
    /// <summary>The three stream configurations the settings ask for.</summary>
    public static IReadOnlyList<StreamConfig> Desired(NatsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        StreamConfig Make(string name, string subject) => new(name, [subject])
        {
            Storage = settings.FileStorage ? StreamConfigStorage.File : StreamConfigStorage.Memory,
            NumReplicas = settings.Replicas,
            DuplicateWindow = settings.DuplicateWindow,
            Retention = StreamConfigRetention.Limits,
        };
        return
        [
            Make(settings.EventsStream, settings.Subjects.AllEvents),
            Make(settings.CommandsStream, settings.Subjects.AllCommands),
            Make(settings.DeadLetterStream, settings.Subjects.AllDeadLetters),
        ];
    }

    /// <summary>Creates missing streams (when allowed) and validates existing ones.</summary>
    /// <exception cref="InvalidOperationException">A stream is missing (validate mode) or incompatible.</exception>
    public static async Task EnsureAsync(INatsJSContext js, NatsSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(settings);
        foreach (var desired in Desired(settings))
            await EnsureStreamAsync(js, desired, settings.CreateStreams, settings.Placement, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates stream <paramref name="desired"/> when it is missing and <paramref name="create"/> allows it (waiting for
    /// JetStream to place it as <paramref name="placement"/> says), and validates an existing one against it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stream is missing and may not be created, or is incompatible.</exception>
    public static async Task EnsureStreamAsync(INatsJSContext js, StreamConfig desired, bool create, StreamPlacement placement,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(placement);
        var existing = await ExistingAsync(js, desired.Name!, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            if (!create) throw new InvalidOperationException(MissingStream(desired));
            try
            {
                await WhenPlacedAsync(ct => js.CreateStreamAsync(desired, ct), $"stream {desired.Name}", desired.NumReplicas, placement, cancellationToken)
                    .ConfigureAwait(false);
                return;
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == 10058)
            {
                // Created concurrently by another node: validate what it made.
                existing = (await js.GetStreamAsync(desired.Name!, cancellationToken: cancellationToken).ConfigureAwait(false)).Info.Config;
            }
        }

        var problems = Differences(desired, existing);
        if (problems.Count > 0)
            throw new InvalidOperationException(
                $"JetStream stream {desired.Name} exists with settings the runner cannot use: {string.Join("; ", problems)}. " +
                "Change the stream or runner.nats.streams.*; the runner does not modify existing streams.");
    }

    /// <summary>
    /// Opens KV bucket <paramref name="desired"/>.Bucket, creating it from <paramref name="desired"/> when it is missing
    /// and <paramref name="notCreatedBecause"/> is null, and validates its replicas (those of its stream <c>KV_&lt;bucket&gt;</c>)
    /// against <paramref name="desired"/>.NumberOfReplicas.
    /// </summary>
    /// <param name="js">JetStream.</param>
    /// <param name="desired">The bucket as the runner would create it.</param>
    /// <param name="notCreatedBecause">Null: a missing bucket is created. Otherwise the setting that forbids creating it
    /// (e.g. <c>runner.nats.streams.mode = validate</c>), named in the error.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="InvalidOperationException">The bucket is missing and may not be created, or its replicas differ.</exception>
    public static Task<INatsKVStore> EnsureBucketAsync(INatsJSContext js, NatsKVConfig desired, string? notCreatedBecause,
        CancellationToken cancellationToken = default) =>
        EnsureBucketAsync(js, desired, notCreatedBecause, StreamPlacement.Default, cancellationToken);

    /// <summary>
    /// As <see cref="EnsureBucketAsync(INatsJSContext, NatsKVConfig, string?, CancellationToken)"/>, waiting for JetStream
    /// to place a new bucket as <paramref name="placement"/> says (<see cref="NatsSettings.StreamPlacementOf"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The bucket is missing and may not be created, or its replicas differ.</exception>
    public static async Task<INatsKVStore> EnsureBucketAsync(INatsJSContext js, NatsKVConfig desired, string? notCreatedBecause,
        StreamPlacement placement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(desired);
        var kv = new NatsKVContext(js);
        var stream = KeyValueStream(desired.Bucket);
        var existing = await ExistingAsync(js, stream, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            if (notCreatedBecause is not null) throw new InvalidOperationException(MissingBucket(desired, notCreatedBecause));
            try
            {
                return await WhenPlacedAsync(ct => kv.CreateStoreAsync(desired, ct), $"KV bucket {desired.Bucket}", desired.NumberOfReplicas,
                    placement, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == 10058)
            {
                // Created concurrently, with another configuration: validate what was made.
            }

            existing = await ExistingAsync(js, stream, cancellationToken).ConfigureAwait(false)
                       ?? throw new InvalidOperationException($"JetStream KV bucket {desired.Bucket} could not be created and does not exist.");
        }

        RefuseOtherReplicas($"KV bucket {desired.Bucket} (stream {stream})", desired.NumberOfReplicas, existing.NumReplicas);
        return await kv.GetStoreAsync(desired.Bucket, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens object store <paramref name="desired"/>.Bucket as <see cref="EnsureBucketAsync(INatsJSContext, NatsKVConfig, string?, CancellationToken)"/> opens a KV bucket: created
    /// when missing and allowed, its replicas (those of its stream <c>OBJ_&lt;bucket&gt;</c>) validated.
    /// </summary>
    /// <exception cref="InvalidOperationException">The bucket is missing and may not be created, or its replicas differ.</exception>
    public static Task<INatsObjStore> EnsureObjectStoreAsync(INatsJSContext js, NatsObjConfig desired, string? notCreatedBecause,
        CancellationToken cancellationToken = default) =>
        EnsureObjectStoreAsync(js, desired, notCreatedBecause, StreamPlacement.Default, cancellationToken);

    /// <summary>
    /// As <see cref="EnsureObjectStoreAsync(INatsJSContext, NatsObjConfig, string?, CancellationToken)"/>, waiting for
    /// JetStream to place a new store as <paramref name="placement"/> says (<see cref="NatsSettings.StreamPlacementOf"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The bucket is missing and may not be created, or its replicas differ.</exception>
    public static async Task<INatsObjStore> EnsureObjectStoreAsync(INatsJSContext js, NatsObjConfig desired, string? notCreatedBecause,
        StreamPlacement placement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(desired);
        var obj = new NatsObjContext(js);
        var stream = ObjectStream(desired.Bucket);
        var existing = await ExistingAsync(js, stream, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            if (notCreatedBecause is not null) throw new InvalidOperationException(MissingObjectStore(desired, notCreatedBecause));
            try
            {
                return await WhenPlacedAsync(ct => obj.CreateObjectStoreAsync(desired, ct), $"object store {desired.Bucket}", desired.NumberOfReplicas,
                    placement, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == 10058)
            {
                // Created concurrently, with another configuration: validate what was made.
            }

            existing = await ExistingAsync(js, stream, cancellationToken).ConfigureAwait(false)
                       ?? throw new InvalidOperationException($"JetStream object store {desired.Bucket} could not be created and does not exist.");
        }

        RefuseOtherReplicas($"object store {desired.Bucket} (stream {stream})", desired.NumberOfReplicas, existing.NumReplicas);
        return await obj.GetObjectStoreAsync(desired.Bucket, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The stream behind KV bucket <paramref name="bucket"/>.</summary>
    public static string KeyValueStream(string bucket) => "KV_" + bucket;

    /// <summary>
    /// Runs a create, trying again every <see cref="StreamPlacement.RetryInterval"/> while JetStream answers that it cannot
    /// place it yet (no suitable peers, or the cluster is not available): servers of a cluster that starts with the node
    /// join its JetStream one by one. After <see cref="StreamPlacement.Wait"/> the error says what it needs.
    /// </summary>
    private static async Task<T> WhenPlacedAsync<T>(Func<CancellationToken, ValueTask<T>> create, string what, int replicas,
        StreamPlacement placement, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + placement.Wait;
        while (true)
        {
            try
            {
                return await create(cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (NotPlaceableYet(e) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(placement.RetryInterval, cancellationToken).ConfigureAwait(false); // a bounded wait for servers to join
            }
            catch (NatsJSApiException e) when (NotPlaceableYet(e))
            {
                throw new InvalidOperationException(
                    $"JetStream could not place {what} at {replicas} replica(s) within {placement.Wait.TotalSeconds:0} s ({e.Error.Description}): it needs " +
                    $"{replicas} JetStream server(s) up and routed in the cluster. Start them, or lower runner.nats.streams.replicas ({NatsSettings.ReplicasVariable}).", e);
            }
        }
    }

    // 10005: no suitable peers for placement; 10008: JetStream system temporarily unavailable.
    private static bool NotPlaceableYet(NatsJSApiException e) => e.Error.ErrCode is 10005 or 10008 || e.Error.Code == 503;

    /// <summary>The stream behind object store <paramref name="bucket"/>.</summary>
    public static string ObjectStream(string bucket) => "OBJ_" + bucket;

    private static async Task<StreamConfig?> ExistingAsync(INatsJSContext js, string stream, CancellationToken cancellationToken)
    {
        try
        {
            return (await js.GetStreamAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false)).Info.Config;
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return null;
        }
    }

    private static void RefuseOtherReplicas(string what, int desired, int existing)
    {
        if (desired != existing)
            throw new InvalidOperationException(
                $"JetStream {what} exists with settings the runner cannot use: {ReplicasProblem(existing, desired)}. " +
                "Change the bucket or the setting; the runner does not modify existing buckets.");
    }

    private static string ReplicasProblem(int existing, int desired) =>
        $"replicas are {existing}, expected {desired} (runner.nats.streams.replicas or {NatsSettings.ReplicasVariable})";

    internal static string MissingStream(StreamConfig desired)
    {
        var subjects = desired.Subjects ?? [];
        var storage = desired.Storage == StreamConfigStorage.Memory ? "memory" : "file";
        var window = GoDuration(desired.DuplicateWindow);
        return $"JetStream stream {desired.Name} does not exist and runner.nats.streams.mode = validate, so the runner does not create it. " +
               $"Create it with subjects [{string.Join(", ", subjects)}], {desired.NumReplicas} replica(s), {storage} storage, " +
               $"duplicate window {window} and limits retention, e.g. nats stream add {desired.Name} " +
               $"{string.Join(" ", subjects.Select(x => $"--subjects '{x}'"))} --replicas {desired.NumReplicas} --storage {storage} " +
               $"--dupe-window {window} --retention limits --defaults";
    }

    internal static string MissingBucket(NatsKVConfig desired, string notCreatedBecause)
    {
        var storage = desired.Storage == NatsKVStorageType.Memory ? "memory" : "file";
        return $"JetStream KV bucket {desired.Bucket} (stream {KeyValueStream(desired.Bucket)}, subjects [$KV.{desired.Bucket}.>]) does not exist " +
               $"and {notCreatedBecause}, so the runner does not create it. Create it with {desired.NumberOfReplicas} replica(s), {storage} storage " +
               $"and history {desired.History}, e.g. nats kv add {desired.Bucket} --replicas {desired.NumberOfReplicas} --storage {storage} " +
               $"--history {desired.History}";
    }

    internal static string MissingObjectStore(NatsObjConfig desired, string notCreatedBecause)
    {
        var storage = desired.Storage == NatsObjStorageType.Memory ? "memory" : "file";
        return $"JetStream object store {desired.Bucket} (stream {ObjectStream(desired.Bucket)}, subjects [$O.{desired.Bucket}.C.>, $O.{desired.Bucket}.M.>]) " +
               $"does not exist and {notCreatedBecause}, so the runner does not create it. Create it with {desired.NumberOfReplicas} replica(s) " +
               $"and {storage} storage, e.g. nats object add {desired.Bucket} --replicas {desired.NumberOfReplicas} --storage {storage}";
    }

    /// <summary>A duration as the nats CLI and server write it (10m, 90s, 1500ms).</summary>
    private static string GoDuration(TimeSpan? value)
    {
        var t = value ?? TimeSpan.Zero;
        if (t.Ticks % TimeSpan.TicksPerHour == 0 && t >= TimeSpan.FromHours(1)) return ((long)t.TotalHours).ToString(CultureInfo.InvariantCulture) + "h";
        if (t.Ticks % TimeSpan.TicksPerMinute == 0 && t >= TimeSpan.FromMinutes(1)) return ((long)t.TotalMinutes).ToString(CultureInfo.InvariantCulture) + "m";
        if (t.Ticks % TimeSpan.TicksPerSecond == 0) return ((long)t.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
        return ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
    }

    internal static List<string> Differences(StreamConfig desired, StreamConfig existing)
    {
        var problems = new List<string>();
        var want = desired.Subjects ?? [];
        var have = existing.Subjects ?? [];
        if (!want.OrderBy(s => s, StringComparer.Ordinal).SequenceEqual(have.OrderBy(s => s, StringComparer.Ordinal)))
            problems.Add($"subjects are [{string.Join(", ", have)}], expected [{string.Join(", ", want)}]");
        if (desired.Storage != existing.Storage)
            problems.Add($"storage is {existing.Storage}, expected {desired.Storage}");
        if (desired.NumReplicas != existing.NumReplicas)
            problems.Add(ReplicasProblem(existing.NumReplicas, desired.NumReplicas));
        if (desired.DuplicateWindow != existing.DuplicateWindow)
            problems.Add($"duplicate window is {existing.DuplicateWindow}, expected {desired.DuplicateWindow}");
        if (existing.Retention == StreamConfigRetention.Workqueue)
            problems.Add("retention is work-queue; replay needs the events kept (limits or interest)");
        return problems;
    }
}
