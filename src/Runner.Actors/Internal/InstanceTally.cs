namespace Runner.Actors.Internal;

/// <summary>
/// How many saga instances of one tenant are in memory on this node: each instance counts itself in when it starts and
/// out when it stops (passivated, handed off, or its tenant stopped). Read by the metrics (<c>runner.instances.active</c>).
/// </summary>
internal sealed class InstanceTally(string tenant)
{
    private int _count;

    public string Tenant { get; } = tenant;

    public int Count => Volatile.Read(ref _count);

    public void Started() => Interlocked.Increment(ref _count);

    public void Stopped() => Interlocked.Decrement(ref _count);
}
