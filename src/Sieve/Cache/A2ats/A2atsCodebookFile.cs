using System.Runtime.InteropServices;
using Sieve.Formats;
using Sieve.Formats.Gguf;
using Sieve.Tensors;

namespace Sieve.Cache.A2ats;

/// <summary>
/// A²ATS codebooks as a GGUF sidecar file. Metadata under <c>a2ats.</c>; per (layer l, KV head h) three F32 tensors,
/// rows of d values (GGUF dims [d, rows]):
/// <list type="bullet">
/// <item><c>a2ats.l{l}.h{h}.chol</c>: L, d × d, lower-triangular (H = L·Lᵀ);</item>
/// <item><c>a2ats.l{l}.h{h}.x</c>: X, K × d, centroids in x = kᵀL space (encoding);</item>
/// <item><c>a2ats.l{l}.h{h}.c</c>: C = X·L⁻¹, K × d, key-space centroids (scoring).</item>
/// </list>
/// </summary>
/// <remarks>
/// <para>C is stored rather than recomputed on load: X·L⁻¹ costs K·d²/2 double MACs per head, 33 M at K = 4096,
/// d = 128, ~9 G for Llama-3.1-8B's 256 heads (several seconds at every start), while storing it costs 2 MiB per
/// head on disk. A stored C could disagree with X and L, so <see cref="Read"/> checks 16 rows per head:
/// ‖C_j·L − X_j‖ ≤ 1e-3·(‖X_j‖ + 1e-3·√d) (float rounding is ~1e-6).</para>
/// <para>Writing goes through <see cref="AtomicFile"/> (a temporary name, renamed when complete), so a failed or
/// interrupted write leaves no half-written sidecar. Every problem found on reading is an
/// <see cref="InvalidDataException"/> that names the file and the problem.</para>
/// </remarks>
public static class A2atsCodebookFile
{
    public const int FormatVersion = 1;
    const string P = "a2ats.";
    const int CheckedRows = 16;

    public static string TensorName(int layer, int kvHead, string part) => $"a2ats.l{layer}.h{kvHead}.{part}";

    public static void Write(string path, A2atsCodebooks codebooks, IProgress<double>? progress = null)
    {
        var w = new GgufWriter();
        w.Add("general.type", "a2ats-codebooks");
        w.Add(P + "format_version", (uint)FormatVersion);
        w.Add(P + "layer_count", (uint)codebooks.LayerCount);
        w.Add(P + "kv_head_count", (uint)codebooks.KvHeadCount);
        w.Add(P + "head_dim", (uint)codebooks.HeadDim);
        w.Add(P + "centroids", (uint)codebooks.Centroids);
        w.Add(P + "window", (uint)codebooks.Window);
        w.Add(P + "sinks", (uint)codebooks.Sinks);
        w.Add(P + "local_window", (uint)codebooks.LocalWindow);
        w.Add(P + "calibration_tokens", (ulong)codebooks.CalibrationTokens);
        w.Add(P + "calibration_sha256", codebooks.CalibrationSha256);
        w.Add(P + "model_name", codebooks.ModelName);
        w.Add(P + "model_fingerprint", codebooks.ModelFingerprint);
        int d = codebooks.HeadDim, k = codebooks.Centroids;
        for (int l = 0; l < codebooks.LayerCount; l++)
            for (int h = 0; h < codebooks.KvHeadCount; h++)
            {
                var head = codebooks.Head(l, h);
                w.AddTensor(TensorName(l, h, "chol"), GgmlType.F32, [d, d], s => s.Write(MemoryMarshal.AsBytes(head.L)));
                // Row-major copies are made as each tensor is written, so the writer holds one head at a time.
                w.AddTensor(TensorName(l, h, "x"), GgmlType.F32, [d, k], s => s.Write(MemoryMarshal.AsBytes(head.XRows().AsSpan())));
                w.AddTensor(TensorName(l, h, "c"), GgmlType.F32, [d, k], s => s.Write(MemoryMarshal.AsBytes(head.CRows().AsSpan())));
            }
        w.Write(path, progress);
    }

