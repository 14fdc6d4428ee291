using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Runner.Nats;

/// <summary>
/// Which parked events an operation covers; every criterion given must hold. Tenant and saga are the tokens of the
/// dead-letter subject <c>&lt;prefix&gt;.dlq.&lt;tenant&gt;.&lt;saga&gt;</c> (so also <c>_invalid</c> and <c>_unrouted</c>);
/// the sequences are those of the dead-letter stream.
/// </summary>
public sealed record DeadLetterFilter
{
    /// <summary>Only this tenant's parked events.</summary>
    public string? Tenant { get; init; }

    /// <summary>Only those parked by this saga.</summary>
    public string? Saga { get; init; }

    /// <summary>Only those of this kind (<c>Runner-Dlq-Kind</c>, case-insensitive).</summary>
    public string? Kind { get; init; }

    /// <summary>First dead-letter stream sequence (inclusive).</summary>
    public ulong FromSeq { get; init; } = 1;

    /// <summary>Last dead-letter stream sequence (inclusive); null: the last one when the operation starts.</summary>
    public ulong? ToSeq { get; init; }

    /// <summary>Whether it names exactly one sequence.</summary>
    public bool IsSingle => ToSeq == FromSeq;

    /// <exception cref="ArgumentException">A token is not one subject token, or the range is empty.</exception>
    internal void Validate()
    {
        if (Tenant is not null && !Subjects.IsToken(Tenant)) throw new ArgumentException($"tenant '{Tenant}' is not a subject token", nameof(Tenant));
        if (Saga is not null && !Subjects.IsToken(Saga)) throw new ArgumentException($"saga '{Saga}' is not a subject token", nameof(Saga));
        if (FromSeq < 1) throw new ArgumentException("from_seq must be 1 or more", nameof(FromSeq));
        if (ToSeq < FromSeq) throw new ArgumentException($"to_seq {ToSeq} is before from_seq {FromSeq}", nameof(ToSeq));
    }
}

