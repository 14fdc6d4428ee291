using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Runner.Actors;

namespace Runner.Host.Ui;

/// <summary>
/// The console's memory of each tenant on this node: every <see cref="AdminSettings.ConsoleSampleInterval"/>, the applied
/// position and lag of each of its (tenant, saga) consumptions, from the node's own bookkeeping (no NATS call); the last
/// <see cref="AdminSettings.ConsoleSamplesKept"/> per tenant are kept for the charts of lag, backlog and throughput.
/// Tenants that leave the node are forgotten once they have had no consumption for a whole window.
/// </summary>
internal sealed class ConsoleSamples(AdminSettings settings, TimeProvider time) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Window> _tenants = new(StringComparer.Ordinal);

    /// <summary>One sample of a saga of a tenant.</summary>
    public sealed record SagaSample(string Saga, ulong AppliedSeq, ulong Lag, bool Running);

    /// <summary>One sample of a tenant.</summary>
    public sealed record Sample(DateTimeOffset At, IReadOnlyList<SagaSample> Sagas);

    public TimeSpan Interval => settings.ConsoleSampleInterval;

    /// <summary>The tenant's samples, oldest first (empty when it has not run on this node within the window).</summary>
    public IReadOnlyList<Sample> Of(string tenant) => _tenants.TryGetValue(tenant, out var window) ? window.Snapshot() : [];

    /// <summary>Takes one sample of every consumption on this node now.</summary>
    public void Take()
    {
        var now = time.GetUtcNow();
        var byTenant = RunnerMetrics.Consumption().GroupBy(v => v.Tenant, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<SagaSample>)[.. g.Select(v => new SagaSample(v.Saga, v.AppliedSeq, v.Lag, v.Running))],
                StringComparer.Ordinal);
        foreach (var (tenant, sagas) in byTenant)
            _tenants.GetOrAdd(tenant, _ => new Window(settings.ConsoleSamplesKept)).Add(new Sample(now, sagas));
        foreach (var (tenant, window) in _tenants)
        {
            if (byTenant.ContainsKey(tenant)) continue;
            if (window.Idle(settings.ConsoleSamplesKept)) _tenants.TryRemove(tenant, out _);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.ConsoleSampleInterval, time);
        try
        {
            do
            {
                Take();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // the node stops
        }
    }

    /// <summary>A bounded window of samples; counts the rounds in which its tenant had no consumption here.</summary>
    private sealed class Window(int capacity)
    {
        private readonly Queue<Sample> _samples = new(capacity);
        private int _missed;

        public void Add(Sample sample)
        {
            lock (_samples)
            {
                _missed = 0;
                if (_samples.Count == capacity) _samples.Dequeue();
                _samples.Enqueue(sample);
            }
        }

        public bool Idle(int rounds)
        {
            lock (_samples) return ++_missed >= rounds;
        }

        public IReadOnlyList<Sample> Snapshot()
        {
            lock (_samples) return [.. _samples];
        }
    }
}
