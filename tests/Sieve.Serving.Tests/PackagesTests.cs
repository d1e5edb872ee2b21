using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace Sieve.Serving.Tests;

/// <summary>
/// The NuGet packages as a consumer gets them. scripts/pack-sample.sh packs Sieve.slnx into artifacts/packages (a
/// build of its own in artifacts/build, so it does not touch the bin/obj this test run uses), restores
/// samples/Sieve.Sample from that feed into a fresh packages folder and runs it on stories260K: the engine, the
/// IChatClient (reply and streamed reply) and the DI registration. About 30 s when warm, 45 s cold on 2 cores,
/// so it runs in the suite. Then this test reads the packed files itself: exactly two packages, their nuspecs,
/// READMEs, LICENSE, and the chat page embedded in Sieve.Serving.dll byte for byte as in src/Sieve.Serving/wwwroot.
/// </summary>
public class PackagesTests
{
    static string Root => ServerProcess.RepoRoot;

    // The version the projects under test were built with (VersionPrefix in Directory.Build.props).
    static readonly string Version = typeof(SieveModel).Assembly.GetName().Version!.ToString(3);

    [Fact]
    public async Task PackedPackagesServeTheSample()
    {
        var (status, output) = await RunScript(TimeSpan.FromMinutes(10));
        Assert.True(status == 0, $"scripts/pack-sample.sh exited with {status}:\n{output}");
        Assert.Contains("pack-sample: OK", output);
        // The sample's own lines, as the script relayed them: the packed version ran and every path answered.
        Assert.Contains($"  | packages: Sieve {Version}", output);
        foreach (var key in new[] { "engine", "reply", "stream", "di" })
            Assert.Matches($@"(?m)^  \| {key}: \S", output);

        var feed = Path.Combine(Root, "artifacts", "packages");
        Assert.Equal([$"Sieve.{Version}.nupkg", $"Sieve.Serving.{Version}.nupkg"],
            Directory.GetFiles(feed, $"*.{Version}.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal));

        using (var engine = ZipFile.OpenRead(Path.Combine(feed, $"Sieve.{Version}.nupkg")))
        {
            var nuspec = Nuspec(engine, "Sieve");
            Assert.Equal(["Google.Protobuf", "Microsoft.ML.Tokenizers", "System.Numerics.Tensors"], Dependencies(nuspec).Keys.Order(StringComparer.Ordinal));
            Assert.DoesNotContain(nuspec.Descendants(), e => e.Name.LocalName == "frameworkReference");
            CommonMetadata(engine, nuspec, "Sieve");
            Assert.Contains("SieveModel.Load", Text(engine, "README.md"));
            Assert.Equal(["lib/net10.0/Sieve.dll"], LibFiles(engine));
        }

        using var serving = ZipFile.OpenRead(Path.Combine(feed, $"Sieve.Serving.{Version}.nupkg"));
        {
            var nuspec = Nuspec(serving, "Sieve.Serving");
            var deps = Dependencies(nuspec);
            Assert.Equal(["Microsoft.Extensions.AI.Abstractions", "Sieve"], deps.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(Version, deps["Sieve"]);
            Assert.Equal(["Microsoft.AspNetCore.App"], nuspec.Descendants().Where(e => e.Name.LocalName == "frameworkReference").Select(e => (string)e.Attribute("name")!));
            Assert.Contains("ASP.NET Core shared framework", (string)nuspec.Descendants().Single(e => e.Name.LocalName == "description"));
            CommonMetadata(serving, nuspec, "Sieve.Serving");
            var readme = Text(serving, "README.md");
            Assert.Contains("new SieveChatClient(", readme);
            Assert.Contains("AddSieveChatClient(", readme);
            Assert.Contains("Microsoft.AspNetCore.App", readme);
            Assert.Equal(["lib/net10.0/Sieve.Serving.dll"], LibFiles(serving));
        }

        // The chat page travels inside the dll as manifest resources, identical to the checked-in files.
        var dll = Bytes(serving, "lib/net10.0/Sieve.Serving.dll");
        using var pe = new PEReader(new MemoryStream(dll));
        var metadata = pe.GetMetadataReader();
        var resources = metadata.ManifestResources.Select(h => metadata.GetManifestResource(h))
            .ToDictionary(r => metadata.GetString(r.Name), r => r.Offset);
        var section = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "src", "Sieve.Serving", "wwwroot")))
        {
            string name = "wwwroot/" + Path.GetFileName(file);
            Assert.True(resources.TryGetValue(name, out long offset), $"{name} is not embedded; resources: {string.Join(", ", resources.Keys)}");
            // A resource is a 4-byte little-endian length, then its bytes.
            var reader = section.GetReader((int)offset, section.Length - (int)offset);
            int length = reader.ReadInt32();
            Assert.Equal(File.ReadAllBytes(file), reader.ReadBytes(length));
        }
    }

