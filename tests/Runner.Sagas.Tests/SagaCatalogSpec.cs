using Runner.Sagas.Samples;
using Xunit;

namespace Runner.Sagas.Tests;

public sealed class SagaCatalogSpec
{
    private static string SamplesPath => Path.Combine(AppContext.BaseDirectory, "Runner.Sagas.Samples.dll");

    [Fact]
    public void Catalog_should_find_sagas_by_name_and_event_type()
    {
        var catalog = new SagaCatalog().Add(new OrderSaga()).Add(new CounterSaga());

        Assert.Equal(2, catalog.Count);
        Assert.Equal(["counter", "order"], catalog.All.Select(s => s.Name));
        Assert.True(catalog.TryGet("order", out var order));
        Assert.IsType<OrderSaga>(order);
        Assert.False(catalog.TryGet("payment", out var missing));
        Assert.Null(missing);

        Assert.Equal(["order"], catalog.ForEventType("OrderPlaced").Select(s => s.Name));
        Assert.Equal(["counter"], catalog.ForEventType("Ping").Select(s => s.Name));
        Assert.Empty(catalog.ForEventType("Nothing"));
    }

    [Fact]
    public void Catalog_should_list_every_saga_that_handles_an_event_type()
    {
        var catalog = new SagaCatalog([new OrderSaga(), new AuditSaga()]);
        Assert.Equal(["audit", "order"], catalog.ForEventType("OrderPlaced").Select(s => s.Name));
    }

    [Fact]
    public void Catalog_should_reject_a_duplicate_name()
    {
        var catalog = new SagaCatalog().Add(new OrderSaga());
        var ex = Assert.Throws<ArgumentException>(() => catalog.Add(new OrderSaga(TimeSpan.FromMinutes(1))));
        Assert.StartsWith(
            "The catalog already holds a saga named 'order' (Runner.Sagas.Samples.OrderSaga); cannot add Runner.Sagas.Samples.OrderSaga.",
            ex.Message,
            StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new SagaCatalog([new CounterSaga(), new CounterSaga()]));
        Assert.Equal(1, catalog.Count);
    }

    [Fact]
    public void LoadFromAssembly_should_instantiate_the_sample_sagas_by_path()
    {
        Assert.True(File.Exists(SamplesPath), SamplesPath);
        var saga = Assert.Single(SagaCatalog.LoadFromAssembly(SamplesPath));
        Assert.IsType<OrderSaga>(saga);
        Assert.Equal(OrderSaga.DefaultPaymentTimeout, ((OrderSaga)saga).PaymentTimeout);
    }

    [Fact]
    public void LoadFromAssembly_should_accept_an_assembly_name()
    {
        Assert.Equal(["order"], SagaCatalog.LoadFromAssembly("Runner.Sagas.Samples").Select(s => s.Name));
    }

    [Fact]
    public void LoadFromAssembly_should_skip_sagas_it_cannot_construct()
    {
        // This assembly holds CounterSaga and AuditSaga (public, parameterless), NeedsArgumentSaga (no parameterless
        // constructor) and private nested sagas: only the first two load.
        var names = SagaCatalog.LoadFromAssembly(typeof(SagaCatalogSpec).Assembly.Location).Select(s => s.Name);
        Assert.Equal(["audit", "counter"], names);
    }

    [Fact]
    public void LoadFromAssembly_should_fail_clearly_for_a_missing_file()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-dir", "Sagas.dll");
        var ex = Assert.Throws<InvalidOperationException>(() => SagaCatalog.LoadFromAssembly(path));
        Assert.Equal($"Cannot load saga assembly '{path}': no such file (full path {path}).", ex.Message);
    }

    [Fact]
    public void LoadFromAssembly_should_fail_clearly_for_an_unknown_assembly_name()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => SagaCatalog.LoadFromAssembly("No.Such.Sagas"));
        Assert.StartsWith("Cannot load saga assembly 'No.Such.Sagas': ", ex.Message, StringComparison.Ordinal);
        Assert.IsType<FileNotFoundException>(ex.InnerException);
    }

    [Fact]
    public void LoadFromAssembly_should_fail_clearly_for_a_file_that_is_not_an_assembly()
    {
        var path = Path.Combine(Path.GetTempPath(), $"runner-sagas-{Guid.NewGuid():N}.dll");
        File.WriteAllText(path, "not an assembly");
        try
        {
            var ex = Assert.Throws<InvalidOperationException>(() => SagaCatalog.LoadFromAssembly(path));
            Assert.StartsWith($"Cannot load saga assembly '{path}': ", ex.Message, StringComparison.Ordinal);
            Assert.IsType<BadImageFormatException>(ex.InnerException);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>A second saga on <see cref="OrderPlaced"/>, to show that one event type can feed several sagas.</summary>
public sealed class AuditSaga : Saga<CounterState>
{
    public AuditSaga()
        : base("audit")
    {
        On<OrderPlaced>((e, _) => e.OrderId, (state, _, ctx) => ctx.Transition(state with { Pings = state.Pings + 1 }));
    }

    protected override CounterState Initial() => new(0, 0, 0);
}
