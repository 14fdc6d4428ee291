using Akka.Event;

namespace Runner.Persistence.Lmdb.Internal;

/// <summary>Process-wide, reference-counted stores, one per data directory.</summary>
internal static class StoreRegistry
{
    private static readonly Dictionary<string, (LmdbStore Store, int Refs)> Open = new(StringComparer.Ordinal);

    public static LmdbStore Acquire(LmdbStorageSettings settings, ILoggingAdapter log)
    {
        lock (Open)
        {
            if (Open.TryGetValue(settings.DataDirectory, out var entry))
            {
                if (entry.Store.Settings != settings)
                    log.Warning("LMDB store at {0} is already open with {1}; ignoring {2}", settings.DataDirectory, entry.Store.Settings, settings);
                Open[settings.DataDirectory] = (entry.Store, entry.Refs + 1);
                return entry.Store;
            }

            var store = new LmdbStore(settings);
            log.Info("LMDB store opened at {0} (map {1} bytes, durability {2}, native {3})",
                settings.DataDirectory, store.MapSize, settings.Durability, LmdbNativeLibrary.LoadedFrom);
            Open[settings.DataDirectory] = (store, 1);
            return store;
        }
    }

    public static void Release(LmdbStore store)
    {
        lock (Open)
        {
            var dir = store.Settings.DataDirectory;
            if (!Open.TryGetValue(dir, out var entry) || !ReferenceEquals(entry.Store, store)) return;
            if (entry.Refs > 1)
            {
                Open[dir] = (store, entry.Refs - 1);
                return;
            }

            Open.Remove(dir);
            store.Dispose();
        }
    }
}
