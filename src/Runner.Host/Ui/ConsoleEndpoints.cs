using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using Runner.Nats;

namespace Runner.Host.Ui;

/// <summary>
/// The operator console at <c>/ui</c>: one page shell and a small script (<c>Assets/console.js</c>, embedded in this
/// assembly: nothing is loaded from outside the node) that renders the cluster, tenants, instances, dead letters, replays and
/// the drain from the node's own <c>/admin</c> API. With admin tokens, a browser signs in at <c>/ui/login</c> with the read
/// or the operator token (<see cref="ConsoleSessions"/>); every page and every API call without a valid session is refused.
/// <c>/</c> leads to the console.
/// </summary>
internal static class ConsoleEndpoints
{
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly Dictionary<string, (string ContentType, byte[] Body, string ETag)> Assets = LoadAssets();

    public static void Map(WebApplication app, AdminSettings settings, ConsoleSessions sessions)
    {
        app.MapGet("/", () => Results.Redirect("/ui/"));
        app.MapGet("/ui/login", (HttpContext http, string? next, string? error) =>
            !settings.RequiresToken ? Results.Redirect("/ui/") : Page(http, LoginPage(Next(next), error), StatusCodes.Status200OK));
        app.MapPost("/ui/login", async (HttpContext http) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
            var next = Next(form["next"]);
            var token = form["token"].ToString().Trim();
            var access = token.Length == 0 ? AdminSettings.Access.None : settings.AccessOf("Bearer " + token);
            if (access == AdminSettings.Access.None)
            {
                return Page(http, LoginPage(next, token.Length == 0
                    ? "Enter the read or the operator token of this node."
                    : "That token is neither this node's read token nor its operator token."), StatusCodes.Status401Unauthorized);
            }

            var (value, nonce, expires) = sessions.Issue(access);
            http.Response.Cookies.Append(ConsoleSessions.Cookie, value, Cookie(settings, expires, httpOnly: true));
            http.Response.Cookies.Append(ConsoleSessions.CsrfCookie, nonce, Cookie(settings, expires, httpOnly: false));
            return Results.Redirect(next);
        });
        app.MapPost("/ui/logout", (HttpContext http) =>
        {
            http.Response.Cookies.Delete(ConsoleSessions.Cookie, new CookieOptions { Path = "/" });
            http.Response.Cookies.Delete(ConsoleSessions.CsrfCookie, new CookieOptions { Path = "/" });
            return Results.Redirect(settings.RequiresToken ? "/ui/login" : "/ui/");
        });
        app.MapGet("/ui/assets/{name}", (HttpContext http, string name) =>
        {
            if (!Assets.TryGetValue(name, out var asset)) return Results.NotFound();
            http.Response.Headers.CacheControl = "no-cache";
            http.Response.Headers.ETag = asset.ETag;
            if (http.Request.Headers.IfNoneMatch.ToString() == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
            return Results.Bytes(asset.Body, asset.ContentType);
        });
        app.MapGet("/ui/{**path}", (HttpContext http, NatsEdge nats) =>
        {
            var access = AdminSettings.Access.Operate;
            if (settings.RequiresToken)
            {
                if (sessions.Verify(http.Request.Cookies[ConsoleSessions.Cookie]) is not { } session)
                    return Results.Redirect("/ui/login?next=" + Uri.EscapeDataString(http.Request.Path + http.Request.QueryString));
                access = session.Access;
            }

            return Page(http, Shell(nats.Settings.NodeId, access, settings.RequiresToken), StatusCodes.Status200OK);
        });
    }

    /// <summary>Where to go after signing in: a console page, nothing else (no open redirect).</summary>
    private static string Next(string? next) =>
        next is { Length: > 0 } n && n.StartsWith("/ui/", StringComparison.Ordinal) && !n.StartsWith("//", StringComparison.Ordinal) && !n.Contains('\\', StringComparison.Ordinal)
            ? n
            : "/ui/";

    private static CookieOptions Cookie(AdminSettings settings, DateTimeOffset expires, bool httpOnly) => new()
    {
        Path = "/",
        HttpOnly = httpOnly,
        SameSite = SameSiteMode.Strict,
        Secure = settings.UsesHttps,
        Expires = expires,
    };

    private static IResult Page(HttpContext http, string html, int status)
    {
        http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        http.Response.Headers.CacheControl = "no-store";
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    private static string Head(string title) => $"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>{E(title)}</title>
        <link rel="stylesheet" href="/ui/assets/console.css?v={Version("console.css")}">
        </head>
        """;

    private static string Version(string asset) => Assets.TryGetValue(asset, out var a) ? a.ETag.Trim('"')[..12] : "0";

    private static string LoginPage(string next, string? error) => Head("Runner console: sign in") + $"""
        <body class="login">
        <main>
        <h1>Runner console</h1>
        <p>Sign in with this node's read token (RUNNER_ADMIN_READ_TOKEN: look only) or its operator token (RUNNER_ADMIN_OPERATOR_TOKEN: also redrive, purge, replay, drain).</p>
        {(string.IsNullOrEmpty(error) ? "" : $"<p id=\"login-error\" class=\"error\">{E(error)}</p>")}
        <form method="post" action="/ui/login">
        <input type="hidden" name="next" value="{E(next)}">
        <label>Token <input id="token" name="token" type="password" autocomplete="current-password" autofocus required></label>
        <button id="sign-in" type="submit">Sign in</button>
        </form>
        </main>
        </body>
        </html>
        """;

    private static string Shell(string node, AdminSettings.Access access, bool tokens) => Head("Runner console") + $"""
        <body data-node="{E(node)}" data-access="{ConsoleSessions.Name(access)}" data-tokens="{(tokens ? "on" : "off")}">
        <header>
        <a class="brand" href="/ui/">Runner</a>
        <nav>
        <a href="/ui/" data-nav="cluster">Cluster</a>
        <a href="/ui/dlq" data-nav="dlq">Dead letters</a>
        <a href="/ui/replays" data-nav="replays">Replays</a>
        <a href="/ui/drain" data-nav="drain">Drain</a>
        </nav>
        <span class="who">node <b id="node-id">{E(node)}</b> · <span id="access">{(access == AdminSettings.Access.Operate ? "operator" : "read-only")}</span></span>
        {(tokens ? "<form method=\"post\" action=\"/ui/logout\"><button id=\"sign-out\" type=\"submit\">Sign out</button></form>" : "")}
        </header>
        <div id="banner" class="banner" hidden></div>
        <main id="main"><p class="muted">Loading…</p></main>
        <script src="/ui/assets/console.js?v={Version("console.js")}"></script>
        </body>
        </html>
        """;

    private static Dictionary<string, (string ContentType, byte[] Body, string ETag)> LoadAssets()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var assets = new Dictionary<string, (string ContentType, byte[] Body, string ETag)>(StringComparer.Ordinal);
        foreach (var (name, type) in new[] { ("console.js", "text/javascript; charset=utf-8"), ("console.css", "text/css; charset=utf-8") })
        {
            using var stream = assembly.GetManifestResourceStream("Runner.Host.Ui." + name)
                               ?? throw new InvalidOperationException($"the console asset {name} is not embedded in {assembly.GetName().Name}");
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var body = buffer.ToArray();
            assets[name] = (type, body, "\"" + Convert.ToHexString(SHA256.HashData(body))[..32] + "\"");
        }

        return assets;
    }
}
