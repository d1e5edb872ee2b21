using Sieve.Formats.Gguf;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

/// <summary>Copies a GGUF fixture into a scratch folder with its metadata or tensors changed.</summary>
static class GgufRewrite
{
    /// <param name="metadata">Edits the metadata (add, replace or remove keys) before it is written.</param>
    /// <param name="tensor">Gives a tensor's new type and bytes, or null to copy it as it is.</param>
    public static string Copy(string source, Action<Dictionary<string, object>>? metadata = null,
        Func<GgufFile, GgufTensorInfo, (GgmlType Type, byte[] Bytes)?>? tensor = null, Func<string, bool>? keepTensor = null)
    {
        using var src = GgufFile.Open(source);
        var meta = new Dictionary<string, object>(src.Metadata, StringComparer.Ordinal);
        metadata?.Invoke(meta);
        var w = new GgufWriter();
        foreach (var (k, v) in meta) if (k != "general.alignment") w.Add(k, v);
        foreach (var t in src.Tensors)
        {
            if (keepTensor != null && !keepTensor(t.Name)) continue;
            var (type, bytes) = tensor?.Invoke(src, t) ?? (t.Type, CheckpointAssert.Bytes(src.View(t)));
            w.AddTensor(t.Name, type, t.Dims, s => s.Write(bytes));
        }
        string path = Path.Combine(Fixtures.TempDir(), Path.GetFileName(source));
        w.Write(path);
        return path;
    }
}