/// <summary>One parked event, as the dead-letter stream holds it.</summary>
/// <param name="Sequence">Its dead-letter stream sequence.</param>
/// <param name="Subject">Its dead-letter subject.</param>
/// <param name="Tenant">The tenant token of the subject.</param>
/// <param name="Saga">The saga token of the subject (the saga that parked it, <c>_unrouted</c>, or <c>intake</c>).</param>
/// <param name="ParkedAt">When the dead-letter stream stored it.</param>
/// <param name="Headers">Every header it carries (the origin's and the runner's).</param>
/// <param name="Payload">The original body.</param>
public sealed record DeadLetter(ulong Sequence, string Subject, string Tenant, string Saga, DateTimeOffset ParkedAt,
    ImmutableSortedDictionary<string, ImmutableArray<string>> Headers, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Headers the runner adds when it parks an event, or that only mean something on the first publish; a redrive drops them.</summary>
    private static readonly ImmutableHashSet<string> ParkingHeaders = ImmutableHashSet.Create(StringComparer.OrdinalIgnoreCase,
        RunnerHeaders.DeadLetterKind, RunnerHeaders.DeadLetterReason, RunnerHeaders.OriginSubject, RunnerHeaders.OriginSequence,
        RunnerHeaders.OriginMsgId, RunnerHeaders.Node, RunnerHeaders.RedriveSaga, RunnerHeaders.RedrivenFrom);

    /// <summary><c>Runner-Dlq-Kind</c>.</summary>
    public string Kind => Header(RunnerHeaders.DeadLetterKind) ?? "";

    /// <summary><c>Runner-Dlq-Reason</c>.</summary>
    public string Reason => Header(RunnerHeaders.DeadLetterReason) ?? "";

    /// <summary>The subject it arrived on, or null.</summary>
    public string? OriginSubject => Header(RunnerHeaders.OriginSubject);

    /// <summary>Its sequence in the events stream, or null.</summary>
    public ulong? OriginSequence =>
        ulong.TryParse(Header(RunnerHeaders.OriginSequence), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : null;

    /// <summary>The <c>Nats-Msg-Id</c> it arrived with, or null.</summary>
    public string? OriginMsgId => Header(RunnerHeaders.OriginMsgId);

    /// <summary>
    /// The <c>Nats-Msg-Id</c> a redrive of this entry publishes with: the same for every redrive of it, so JetStream and the
    /// saga's dedupe markers recognise a second one; the origin sequence keeps it unique if the dead-letter stream is ever
    /// recreated and numbers again from 1.
    /// </summary>
    public string RedriveMsgId => string.Create(CultureInfo.InvariantCulture, $"redrive:{Tenant}:{Saga}:{Sequence}:{OriginSequence ?? 0}");

    /// <summary>The origin's headers as a redrive sends them again: without the runner's parking headers and any <c>Nats-*</c> publish control.</summary>
    public ImmutableSortedDictionary<string, ImmutableArray<string>> OriginHeaders =>
        Headers.Where(h => !ParkingHeaders.Contains(h.Key) && !h.Key.StartsWith("Nats-", StringComparison.OrdinalIgnoreCase))
            .ToImmutableSortedDictionary(StringComparer.Ordinal);

    /// <summary>The first value of a header, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var values) && values.Length > 0 ? values[0] : null;

    internal static DeadLetter? From(INatsJSMsg<byte[]> msg, Subjects subjects)
    {
        if (!subjects.TryParseDeadLetter(msg.Subject, out var tenant, out var saga)) return null;
        var headers = ImmutableSortedDictionary.CreateBuilder<string, ImmutableArray<string>>(StringComparer.Ordinal);
        if (msg.Headers is { } h)
        {
            foreach (var (k, v) in h) headers[k] = [.. v.Select(x => x ?? "")];
        }

        var meta = msg.Metadata;
        return new DeadLetter(meta?.Sequence.Stream ?? 0, msg.Subject, tenant, saga, meta?.Timestamp ?? DateTimeOffset.MinValue, headers.ToImmutable(),
            msg.Data ?? []);
    }
}

/// <summary>A page of parked events.</summary>
/// <param name="Items">The events, in stream order.</param>
/// <param name="ToSeq">The last sequence the operation covered (the stream's last one when it started, unless a lower one was asked).</param>
/// <param name="Next">Where the next match starts, or null when there is none up to <paramref name="ToSeq"/>.</param>
public sealed record DeadLetterPage(ImmutableArray<DeadLetter> Items, ulong ToSeq, ulong? Next);

/// <summary>What a redrive did with one parked event.</summary>
public enum RedriveOutcome
{
    /// <summary>Published to its origin subject and removed from the dead letters.</summary>
    Sent,

    /// <summary>A redrive of it had been published already (JetStream's duplicate window, or found in the events stream); removed from the dead letters.</summary>
    AlreadySent,

    /// <summary>Dry run: this is what would be published.</summary>
    WouldSend,

    /// <summary>Not redrivable (no origin subject, an origin subject of another tenant or an invalid one); left parked.</summary>
    Skipped,

    /// <summary>Publishing or removing failed; left parked (a redrive again is safe).</summary>
    Failed,
}

/// <summary>One parked event's redrive.</summary>
/// <param name="Letter">The parked event.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Subject">Where it was (or would be) published, or null.</param>
/// <param name="Headers">The headers it was (or would be) published with, <c>Nats-Msg-Id</c> included.</param>
/// <param name="EventSequence">Its sequence in the events stream when published (or found there), else null.</param>
/// <param name="Detail">Why it was skipped or failed, or what was found.</param>
public sealed record Redriven(DeadLetter Letter, RedriveOutcome Outcome, string? Subject, ImmutableSortedDictionary<string, ImmutableArray<string>> Headers,
    ulong? EventSequence, string? Detail);

/// <summary>The result of a redrive or purge over a filter.</summary>
/// <param name="Items">What happened to each matching event, in stream order.</param>
/// <param name="ToSeq">The last sequence covered.</param>
/// <param name="Next">Where further matches start (the limit was reached), or null.</param>
public sealed record DeadLetterBatch<T>(ImmutableArray<T> Items, ulong ToSeq, ulong? Next);

/// <summary>
/// The dead-letter stream as operators use it: list and show parked events, redrive them to their origin subject, purge
/// them. Reads go through a pull consumer of their own with one filter subject (never an ordered consumer: nats-server
/// 2.9 ignores the filter of those), deleted afterwards, and stop at the stream's last sequence when they started.
/// </summary>
/// <remarks>
/// <para>A redrive publishes the parked body to its origin subject with the origin's headers, <see cref="RunnerHeaders.RedriveSaga"/>
/// (the saga that parked it, so the tenant's other sagas skip it) and the <c>Nats-Msg-Id</c> <see cref="DeadLetter.RedriveMsgId"/>,
/// and only then deletes the entry. A crash in between leaves the entry parked; redriving it again never applies it twice:</para>
/// <list type="bullet">
/// <item>within the stream's duplicate window JetStream drops the second publish (it answers "duplicate");</item>
/// <item>an entry parked longer ago than half that window is first looked for in the events stream: its origin subject is
/// read (headers only) from the origin sequence on for a message with that <c>Nats-Msg-Id</c>, up to where the window
/// takes over; one found is not published again;</item>
/// <item>and the saga instance's dedupe marker recognises the <c>Nats-Msg-Id</c> of a redrive it applied.</item>
/// </list>
/// </remarks>
public sealed class DeadLetters
{
    private readonly INatsJSContext _js;
    private readonly NatsSettings _settings;

    /// <summary>Works on <paramref name="settings"/>' dead-letter and events streams.</summary>
    public DeadLetters(INatsJSContext js, NatsSettings settings)
    {
        _js = js ?? throw new ArgumentNullException(nameof(js));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
    }

    /// <summary>Called after a redrive's publish and before its delete (specs simulate a crash there).</summary>
    internal Func<DeadLetter, Task>? AfterPublish { get; init; }

    /// <summary>The parked events matching <paramref name="filter"/>, at most <paramref name="limit"/>, in stream order.</summary>
    public async Task<DeadLetterPage> ListAsync(DeadLetterFilter filter, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        filter.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var last = (await _js.GetStreamAsync(_settings.DeadLetterStream, cancellationToken: cancellationToken).ConfigureAwait(false)).Info.State.LastSeq;
        var to = Math.Min(filter.ToSeq ?? last, last);
        var items = ImmutableArray.CreateBuilder<DeadLetter>();
        if (filter.FromSeq > to) return new DeadLetterPage(items.ToImmutable(), to, null);

        var subject = filter.Tenant is null && filter.Saga is null
            ? _settings.Subjects.AllDeadLetters
            : _settings.Subjects.DeadLetter(filter.Tenant ?? "*", filter.Saga ?? "*");
        await foreach (var msg in ReadAsync(_settings.DeadLetterStream, subject, filter.FromSeq, to, headersOnly: false, cancellationToken).ConfigureAwait(false))
        {
            if (DeadLetter.From(msg, _settings.Subjects) is not { } letter) continue;
            if (filter.Kind is { } kind && !string.Equals(letter.Kind, kind, StringComparison.OrdinalIgnoreCase)) continue;
            if (items.Count == limit) return new DeadLetterPage(items.ToImmutable(), to, letter.Sequence);
            items.Add(letter);
        }

        return new DeadLetterPage(items.ToImmutable(), to, null);
    }

    /// <summary>The parked event at dead-letter stream sequence <paramref name="sequence"/>, or null.</summary>
    public async Task<DeadLetter?> GetAsync(ulong sequence, CancellationToken cancellationToken)
    {
        if (sequence < 1) return null;
        var page = await ListAsync(new DeadLetterFilter { FromSeq = sequence, ToSeq = sequence }, 1, cancellationToken).ConfigureAwait(false);
        return page.Items.IsEmpty ? null : page.Items[0];
    }

    /// <summary>
    /// Redrives the parked events matching <paramref name="filter"/> (at most <paramref name="limit"/>), one after the other:
    /// each is published to its origin subject and then removed. A dry run publishes and removes nothing and says what it
    /// would send. A failed publish stops the batch (the failed entry and the rest stay parked).
    /// </summary>
    /// <param name="filter">Which parked events.</param>
    /// <param name="dryRun">Publish and remove nothing.</param>
    /// <param name="limit">At most this many.</param>
    /// <param name="sagaRuns">Whether a saga of that name runs (an event parked by one that no longer runs is skipped: nothing would apply it).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public async Task<DeadLetterBatch<Redriven>> RedriveAsync(DeadLetterFilter filter, bool dryRun, int limit, Func<string, bool> sagaRuns,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sagaRuns);
        var page = await ListAsync(filter, limit, cancellationToken).ConfigureAwait(false);
        var results = ImmutableArray.CreateBuilder<Redriven>(page.Items.Length);
        foreach (var letter in page.Items)
        {
            var result = await RedriveOneAsync(letter, dryRun, sagaRuns, cancellationToken).ConfigureAwait(false);
            results.Add(result);
            if (result.Outcome == RedriveOutcome.Failed) return new DeadLetterBatch<Redriven>(results.ToImmutable(), page.ToSeq, letter.Sequence);
        }

        return new DeadLetterBatch<Redriven>(results.ToImmutable(), page.ToSeq, page.Next);
    }

    /// <summary>Deletes the parked events matching <paramref name="filter"/> (at most <paramref name="limit"/>); a dry run only lists them.</summary>
    public async Task<DeadLetterBatch<DeadLetter>> PurgeAsync(DeadLetterFilter filter, bool dryRun, int limit, CancellationToken cancellationToken)
    {
        var page = await ListAsync(filter, limit, cancellationToken).ConfigureAwait(false);
        if (!dryRun)
        {
            foreach (var letter in page.Items) await DeleteAsync(letter.Sequence, cancellationToken).ConfigureAwait(false);
        }

        return new DeadLetterBatch<DeadLetter>(page.Items, page.ToSeq, page.Next);
    }

    private async Task<Redriven> RedriveOneAsync(DeadLetter letter, bool dryRun, Func<string, bool> sagaRuns, CancellationToken cancellationToken)
    {
        var headers = letter.OriginHeaders;
        if (NotRedrivable(letter, sagaRuns) is { } why) return new Redriven(letter, RedriveOutcome.Skipped, letter.OriginSubject, headers, null, why);

        var builder = headers.ToBuilder();
        builder[RunnerHeaders.MsgId] = [letter.RedriveMsgId];
        builder[RunnerHeaders.RedrivenFrom] = [letter.Sequence.ToString(CultureInfo.InvariantCulture)];
        // An event no saga handled goes to whichever saga handles it now; any other goes back to the saga that parked it only.
        if (letter.Saga != UnroutedToken) builder[RunnerHeaders.RedriveSaga] = [letter.Saga];
        headers = builder.ToImmutable();
        var subject = letter.OriginSubject!;
        if (dryRun) return new Redriven(letter, RedriveOutcome.WouldSend, subject, headers, null, null);

        ulong eventSeq;
        RedriveOutcome outcome;
        string? detail = null;
        try
        {
            if (await FindEarlierRedriveAsync(letter, subject, cancellationToken).ConfigureAwait(false) is { } found)
            {
                (eventSeq, outcome, detail) = (found, RedriveOutcome.AlreadySent, "found in the events stream");
            }
            else
            {
                var nats = new NatsHeaders();
                foreach (var (k, v) in headers) if (k != RunnerHeaders.MsgId) nats[k] = v.ToArray();
                var ack = await _js.PublishAsync(subject, letter.Payload.ToArray(), opts: new NatsJSPubOpts { MsgId = letter.RedriveMsgId }, headers: nats,
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                if (ack.Error is null && ack.Duplicate)
                {
                    (outcome, detail) = (RedriveOutcome.AlreadySent, "JetStream already holds this Nats-Msg-Id (duplicate window)");
                }
                else
                {
                    ack.EnsureSuccess();
                    outcome = RedriveOutcome.Sent;
                }

                eventSeq = ack.Seq;
            }

            if (AfterPublish is { } hook) await hook(letter).ConfigureAwait(false);
            await DeleteAsync(letter.Sequence, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return new Redriven(letter, RedriveOutcome.Failed, subject, headers, null, e.Message);
        }

        return new Redriven(letter, outcome, subject, headers, eventSeq, detail);
    }

    /// <summary>Dead-letter saga token of events no saga handles (<c>Runner.Actors</c> parks them under it).</summary>
    private const string UnroutedToken = "_unrouted";

    /// <summary>Why <paramref name="letter"/> cannot go back where it came from, or null.</summary>
    private string? NotRedrivable(DeadLetter letter, Func<string, bool> sagaRuns)
    {
        if (letter.OriginSubject is not { } origin) return $"it has no {RunnerHeaders.OriginSubject} header";
        if (!_settings.Subjects.TryParseEvent(origin, out var tenant, out _)) return $"its origin subject {origin} is not an event subject of {_settings.Subjects.Prefix}";
        if (tenant != letter.Tenant) return $"its origin subject {origin} is not of tenant {letter.Tenant} (the intake parked it: the tenant token is invalid)";
        if (letter.Saga != UnroutedToken && !sagaRuns(letter.Saga)) return $"saga {letter.Saga}, which parked it, does not run on this cluster";
        return null;
    }

    /// <summary>
    /// The events stream sequence of an earlier redrive of <paramref name="letter"/> that JetStream's duplicate window may no
    /// longer remember, or null. Only messages older than half the window are read: a younger one is dropped by JetStream
    /// when published again (half, so that clocks of nodes and servers may differ and a long batch may take its time).
    /// </summary>
    private async Task<ulong?> FindEarlierRedriveAsync(DeadLetter letter, string subject, CancellationToken cancellationToken)
    {
        var remembered = DateTimeOffset.UtcNow - _settings.DuplicateWindow / 2;
        // A redrive of it is younger than the entry itself.
        if (letter.ParkedAt > remembered) return null;
        var msgId = letter.RedriveMsgId;
        var from = (letter.OriginSequence ?? 0) + 1;
        var last = (await _js.GetStreamAsync(_settings.EventsStream, cancellationToken: cancellationToken).ConfigureAwait(false)).Info.State.LastSeq;
        await foreach (var msg in ReadAsync(_settings.EventsStream, subject, from, last, headersOnly: true, cancellationToken).ConfigureAwait(false))
        {
            if (msg.Metadata?.Timestamp > remembered) break;
            if (msg.Headers is { } h && h.TryGetValue(RunnerHeaders.MsgId, out var id) && id.ToString() == msgId) return msg.Metadata?.Sequence.Stream;
        }

        return null;
    }

    private async Task DeleteAsync(ulong sequence, CancellationToken cancellationToken)
    {
        try
        {
            await _js.DeleteMessageAsync(_settings.DeadLetterStream, new StreamMsgDeleteRequest { Seq = sequence, NoErase = true }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404 || e.Error.ErrCode == 10057)
        {
            // Removed meanwhile (another redrive or purge): the goal is reached.
        }
    }

    /// <summary>
    /// The messages of <paramref name="stream"/> on <paramref name="filterSubject"/> from <paramref name="fromSeq"/> to
    /// <paramref name="toSeq"/>, through a pull consumer of their own (one filter subject, no acks, in memory) deleted afterwards.
    /// </summary>
    private async IAsyncEnumerable<INatsJSMsg<byte[]>> ReadAsync(string stream, string filterSubject, ulong fromSeq, ulong toSeq, bool headersOnly,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (fromSeq > toSeq) yield break;
        var name = "runner-dlq-" + Guid.NewGuid().ToString("N")[..12];
        var consumer = await _js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(name)
        {
            FilterSubject = filterSubject,
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = fromSeq,
            HeadersOnly = headersOnly,
            InactiveThreshold = _settings.ReaderInactiveThreshold,
            MemStorage = true,
            Description = "runner dead-letter reader",
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                var any = false;
                await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = _settings.PullBatch }, cancellationToken: cancellationToken)
                                   .ConfigureAwait(false))
                {
                    any = true;
                    if ((msg.Metadata?.Sequence.Stream ?? 0) > toSeq) yield break;
                    yield return msg;
                }

                if (any) continue;
                await consumer.RefreshAsync(cancellationToken).ConfigureAwait(false);
                if (consumer.Info.NumPending == 0) yield break;
            }
        }
        finally
        {
            try
            {
                await _js.DeleteConsumerAsync(stream, name, CancellationToken.None).ConfigureAwait(false);
            }
            catch (NatsJSApiException)
            {
                // Gone already; its inactivity threshold removes it otherwise.
            }
        }
    }
}
