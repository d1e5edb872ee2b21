using System.Reflection;

namespace Sieve.Tests.Architecture;

/// <summary>
/// The engine assembly (src/Sieve) is the package a .NET user loads to run a model: it must not drag in the
/// plotting (ScottPlot, SkiaSharp, HarfBuzzSharp) or Parquet packages, nor the research project built on top of
/// it, and none of the research namespaces may live inside it (that is what made the namespaces cyclic).
/// </summary>
public class EnginePackageTests
{
    static readonly string[] ForbiddenAssemblies = ["ScottPlot", "SkiaSharp", "HarfBuzzSharp", "Parquet", "Sieve.Research"];
    static readonly string[] ResearchNamespaces = ["Sieve.Analysis", "Sieve.Pruning", "Sieve.Eval"];

    static readonly Assembly Engine = typeof(SieveModel).Assembly;
    static readonly Assembly Research = typeof(Sieve.Pruning.StateReplay).Assembly;

    static bool IsForbidden(AssemblyName name) =>
        ForbiddenAssemblies.Any(f => name.Name == f || name.Name!.StartsWith(f + ".", StringComparison.Ordinal));

    static bool InNamespace(Type t, string ns) =>
        t.Namespace != null && (t.Namespace == ns || t.Namespace.StartsWith(ns + ".", StringComparison.Ordinal));

    [Fact]
    public void EngineReferencesNoPlottingParquetOrResearchAssembly()
    {
        var direct = Engine.GetReferencedAssemblies().Where(IsForbidden).Select(n => n.Name).ToList();
        Assert.Empty(direct);
    }

    [Fact]
    public void NothingTheEngineLoadsReferencesThem()
    {
        // The transitive closure: every assembly reachable from the engine's references, loaded by name.
        var seen = new HashSet<string>(StringComparer.Ordinal) { Engine.GetName().Name! };
        var queue = new Queue<Assembly>([Engine]);
        var forbidden = new List<string>();
        while (queue.Count > 0)
        {
            var from = queue.Dequeue();
            foreach (var name in from.GetReferencedAssemblies())
            {
                if (!seen.Add(name.Name!)) continue;
                if (IsForbidden(name)) { forbidden.Add($"{from.GetName().Name} -> {name.Name}"); continue; }
                queue.Enqueue(Assembly.Load(name));
            }
        }
        Assert.Empty(forbidden);
        Assert.Contains("Microsoft.ML.Tokenizers", seen); // the walk did reach the engine's own packages
    }

    [Fact]
    public void NoEngineTypeLivesInAResearchNamespace()
    {
        var misplaced = Engine.GetTypes()
            .Where(t => ResearchNamespaces.Any(ns => InNamespace(t, ns)))
            .Select(t => t.FullName).ToList();
        Assert.Empty(misplaced);
    }

    [Fact]
    public void TheResearchProjectHoldsThoseNamespacesAndPackages()
    {
        // The checks above are only meaningful if the moved code and its packages really sit next door.
        Assert.NotSame(Engine, Research);
        var namespaces = Research.GetTypes().Select(t => t.Namespace).ToHashSet();
        foreach (var ns in ResearchNamespaces) Assert.Contains(ns, namespaces);
        var refs = Research.GetReferencedAssemblies().Select(n => n.Name).ToHashSet();
        Assert.Contains("ScottPlot", refs);
        Assert.Contains("Parquet", refs);
        Assert.Contains(Engine.GetName().Name, refs);
    }
}