    /// <summary>The sample's default package version follows the repository's, so `dotnet run` there restores what `dotnet pack` makes.</summary>
    [Fact]
    public void SampleDefaultsToThePackagesVersion()
    {
        var project = XDocument.Load(Path.Combine(Root, "samples", "Sieve.Sample", "Sieve.Sample.csproj"));
        Assert.Equal(Version, (string?)project.Descendants("SieveVersion").Single());
        Assert.Contains(project.Descendants("PackageReference"), r => (string?)r.Attribute("Include") == "Sieve.Serving");
        Assert.DoesNotContain(project.Descendants(), e => e.Name == "ProjectReference");
        Assert.DoesNotContain("Sieve.Sample", File.ReadAllText(Path.Combine(Root, "Sieve.slnx")));
    }

    static void CommonMetadata(ZipArchive package, XElement nuspec, string id)
    {
        string Field(string name) => (string)nuspec.Descendants().Single(e => e.Name.LocalName == name);
        Assert.Equal(id, Field("id"));
        Assert.Equal(Version, Field("version"));
        Assert.Equal("Sieve contributors", Field("authors"));
        Assert.Equal("MIT", Field("license"));
        Assert.Equal("README.md", Field("readme"));
        Assert.Equal(File.ReadAllText(Path.Combine(Root, "LICENSE")), Text(package, "LICENSE"));
    }

    static XElement Nuspec(ZipArchive package, string id) => XDocument.Parse(Text(package, id + ".nuspec")).Root!;

    /// <summary>Dependency id → version of the net10.0 group (the only one).</summary>
    static Dictionary<string, string> Dependencies(XElement nuspec)
    {
        var groups = nuspec.Descendants().Where(e => e.Name.LocalName == "dependencies").Elements().ToList();
        Assert.Equal(["net10.0"], groups.Select(g => (string)g.Attribute("targetFramework")!));
        return groups[0].Elements().ToDictionary(d => (string)d.Attribute("id")!, d => (string)d.Attribute("version")!);
    }

    static string[] LibFiles(ZipArchive package) =>
        package.Entries.Select(e => e.FullName).Where(n => n.StartsWith("lib/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();

    static string Text(ZipArchive package, string entry) => System.Text.Encoding.UTF8.GetString(Bytes(package, entry)).TrimStart('\uFEFF');

    static byte[] Bytes(ZipArchive package, string entry)
    {
        var e = package.GetEntry(entry);
        Assert.True(e != null, $"the package has no {entry}; it holds {string.Join(", ", package.Entries.Select(x => x.FullName))}");
        using var s = e.Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>
    /// Runs the script with its output in a file, not a pipe: the dotnet commands inside may leave build servers
    /// running, and those would hold a pipe open (and this test waiting) long after the script ends.
    /// </summary>
    static async Task<(int Status, string Output)> RunScript(TimeSpan limit)
    {
        var log = Path.Combine(Path.GetTempPath(), $"sieve-pack-sample-{Guid.NewGuid():N}.log");
        try
        {
            var psi = new ProcessStartInfo("bash") { UseShellExecute = false, WorkingDirectory = Root };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec scripts/pack-sample.sh >\"$0\" 2>&1");
            psi.ArgumentList.Add(log);
            // The test host's MSBuild variables (set by `dotnet test`) would steer the script's own dotnet commands.
            foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
                psi.Environment.Remove(key);
            using var process = Process.Start(psi)!;
            using var timeout = new CancellationTokenSource(limit);
            try { await process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"(killed after {limit.TotalMinutes} min)\n" + File.ReadAllText(log));
            }
            return (process.ExitCode, File.ReadAllText(log));
        }
        finally { File.Delete(log); }
    }
}
