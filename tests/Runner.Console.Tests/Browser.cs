using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Runner.TestKit;

namespace Runner.Console.Tests;

/// <summary>
/// Headless Chromium driven by chromedriver (Debian's <c>chromium</c> and <c>chromium-driver</c>, or <c>RUNNER_CHROMIUM</c> and
/// <c>RUNNER_CHROMEDRIVER</c>), a laptop-sized window, its own profile; screenshots go to <see cref="ScreenshotDirectory"/>.
/// </summary>
public sealed class Browser : IDisposable
{
    private readonly TempDirectory _profile = new("runner-console-browser");
    private readonly string _baseUrl;

    public Browser(string baseUrl)
    {
        _baseUrl = baseUrl;
        var driver = Environment.GetEnvironmentVariable("RUNNER_CHROMEDRIVER") is { Length: > 0 } d ? d : "/usr/bin/chromedriver";
        var chromium = Environment.GetEnvironmentVariable("RUNNER_CHROMIUM") is { Length: > 0 } c ? c : "/usr/bin/chromium";
        if (!File.Exists(driver) || !File.Exists(chromium))
        {
            throw new InvalidOperationException(
                $"the browser specs need Chromium and chromedriver ({chromium}, {driver}): apt-get install chromium chromium-driver, or set RUNNER_CHROMIUM and RUNNER_CHROMEDRIVER");
        }

        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driver)!, Path.GetFileName(driver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
            "--window-size=1440,900", "--user-data-dir=" + _profile.Path, "--lang=en-US");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(90));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(60);
    }

    public ChromeDriver Driver { get; }

    /// <summary>Where screenshots are saved: <c>RUNNER_CONSOLE_SCREENSHOTS</c> (e.g. <c>docs</c>), else the test output directory.</summary>
    public static string ScreenshotDirectory =>
        Environment.GetEnvironmentVariable("RUNNER_CONSOLE_SCREENSHOTS") is { Length: > 0 } dir
            ? Path.IsPathRooted(dir) ? dir : Path.Combine(RepositoryRoot(), dir)
            : Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>The directory of <c>Runner.Actors.sln</c> above the test's output (a relative screenshot directory is under it).</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runner.Actors.sln"))) return dir.FullName;
        }

        return Directory.GetCurrentDirectory();
    }

    /// <summary>Opens a page of the node and waits until its script has rendered it.</summary>
    public void Open(string path)
    {
        Driver.Navigate().GoToUrl(_baseUrl + path);
        Loaded();
    }

    /// <summary>Waits until the console page has rendered (or the page is not a console page, e.g. the sign-in).</summary>
    public void Loaded() =>
        Until(d => d.FindElements(By.CssSelector("body[data-loaded='true'], body.login")).Count > 0, "the page to render");

    public void SignIn(string token)
    {
        Driver.Navigate().GoToUrl(_baseUrl + "/ui/login");
        if (Driver.FindElements(By.Id("token")).Count == 0) return;
        Driver.FindElement(By.Id("token")).SendKeys(token);
        Driver.FindElement(By.Id("sign-in")).Click();
        Loaded();
    }

    public void SignOut() => Driver.Manage().Cookies.DeleteAllCookies();

    public IWebElement Find(string css) => Until(d => d.FindElements(By.CssSelector(css)).FirstOrDefault(e => e.Displayed), css);

    public string Text(string css) => Find(css).Text;

    /// <summary>Waits until <paramref name="condition"/> holds (the DOM changes as the script renders).</summary>
    public T Until<T>(Func<IWebDriver, T?> condition, string what, TimeSpan? timeout = null)
    {
        var wait = new WebDriverWait(Driver, timeout ?? TimeSpan.FromSeconds(30)) { Message = "waiting for " + what };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        try
        {
            return wait.Until(d => condition(d))!;
        }
        catch (WebDriverTimeoutException e)
        {
            // What the page said: script errors, refused requests.
            var log = string.Join("\n", Driver.Manage().Logs.GetLog(LogType.Browser).Select(l => $"{l.Level}: {l.Message}"));
            var shown = Driver.FindElements(By.TagName("body")).FirstOrDefault()?.Text ?? "";
            throw new WebDriverTimeoutException($"{e.Message} at {Driver.Url}\npage:\n{shown}\nbrowser log:\n{log}", e);
        }
    }

    /// <summary>Reloads the page until <paramref name="condition"/> holds on it: for state that changes on the node, not in the page.</summary>
    public void UntilAfterReload(Func<IWebDriver, bool> condition, string what, TimeSpan? timeout = null) =>
        Until(d =>
        {
            d.Navigate().Refresh();
            Loaded();
            return condition(d);
        }, what, timeout ?? TimeSpan.FromSeconds(60));

    public string Screenshot(string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var path = Path.Combine(ScreenshotDirectory, name + ".png");
        Driver.GetScreenshot().SaveAsFile(path);
        return path;
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        _profile.Dispose();
    }
}
