using Runner.Sagas;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream.Models;
using Runner.Actors;
using Runner.Nats;

namespace Runner.Host;

/// <summary>
/// The dead letters on the admin endpoint (behind its token like every <c>/admin</c> route): <c>GET /admin/dlq</c> (totals),
/// <c>GET /admin/dlq/events</c> (a page of parked events), <c>GET /admin/dlq/events/{seq}</c> (one, whole),
/// <c>POST /admin/dlq/redrive</c> and <c>POST /admin/dlq/purge</c>. Any node answers: the dead letters are a stream.
/// </summary>
internal static class DeadLetterApi
{
    private const int DefaultPage = 50;
    private const int MaxPage = 500;
    private const int DefaultBatch = 100;
    private const int MaxBatch = 1000;

    /// <summary>Characters of the payload a listing shows.</summary>
    private const int PreviewLength = 120;

    /// <summary>Bytes of the payload a single event shows.</summary>
    private const int MaxShownPayload = 64 * 1024;

    public static void Map(RouteGroupBuilder admin)
    {
        admin.MapGet("/dlq", Totals);
        admin.MapGet("/dlq/events", List);
        admin.MapGet("/dlq/events/{seq}", Show);
        admin.MapPost("/dlq/redrive", Redrive);
        admin.MapPost("/dlq/purge", Purge);
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    private static async Task<IResult> Guarded(Func<Task<IResult>> work)
    {
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
        catch (NatsException e)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, "NATS did not answer: " + e.Message);
        }
    }

    private static Task<IResult> Totals(NatsEdge nats, CancellationToken ct) => Guarded(async () =>
    {
        var stream = await nats.JetStream.GetStreamAsync(nats.Settings.DeadLetterStream,
            new StreamInfoRequest { SubjectsFilter = nats.Settings.Subjects.AllDeadLetters }, ct).ConfigureAwait(false);
        var subjects = stream.Info.State.Subjects ?? new Dictionary<string, long>();
        var byTenant = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (subject, count) in subjects)
        {
            if (nats.Settings.Subjects.TryParseDeadLetter(subject, out var tenant, out _))
                byTenant[tenant] = byTenant.GetValueOrDefault(tenant) + count;
        }

        return Results.Json(new
        {
            total = stream.Info.State.Messages,
            bySubject = subjects.OrderBy(s => s.Key, StringComparer.Ordinal).ToDictionary(s => s.Key, s => s.Value),
            byTenant,
            firstSeq = stream.Info.State.FirstSeq,
            lastSeq = stream.Info.State.LastSeq,
        });
    });

    /// <summary><c>GET /admin/dlq/events?tenant=&amp;saga=&amp;kind=&amp;from_seq=&amp;to_seq=&amp;seq=&amp;limit=</c>.</summary>
    private static Task<IResult> List(HttpRequest http, NatsEdge nats, CancellationToken ct) => Guarded(async () =>
    {
        var request = DeadLetterRequest.FromQuery(http.Query, DefaultPage, MaxPage);
        var page = await nats.DeadLetters.ListAsync(request.Filter, request.Limit, ct).ConfigureAwait(false);
        if (page.Items.IsEmpty && request.Filter.IsSingle) return NotParked(request.Filter);
        return Results.Json(new
        {
            fromSeq = request.Filter.FromSeq,
            toSeq = page.ToSeq,
            next = page.Next,
            events = page.Items.Select(Summary),
        });
    });

    /// <summary><c>GET /admin/dlq/events/{seq}</c>: one parked event with every header, its payload and what a redrive would send.</summary>
    private static Task<IResult> Show(string seq, NatsEdge nats, SagaCatalog catalog, CancellationToken ct) => Guarded(async () =>
    {
        if (DeadLetterRequest.ParseSequence(seq) is not { } sequence)
            return Error(StatusCodes.Status400BadRequest, $"'{seq}' is not a dead-letter stream sequence (an integer of at least 1)");
        var batch = await nats.DeadLetters.RedriveAsync(new DeadLetterFilter { FromSeq = sequence, ToSeq = sequence }, dryRun: true, 1, SagaRuns(catalog), ct)
            .ConfigureAwait(false);
        if (batch.Items.IsEmpty) return NotParked(new DeadLetterFilter { FromSeq = sequence, ToSeq = sequence });
        var redrive = batch.Items[0];
        var letter = redrive.Letter;
        var shown = letter.Payload.Length > MaxShownPayload ? letter.Payload[..MaxShownPayload] : letter.Payload;
        var text = Utf8(shown.Span);
        return Results.Json(new
        {
            seq = letter.Sequence,
            subject = letter.Subject,
            tenant = letter.Tenant,
            saga = letter.Saga,
            kind = letter.Kind,
            reason = letter.Reason,
            originSubject = letter.OriginSubject,
            originSeq = letter.OriginSequence,
            originMsgId = letter.OriginMsgId,
            parkedAt = letter.ParkedAt,
            node = letter.Header(RunnerHeaders.Node),
            size = letter.Payload.Length,
            headers = Headers(letter.Headers),
            payload = text,
            payloadBase64 = text is null ? Convert.ToBase64String(shown.Span) : null,
            payloadTruncated = shown.Length < letter.Payload.Length,
            redrive = new
            {
                possible = redrive.Outcome == RedriveOutcome.WouldSend,
                subject = redrive.Subject,
                headers = Headers(redrive.Headers),
                detail = redrive.Detail,
            },
        });
    });

    /// <summary>
    /// <c>POST /admin/dlq/redrive</c> with <c>{"tenant", "saga", "kind", "from_seq", "to_seq", "seq", "limit", "dry_run"}</c> (all
    /// optional): each matching parked event is published to its origin subject and removed; a dry run says what would be sent.
    /// </summary>
    private static Task<IResult> Redrive(HttpRequest http, NatsEdge nats, SagaCatalog catalog, CancellationToken ct) => Guarded(async () =>
    {
        var request = await DeadLetterRequest.ReadAsync(http.Body, DefaultBatch, MaxBatch, ct).ConfigureAwait(false);
        var batch = await nats.DeadLetters.RedriveAsync(request.Filter, request.DryRun, request.Limit, SagaRuns(catalog), ct).ConfigureAwait(false);
        if (batch.Items.IsEmpty && request.Filter.IsSingle) return NotParked(request.Filter);
        var counts = Enum.GetValues<RedriveOutcome>().ToDictionary(Outcome, o => batch.Items.Count(r => r.Outcome == o));
        return Results.Json(new
        {
            dryRun = request.DryRun,
            fromSeq = request.Filter.FromSeq,
            toSeq = batch.ToSeq,
            next = batch.Next,
            counts,
            events = batch.Items.Select(r => new
            {
                seq = r.Letter.Sequence,
                tenant = r.Letter.Tenant,
                saga = r.Letter.Saga,
                kind = r.Letter.Kind,
                outcome = Outcome(r.Outcome),
                subject = r.Subject,
                msgId = r.Headers.TryGetValue(RunnerHeaders.MsgId, out var id) ? id[0] : null,
                eventSeq = r.EventSequence,
                detail = r.Detail,
                headers = request.DryRun ? Headers(r.Headers) : null,
                preview = Preview(r.Letter.Payload.Span),
            }),
        });
    });

    /// <summary><c>POST /admin/dlq/purge</c> with the same fields: deletes the matching parked events (a dry run lists them).</summary>
    private static Task<IResult> Purge(HttpRequest http, NatsEdge nats, CancellationToken ct) => Guarded(async () =>
    {
        var request = await DeadLetterRequest.ReadAsync(http.Body, DefaultBatch, MaxBatch, ct).ConfigureAwait(false);
        var batch = await nats.DeadLetters.PurgeAsync(request.Filter, request.DryRun, request.Limit, ct).ConfigureAwait(false);
        if (batch.Items.IsEmpty && request.Filter.IsSingle) return NotParked(request.Filter);
        return Results.Json(new
        {
            dryRun = request.DryRun,
            fromSeq = request.Filter.FromSeq,
            toSeq = batch.ToSeq,
            next = batch.Next,
            deleted = request.DryRun ? 0 : batch.Items.Length,
            events = batch.Items.Select(Summary),
        });
    });

    private static Func<string, bool> SagaRuns(SagaCatalog catalog) => saga => catalog.TryGet(saga, out _);

    private static IResult NotParked(DeadLetterFilter filter)
    {
        var narrowed = filter.Tenant is not null || filter.Saga is not null || filter.Kind is not null;
        return Error(StatusCodes.Status404NotFound,
            $"no parked event at dead-letter stream sequence {filter.FromSeq}{(narrowed ? " matches the filter" : "")} (redriven, purged, or never there)");
    }

    private static string Outcome(RedriveOutcome outcome) => outcome switch
    {
        RedriveOutcome.Sent => "sent",
        RedriveOutcome.AlreadySent => "already_sent",
        RedriveOutcome.WouldSend => "would_send",
        RedriveOutcome.Skipped => "skipped",
        _ => "failed",
    };

    private static object Summary(DeadLetter l) => new
    {
        seq = l.Sequence,
        subject = l.Subject,
        tenant = l.Tenant,
        saga = l.Saga,
        kind = l.Kind,
        reason = l.Reason,
        originSubject = l.OriginSubject,
        originSeq = l.OriginSequence,
        parkedAt = l.ParkedAt,
        size = l.Payload.Length,
        preview = Preview(l.Payload.Span),
    };

    /// <summary>Header values as they are: one string, or an array when the header repeats.</summary>
    private static Dictionary<string, object> Headers(IEnumerable<KeyValuePair<string, System.Collections.Immutable.ImmutableArray<string>>> headers) =>
        headers.ToDictionary(h => h.Key, h => h.Value.Length == 1 ? (object)h.Value[0] : h.Value.ToArray(), StringComparer.Ordinal);

    /// <summary>The start of the payload as text (binary shown as base64), one line.</summary>
    private static string Preview(ReadOnlySpan<byte> payload)
    {
        var head = payload.Length > PreviewLength * 4 ? payload[..(PreviewLength * 4)] : payload;
        var text = Utf8(head) ?? "base64:" + Convert.ToBase64String(head.Length > PreviewLength ? head[..PreviewLength] : head);
        text = text.ReplaceLineEndings(" ");
        return text.Length > PreviewLength ? text[..PreviewLength] + "…" : text;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The bytes as UTF-8 text, or null when they are not (a cut in the middle of a character counts as text).</summary>
    private static string? Utf8(ReadOnlySpan<byte> bytes)
    {
        for (var cut = 0; cut < 4 && cut <= bytes.Length; cut++)
        {
            try
            {
                return StrictUtf8.GetString(bytes[..(bytes.Length - cut)]);
            }
            catch (DecoderFallbackException)
            {
                // Try without the last bytes: a preview may end inside a character.
            }
        }

        return null;
    }
}
