using System.Collections.Concurrent;
using NATS.Client.Core;
using Runner.Nats;

namespace Runner.Actors.Tests;

/// <summary>
/// Records what the actors let out, for actor-level specs that do not need NATS (the NATS path itself is covered
/// by the integration specs against a real nats-server). Can be told to hold publishes, as NATS being down would.
/// </summary>
public sealed class RecordingTransport : IRunnerTransport
{
    private volatile TaskCompletionSource _gate = Open();

    public ConcurrentQueue<(string Tenant, string Saga, string Correlation, string CommandType, string MsgId, byte[] Payload)> Commands { get; } = new();

    public ConcurrentQueue<(string Tenant, string Saga, string Kind, string Reason)> DeadLetters { get; } = new();

    /// <summary>The <c>traceparent</c> each command was published with, by <c>Nats-Msg-Id</c> (null: none).</summary>
    public ConcurrentDictionary<string, string?> TraceParents { get; } = new();

    public IEnumerable<string> CommandTypes(string correlation) =>
        Commands.Where(c => c.Correlation == correlation).Select(c => c.CommandType);

    /// <summary>Publishes wait until <see cref="Release"/>.</summary>
    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    public async Task PublishCommandAsync(string tenant, string saga, string correlation, string commandType, byte[] payload, string msgId,
        string? traceParent, CancellationToken cancellationToken)
    {
        await _gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        TraceParents[msgId] = traceParent;
        Commands.Enqueue((tenant, saga, correlation, commandType, msgId, payload));
    }

    public Task PublishDeadLetterAsync(string tenant, string saga, string kind, string reason, string originSubject, ulong originSequence,
        byte[] payload, NatsHeaders? originHeaders, CancellationToken cancellationToken)
    {
        DeadLetters.Enqueue((tenant, saga, kind, reason));
        return Task.CompletedTask;
    }

    private static TaskCompletionSource Open()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }
}
