using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Runner.Actors.Internal;

/// <summary>Persistence ids of the journal, through the runtime's read journal.</summary>
internal static class PersistenceIds
{
    /// <summary>The current persistence ids that start with <paramref name="prefix"/>, in the journal's order.</summary>
    public static Task<List<string>> WithPrefixAsync(ActorSystem system, string queryPlugin, string prefix, IMaterializer materializer) =>
        PersistenceQuery.Get(system).ReadJournalFor<ICurrentPersistenceIdsQuery>(queryPlugin).CurrentPersistenceIds()
            .Where(pid => pid.StartsWith(prefix, StringComparison.Ordinal))
            .RunAggregate(new List<string>(), (list, pid) =>
            {
                list.Add(pid);
                return list;
            }, materializer);
}
