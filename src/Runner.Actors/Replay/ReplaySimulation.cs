using System.Collections.Immutable;
using System.Text;
using Runner.Actors.Internal;
using Runner.Actors.Protocol;
using Runner.Actors.Serialization;
using Runner.Sagas;

namespace Runner.Actors.Replay;

/// <summary>
/// A replay run on paper: the saga's pure decisions applied, in stream order, to copies of its instances as the
/// replay's mode would leave them (<c>checkpoint_only</c>: as they are, dedupe markers included;
/// <c>checkpoint_and_dedupe</c>: as they are without markers; <c>full_reset</c>: initial). Nothing is persisted or
/// published. Timers are not fired on paper: a dry run reports what the events decide.
/// </summary>
internal sealed class ReplaySimulation(ISagaDefinition saga, string mode, int dedupeWindow)
{
    /// <summary>Entries kept per list of the report.</summary>
    public const int Kept = 500;

    private readonly Dictionary<string, Instance> _instances = new(StringComparer.Ordinal);
    private readonly List<DryRunCommand> _commands = [];
    private readonly List<DryRunEvent> _suppressed = [];
    private readonly List<DryRunEvent> _ignored = [];
    private readonly List<DryRunEvent> _deadLettered = [];
    private long _events;
    private long _applied;
    private long _duplicates;
    private long _ignoredCount;
    private long _deadLetteredCount;
    private long _commandCount;
    private bool _truncated;

    /// <summary>Whether the simulation needs what an existing instance holds now (every mode but <c>full_reset</c>).</summary>
    public bool NeedsBasis => mode != ReplayModes.FullReset;

    /// <summary>Whether <paramref name="correlationId"/> has been seeded or created.</summary>
    public bool Knows(string correlationId) => _instances.ContainsKey(correlationId);

    /// <summary>Seeds an existing instance with what it holds now (ignored by <c>full_reset</c>, which starts from the initial state).</summary>
    public void Seed(ReplayBasis basis)
    {
        var instance = new Instance(saga.InitialState(), dedupeWindow);
        if (NeedsBasis)
        {
            instance.State = basis.State;
            instance.Completed = basis.Completed;
            if (mode == ReplayModes.CheckpointOnly)
            {
                foreach (var key in basis.Dedupe) instance.Dedupe.Add(key);
            }
        }

        _instances[basis.CorrelationId] = instance;
    }

    /// <summary>Applies one event of the saga's types, as the runtime would (parse and correlate, dedupe, completion, decide).</summary>
    public void Apply(IncomingEvent incoming, DateTimeOffset now)
    {
        _events++;
        var result = saga.Parse(incoming);
        if (result is ParseResult.Rejected rejected)
        {
            _deadLetteredCount++;
            Keep(_deadLettered, new DryRunEvent(incoming.StreamSequence, incoming.EventType, null, $"{rejected.Kind}: {rejected.Reason}"));
            return;
        }

        var ok = (ParseResult.Ok)result;
        if (!_instances.TryGetValue(ok.CorrelationId, out var instance))
        {
            instance = new Instance(saga.InitialState(), dedupeWindow);
            _instances[ok.CorrelationId] = instance;
        }

        var key = SagaActor.DedupeKey(incoming);
        if (instance.Dedupe.Contains(key))
        {
            _duplicates++;
            Keep(_suppressed, new DryRunEvent(incoming.StreamSequence, incoming.EventType, ok.CorrelationId, key));
            return;
        }

        if (instance.Completed)
        {
            _ignoredCount++;
            Keep(_ignored, new DryRunEvent(incoming.StreamSequence, incoming.EventType, ok.CorrelationId, "instance completed"));
            return;
        }

        Decision decision;
        try
        {
            decision = saga.Decide(instance.State, ok.Event, now);
        }
        catch (Exception e)
        {
            _deadLetteredCount++;
            Keep(_deadLettered, new DryRunEvent(incoming.StreamSequence, incoming.EventType, ok.CorrelationId,
                $"HandlerFailed: {saga.Name} decide threw {e.GetType().Name}: {e.Message}"));
            return;
        }

        if (decision.Unexpected is { } unexpected)
        {
            // As in the runtime during a replay: not applied, no dedupe marker, counted as ignored.
            _ignoredCount++;
            Keep(_ignored, new DryRunEvent(incoming.StreamSequence, incoming.EventType, ok.CorrelationId, "not accepted: " + unexpected));
            return;
        }

        _applied++;
        instance.Dedupe.Add(key);
        if (decision.StateChanged) instance.State = decision.State;
        if (decision.Complete) instance.Completed = true;
        foreach (var command in decision.Commands)
        {
            _commandCount++;
            Keep(_commands, new DryRunCommand(incoming.StreamSequence, incoming.EventType, ok.CorrelationId, command.CommandType,
                Encoding.UTF8.GetString(saga.SerializeCommand(command))));
        }
    }

    /// <summary>The report so far.</summary>
    public DryRunReport Report() => new(
        new ReplayCounts(_events, _applied, _duplicates, _ignoredCount, _deadLetteredCount, _commandCount),
        _instances.Count, [.. _commands], [.. _suppressed], [.. _ignored], [.. _deadLettered], _truncated);

    private void Keep<T>(List<T> list, T item)
    {
        if (list.Count < Kept) list.Add(item);
        else _truncated = true;
    }

    private sealed class Instance(object state, int window)
    {
        public object State { get; set; } = state;

        public bool Completed { get; set; }

        public DedupeWindow Dedupe { get; } = new(window);
    }
}
