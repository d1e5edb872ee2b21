using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Formats.Llama2c;

/// <summary>
/// Loads Karpathy's llama2.c checkpoints (legacy <c>run.c</c> format and <c>export.py --version 1</c>). All
/// weights are F32 arrays laid out back to back; matrices become views into the map, only norms are copied.
/// </summary>
public static unsafe class Llama2cCheckpoint
{
    public static LoadedCheckpoint Load(string binPath)
    {
        var file = new MappedFile(binPath);
        try { return Load(file); }
        catch (OverflowException) { file.Dispose(); throw new ModelFileException(binPath, "a size computed from the header overflows: corrupt header"); }
        catch { file.Dispose(); throw; }
    }

    static LoadedCheckpoint Load(MappedFile file)
    {
        string path = file.Path;
        var h = Llama2cHeader.Read(file);
        h.Check(path);

        long dim = h.Dim, hidden = h.HiddenDim, L = h.LayerCount, vocab = h.VocabSize, kvDim = h.KvDim;
        // Sizes in floats of each array, in file order, so the total can be checked before any view is made.
        long emb = vocab * dim, norms = L * dim, wq = L * dim * dim, wkv = L * kvDim * dim, ffn = L * hidden * dim;
        long freqCis = h.Version == 0 ? (long)h.SeqLen * (h.HeadSize / 2) : 0;
        long classifier = h.SharedClassifier ? 0 : emb;
        long floats = checked(emb + norms * 2 + wq * 2 + wkv * 2 + ffn * 3 + dim + freqCis * 2 + classifier);
        long expected = checked(h.HeaderBytes + floats * 4);
        if (file.Length != expected)
            throw new ModelFileException(path, file.Length < expected
                ? $"the header describes {expected} bytes but the file has {file.Length}: truncated"
                : $"the header describes {expected} bytes but the file has {file.Length}: not a llama2.c {(h.Version == 0 ? "legacy" : "version 1")} checkpoint, or corrupt");

        long offset = h.HeaderBytes;
        // Hands out the next array of `count` floats; the length check above makes every view in bounds.
        long Next(long count) { long at = offset; offset += count * 4; return at; }
        WeightTensor View(string name, long at, int rows, int cols) =>
            new(name, GgmlType.F32, rows, cols, file.Pointer + at, file);
        float[] Copy(long at, int n) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.Span(at, n * 4)).ToArray();

        int D = h.Dim, H = h.HiddenDim, KV = h.KvDim, nl = h.LayerCount;
        long attNorm, ffnNorm, finalNorm, tokEmb, q, k, v, o, w1, w2, w3, cls;
        if (h.Version == 0)
        {
            tokEmb = Next(emb); attNorm = Next(norms); q = Next(wq); k = Next(wkv); v = Next(wkv); o = Next(wq);
            ffnNorm = Next(norms); w1 = Next(ffn); w2 = Next(ffn); w3 = Next(ffn); finalNorm = Next(dim);
            Next(freqCis); Next(freqCis);   // precomputed RoPE tables: the forward pass computes its own
        }
        else
        {
            attNorm = Next(norms); ffnNorm = Next(norms); finalNorm = Next(dim); tokEmb = Next(emb);
            q = Next(wq); k = Next(wkv); v = Next(wkv); o = Next(wq); w1 = Next(ffn); w2 = Next(ffn); w3 = Next(ffn);
        }
        cls = h.SharedClassifier ? tokEmb : Next(classifier);

        var layers = new LayerWeights[nl];
        for (int i = 0; i < nl; i++)
        {
            string p = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttnNorm = Copy(attNorm + 4L * i * D, D),
                Wq = View(p + "attn_q.weight", q + 4L * i * D * D, D, D),
                Wk = View(p + "attn_k.weight", k + 4L * i * KV * D, KV, D),
                Wv = View(p + "attn_v.weight", v + 4L * i * KV * D, KV, D),
                Wo = View(p + "attn_output.weight", o + 4L * i * D * D, D, D),
                FfnNorm = Copy(ffnNorm + 4L * i * D, D),
                Gate = View(p + "ffn_gate.weight", w1 + 4L * i * H * D, H, D),
                Down = View(p + "ffn_down.weight", w2 + 4L * i * D * H, D, H),
                Up = View(p + "ffn_up.weight", w3 + 4L * i * H * D, H, D),
            };
        }
        var embedding = View("token_embd.weight", tokEmb, h.VocabSize, D);
        var weights = new ModelWeights
        {
            TokenEmbedding = embedding,
            Layers = layers,
            OutputNorm = Copy(finalNorm, D),
            Output = h.SharedClassifier ? embedding : View("output.weight", cls, h.VocabSize, D),
        };
        var config = new ModelConfig
        {
            Architecture = Architectures.Llama,
            Dim = D,
            LayerCount = nl,
            HeadCount = h.HeadCount,
            KvHeadCount = h.KvHeadCount,
            HeadDim = h.HeadSize,
            FfnDim = H,
            VocabSize = h.VocabSize,
            ContextLength = h.SeqLen,
            NormEps = 1e-5f,
            RopeTheta = 10000f,
            RopeDim = h.HeadSize,
            RopeStyle = RopeStyle.Interleaved,
            TiedEmbeddings = h.SharedClassifier,
        };
        config.Validate(path);
        weights.Validate(config, path);

        var notes = new Dictionary<string, string>
        {
            ["llama2c_version"] = h.Version == 0 ? "legacy" : "1",
            ["defaults"] = "llama2.c files carry no rope theta or norm epsilon: 10000 and 1e-5, as run.c uses",
        };
        return new LoadedCheckpoint
        {
            Config = config,
            Weights = weights,
            Path = path,
            Format = "llama2c",
            FileBytes = file.Length,
            Notes = notes,
            TokenizerPath = FindTokenizer(path, h.VocabSize),
            Resources = [file],
        };
    }

    /// <summary>
    /// llama2.c keeps the vocabulary in a separate file: <c>tokenizer.bin</c> beside the checkpoint, or
    /// <c>tok{vocab}.bin</c> as Karpathy names custom vocabularies (tok512.bin for stories260K).
    /// </summary>
    static string? FindTokenizer(string binPath, int vocab)
    {
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(binPath)) ?? ".";
        foreach (var name in new[] { $"tok{vocab}.bin", "tokenizer.bin" })
        {
            string candidate = System.IO.Path.Combine(dir, name);
            if (ModelPath.FileOrLinkExists(candidate)) return candidate;
        }
        return null;
    }
}
