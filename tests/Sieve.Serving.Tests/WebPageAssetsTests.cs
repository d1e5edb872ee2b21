using System.Reflection;
using System.Text.RegularExpressions;

namespace Sieve.Serving.Tests;

/// <summary>
/// The chat page's static files as <c>sieve serve</c> gets them: embedded in Sieve.Serving under "wwwroot/…",
/// referring only to each other (nothing downloads at run time), with the ids scripts/webui-check.sh drives, and
/// model text never written as HTML. The page's behaviour in a real browser is scripts/webui-check.sh's job.
/// </summary>
public class WebPageAssetsTests
{
    static readonly Assembly Serving = Assembly.Load("Sieve.Serving");
    static readonly string[] Files = ["index.html", "app.js", "style.css"];

    static string Read(string name)
    {
        using var s = Serving.GetManifestResourceStream("wwwroot/" + name);
        Assert.True(s != null, $"resource wwwroot/{name} is not embedded; resources: {string.Join(", ", Serving.GetManifestResourceNames())}");
        return new StreamReader(s).ReadToEnd();
    }

    [Fact]
    public void EveryFileIsEmbeddedUnderWwwroot()
    {
        foreach (var f in Files) Assert.NotEmpty(Read(f));
    }

    [Fact]
    public void PageRefersOnlyToItsOwnFiles()
    {
        foreach (var f in Files)
        {
            // An absolute or protocol-relative address would be a download at run time (a CDN, a web font).
            var external = Regex.Match(Read(f), @"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", RegexOptions.IgnoreCase);
            Assert.False(external.Success, $"{f} refers to {external.Value}");
        }
        var html = Read("index.html");
        var refs = Regex.Matches(html, @"(?:src|href)=""([^""]+)""").Select(m => m.Groups[1].Value)
            .Where(r => !r.StartsWith("data:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["style.css", "app.js"], refs);
    }

    [Fact]
    public void PageHasTheIdsTheBrowserCheckDrives()
    {
        var html = Read("index.html");
        foreach (var id in new[] { "model", "messages", "prompt", "send", "stop", "error", "stats", "system", "temperature",
                                   "max-tokens", "seed", "ignore-eos", "kv", "budget", "pop", "sparsity", "api-key" })
            Assert.Contains($"id=\"{id}\"", html);
        // Every input is labelled: a <label for> names each id of an input, select or textarea.
        foreach (Match m in Regex.Matches(html, @"<(?:input|select|textarea)[^>]*\bid=""([^""]+)"""))
            Assert.Contains($"for=\"{m.Groups[1].Value}\"", html);
    }

    [Fact]
    public void ScriptNeverWritesHtml()
    {
        // Model output is untrusted text: it reaches the page through textContent only.
        var js = Read("app.js");
        foreach (var sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(" })
            Assert.DoesNotContain(sink, js);
    }
}
