using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Runner.Nats;

/// <summary>
/// Creates the runner's streams or validates the ones that exist. An existing stream whose subjects, storage,
/// replicas or duplicate window differ from the settings is a start-up error that says what differs: the runner
/// never silently changes a stream an operator owns.
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
        {
            StreamConfig? existing = null;
            try
            {
                var stream = await js.GetStreamAsync(desired.Name!, cancellationToken: cancellationToken).ConfigureAwait(false);
                existing = stream.Info.Config;
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                // missing
            }

            if (existing is null)
            {
                if (!settings.CreateStreams)
                    throw new InvalidOperationException($"JetStream stream {desired.Name} does not exist and runner.nats.streams.mode = validate.");
                try
                {
                    await js.CreateStreamAsync(desired, cancellationToken).ConfigureAwait(false);
                    continue;
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
            problems.Add($"replicas are {existing.NumReplicas}, expected {desired.NumReplicas}");
        if (desired.DuplicateWindow != existing.DuplicateWindow)
            problems.Add($"duplicate window is {existing.DuplicateWindow}, expected {desired.DuplicateWindow}");
        if (existing.Retention == StreamConfigRetention.Workqueue)
            problems.Add("retention is work-queue; replay needs the events kept (limits or interest)");
        return problems;
    }
}
