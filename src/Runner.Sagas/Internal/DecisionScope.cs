namespace Runner.Sagas.Internal;

/// <summary>What every decision built for one call of a saga shares: the saga, its declared timers and the clock.</summary>
internal sealed class DecisionScope(string sagaName, IReadOnlyCollection<string> timerNames, DateTimeOffset now)
{
    public string SagaName { get; } = sagaName;

    public DateTimeOffset Now { get; } = now;

    public string RequireDeclaredTimer(string timer, string paramName)
    {
        ArgumentNullException.ThrowIfNull(timer, paramName);
        if (timerNames.Contains(timer)) return timer;
        var declared = timerNames.Count == 0 ? "it declares none" : "declared: " + string.Join(", ", timerNames.Order(StringComparer.Ordinal));
        throw new ArgumentException(
            $"Saga '{SagaName}' has no timer '{timer}' ({declared}); declare it with OnTimer(\"{timer}\", ...) in the saga's constructor.",
            paramName);
    }
}