    /// <exception cref="InvalidDataException">The file is not an A²ATS codebook file, is truncated or corrupt, has
    /// wrong sizes or non-finite values; the message names the file and what is wrong.</exception>
    public static A2atsCodebooks Read(string path)
    {
        GgufFile g;
        try { g = GgufFile.Open(path); }
        catch (ModelFileException e) { throw new InvalidDataException($"{path}: not a readable A²ATS codebook file: {e.Problem}", e); }
        using (g)
        {
            InvalidDataException Bad(string problem) => new($"{path}: {problem}");
            if (!g.Has(P + "format_version"))
                throw Bad($"not an A²ATS codebook file (no '{P}format_version' key{(g.GetString("general.architecture") is string a ? $"; it looks like a '{a}' model" : "")})");
            try
            {
                long Int(string key, long min, long max)
                {
                    long v = g.GetInt(P + key) ?? throw Bad($"metadata key '{P}{key}' is missing");
                    if (v < min || v > max) throw Bad($"'{P}{key}' is {v}, outside {min}–{max}");
                    return v;
                }
                string Str(string key) => g.GetString(P + key) ?? throw Bad($"metadata key '{P}{key}' is missing or not a string");

                long version = Int("format_version", 0, int.MaxValue);
                if (version != FormatVersion) throw Bad($"codebook format version {version} is not supported (this build reads {FormatVersion})");
                int layers = (int)Int("layer_count", 1, 1024);
                int kvHeads = (int)Int("kv_head_count", 1, 1024);
                int d = (int)Int("head_dim", 1, 1024);
                int k = (int)Int("centroids", 1, VqCodebook.MaxCentroids);
                int window = (int)Int("window", 1, int.MaxValue);
                int sinks = (int)Int("sinks", 0, int.MaxValue);
                int local = (int)Int("local_window", 0, int.MaxValue);
                long tokens = Int("calibration_tokens", 0, long.MaxValue);
                string sha = Str("calibration_sha256"), model = Str("model_name"), fingerprint = Str("model_fingerprint");
                if (fingerprint.Length == 0) throw Bad($"'{P}model_fingerprint' is empty");

                int expected = 3 * layers * kvHeads;
                if (g.Tensors.Count != expected)
                    throw Bad($"holds {g.Tensors.Count} tensors, but {layers} layers × {kvHeads} KV heads need {expected} (L, X and C each)");
                var heads = new VqCodebook[layers * kvHeads];
                for (int l = 0; l < layers; l++)
                    for (int h = 0; h < kvHeads; h++)
                    {
                        var chol = Floats(g, path, TensorName(l, h, "chol"), d, d);
                        var x = Floats(g, path, TensorName(l, h, "x"), d, k);
                        var c = Floats(g, path, TensorName(l, h, "c"), d, k);
                        VqCodebook head;
                        try { head = VqCodebook.Create(chol, d, x, c); }
                        catch (ArgumentException e) { throw Bad($"layer {l} KV head {h}: {e.Message}"); }
                        CheckConsistent(head, x, chol, d, k, l, h, path);
                        heads[l * kvHeads + h] = head;
                    }
                return new A2atsCodebooks(heads, layers, kvHeads)
                {
                    Window = window, Sinks = sinks, LocalWindow = local, CalibrationTokens = tokens, CalibrationSha256 = sha,
                    ModelName = model, ModelFingerprint = fingerprint, Source = path,
                };
            }
            catch (ModelFileException e) { throw Bad(e.Problem); }
        }
    }

    static unsafe float[] Floats(GgufFile g, string path, string name, int cols, int rows)
    {
        if (!g.TryGetTensor(name, out var info)) throw new InvalidDataException($"{path}: tensor '{name}' is missing");
        if (info.Type != GgmlType.F32) throw new InvalidDataException($"{path}: tensor '{name}' is {info.Type}, not F32");
        if (info.Dims.Length != 2 || info.Dims[0] != cols || info.Dims[1] != rows)
            throw new InvalidDataException($"{path}: tensor '{name}' has shape [{string.Join(", ", info.Dims)}], expected [{cols}, {rows}]");
        // GgufFile has checked that the data lies inside the file.
        var t = g.View(info);
        return new ReadOnlySpan<float>(t.Data, checked(rows * cols)).ToArray();
    }

    /// <summary>C_j·L ≈ X_j on 16 rows spread over the codebook: a C from another fit or a flipped bit shows up.</summary>
    static void CheckConsistent(VqCodebook head, float[] x, float[] l, int d, int k, int layer, int kvHead, string path)
    {
        var c = new float[d];
        for (int s = 0; s < Math.Min(k, CheckedRows); s++)
        {
            int j = (int)((long)s * k / Math.Min(k, CheckedRows));
            head.CentroidKey(j, c);
            double err = 0, norm = 0;
            for (int t = 0; t < d; t++)
            {
                double v = 0;
                for (int i = t; i < d; i++) v += (double)c[i] * l[i * d + t];
                double e = v - x[j * d + t];
                err += e * e;
                norm += (double)x[j * d + t] * x[j * d + t];
            }
            if (Math.Sqrt(err) > 1e-3 * (Math.Sqrt(norm) + 1e-3 * Math.Sqrt(d)))
                throw new InvalidDataException($"{path}: layer {layer} KV head {kvHead}: centroid {j} of C does not equal X·L⁻¹ (error {Math.Sqrt(err):G3} against ‖X_j‖ {Math.Sqrt(norm):G3}): corrupt file");
        }
    }
}
