using System.Reflection;

namespace Runner.Sagas;

/// <summary>
/// The saga definitions a node runs, by name. Built once at start-up and then only read (reads are thread-safe
/// while nobody adds).
/// </summary>
public sealed class SagaCatalog
{
    private readonly SortedDictionary<string, ISagaDefinition> _byName = new(StringComparer.Ordinal);

    /// <summary>Creates an empty catalog.</summary>
    public SagaCatalog()
    {
    }

    /// <summary>Creates a catalog holding <paramref name="sagas"/>.</summary>
    /// <exception cref="ArgumentException">Two sagas share a name, or a name is invalid.</exception>
    public SagaCatalog(IEnumerable<ISagaDefinition> sagas)
    {
        ArgumentNullException.ThrowIfNull(sagas);
        foreach (var saga in sagas) Add(saga);
    }

    /// <summary>All sagas, ordered by name.</summary>
    public IReadOnlyCollection<ISagaDefinition> All => _byName.Values;

    /// <summary>The number of sagas.</summary>
    public int Count => _byName.Count;

    /// <summary>Adds <paramref name="saga"/>.</summary>
    /// <returns>This catalog.</returns>
    /// <exception cref="ArgumentException">A saga of the same name is already in the catalog, or the name is invalid.</exception>
    public SagaCatalog Add(ISagaDefinition saga)
    {
        ArgumentNullException.ThrowIfNull(saga);
        var name = SagaName.Validate(saga.Name);
        if (_byName.TryGetValue(name, out var existing))
        {
            throw new ArgumentException(
                $"The catalog already holds a saga named '{name}' ({existing.GetType().FullName}); cannot add {saga.GetType().FullName}.",
                nameof(saga));
        }

        _byName.Add(name, saga);
        return this;
    }

    /// <summary>Finds the saga named <paramref name="name"/>.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ISagaDefinition? saga)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out saga);
    }

    /// <summary>The sagas that handle <paramref name="eventType"/>, ordered by name; empty when none does.</summary>
    public IReadOnlyList<ISagaDefinition> ForEventType(string eventType)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        return _byName.Values.Where(s => s.EventTypes.Contains(eventType)).ToArray();
    }

    /// <summary>
    /// Loads an assembly by file path or by assembly name and creates one instance of every public, non-abstract
    /// <see cref="ISagaDefinition"/> in it that has a public parameterless constructor, ordered by saga name.
    /// </summary>
    /// <param name="pathOrName">A path to a <c>.dll</c> (absolute or relative to the working directory), or an assembly name.</param>
    /// <exception cref="InvalidOperationException">The assembly cannot be loaded, its types cannot be read, or a saga's constructor threw;
    /// the message names the assembly or the type.</exception>
    public static IEnumerable<ISagaDefinition> LoadFromAssembly(string pathOrName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrName);
        var assembly = Load(pathOrName);

        Type[] types;
        try
        {
            types = assembly.GetExportedTypes();
        }
        catch (Exception ex) when (ex is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or TypeLoadException)
        {
            throw new InvalidOperationException($"Cannot read the types of saga assembly '{assembly.FullName}' ({pathOrName}): {ex.Message}", ex);
        }

        var sagas = new List<ISagaDefinition>();
        foreach (var type in types)
        {
            if (type.IsAbstract || type.IsInterface || type.ContainsGenericParameters) continue;
            if (!typeof(ISagaDefinition).IsAssignableFrom(type)) continue;
            if (type.GetConstructor(Type.EmptyTypes) is null) continue;
            try
            {
                sagas.Add((ISagaDefinition)Activator.CreateInstance(type)!);
            }
            catch (TargetInvocationException ex)
            {
                var inner = ex.InnerException ?? ex;
                throw new InvalidOperationException(
                    $"Saga type {type.FullName} in '{pathOrName}' failed to construct: {inner.GetType().Name}: {inner.Message}", inner);
            }
        }

        return sagas.OrderBy(s => s.Name, StringComparer.Ordinal).ToArray();
    }

    private static Assembly Load(string pathOrName)
    {
        var looksLikePath = pathOrName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            || pathOrName.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal)
            || pathOrName.Contains(Path.AltDirectorySeparatorChar, StringComparison.Ordinal);
        try
        {
            if (File.Exists(pathOrName)) return Assembly.LoadFrom(Path.GetFullPath(pathOrName));
            if (looksLikePath)
            {
                throw new InvalidOperationException(
                    $"Cannot load saga assembly '{pathOrName}': no such file (full path {Path.GetFullPath(pathOrName)}).");
            }

            return Assembly.Load(new AssemblyName(pathOrName));
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException or ArgumentException or IOException)
        {
            throw new InvalidOperationException($"Cannot load saga assembly '{pathOrName}': {ex.Message}", ex);
        }
    }
}
