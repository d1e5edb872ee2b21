using System.Text.Json;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Formats.HuggingFace;

/// <summary>
/// Loads a Hugging Face model folder: <c>config.json</c> plus <c>model.safetensors</c> or the shards named by
/// <c>model.safetensors.index.json</c>. Weights are used where they lie in the maps, in their stored dtype.
/// </summary>
/// <remarks>
/// HF Llama checkpoints keep Q and K in the order their rotate-half RoPE wants (pairs i, i + d/2), so they load
/// as <see cref="RopeStyle.Neox"/> with no permutation; it is the forward pass that pairs dimensions that way.
/// </remarks>
public static class HuggingFaceCheckpoint
{
    const string IndexName = "model.safetensors.index.json";

    public static LoadedCheckpoint Load(string folder)
    {
        if (!Directory.Exists(folder)) throw new ModelFileException(folder, "file not found");
        string configPath = Path.Combine(folder, "config.json");
        if (!ModelPath.FileOrLinkExists(configPath)) throw new ModelFileException(folder, "folder has no config.json, so it is not a Hugging Face model");
        var hf = HfConfig.Read(configPath);
        var notes = new Dictionary<string, string>();
        var config = hf.ToModelConfig(configPath, notes);
        notes["dtype"] = hf.TorchDtype ?? hf.Dtype ?? "unknown";

        var shards = OpenShards(folder, out var where);
        try
        {
            var (weights, tied) = Build(config, shards, where, hf, folder);
            config = config with { TiedEmbeddings = tied };
            weights.Validate(config, folder);

            string? tokenizer = new[] { "tokenizer.json", "tokenizer.model" }.Select(n => Path.Combine(folder, n)).FirstOrDefault(ModelPath.FileOrLinkExists);
            return new LoadedCheckpoint
            {
                Config = config,
                Weights = weights,
                Path = folder,
                Format = "huggingface",
                FileBytes = shards.Sum(s => s.FileLength),
                Notes = notes,
                TokenizerPath = tokenizer,
                Resources = shards,
            };
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    /// <summary>Opens every weight file once; <paramref name="where"/> says which file holds each tensor.</summary>
    static List<SafeTensorsFile> OpenShards(string folder, out Dictionary<string, SafeTensorsFile> where)
    {
        var shards = new List<SafeTensorsFile>();
        where = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            string single = Path.Combine(folder, "model.safetensors");
            string index = Path.Combine(folder, IndexName);
            if (ModelPath.FileOrLinkExists(single))
            {
                var f = SafeTensorsFile.Open(single);
                shards.Add(f);
                foreach (var name in f.Tensors.Keys) where[name] = f;
                return shards;
            }
            if (!ModelPath.FileOrLinkExists(index))
            {
                bool pytorch = Directory.EnumerateFiles(folder, "*.bin").Any() || Directory.EnumerateFiles(folder, "*.pth").Any();
                throw new ModelFileException(folder, pytorch
                    ? "no model.safetensors or model.safetensors.index.json (PyTorch .bin/.pth weights are not supported; convert them to safetensors)"
                    : "no model.safetensors or model.safetensors.index.json");
            }
            var byFile = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach (var (tensor, file) in ReadWeightMap(index))
            {
                if (!byFile.TryGetValue(file, out var shard))
                {
                    shard = SafeTensorsFile.Open(Path.Combine(folder, file));
                    shards.Add(shard);
                    byFile[file] = shard;
                }
                if (!shard.Contains(tensor)) throw new ModelFileException(shard.Path, $"tensor '{tensor}' is listed for this shard in {IndexName} but is not in it");
                where[tensor] = shard;
            }
            return shards;
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    /// <summary>The index's weight_map, with each shard name checked to be a plain file in the folder.</summary>
    static List<(string Tensor, string File)> ReadWeightMap(string indexPath)
    {
        var result = new List<(string, string)>();
        try
        {
            using var doc = JsonDocument.Parse(ModelPath.ReadAllBytes(indexPath, 64 << 20, "an index"), new JsonDocumentOptions { MaxDepth = 16 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new ModelFileException(indexPath, "no weight_map object");
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new ModelFileException(indexPath, $"weight_map entry '{p.Name}' is not a file name");
                string file = p.Value.GetString()!;
                // Untrusted: a shard name must not reach outside the folder.
                if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or ".." || file.IndexOfAny(['/', '\\', '\0']) >= 0 || !file.EndsWith(".safetensors", StringComparison.Ordinal))
                    throw new ModelFileException(indexPath, $"weight_map names '{file}', which is not a .safetensors file in the same folder");
                result.Add((p.Name, file));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelFileException(indexPath, $"not valid JSON: {e.Message}", e);
        }
        return result;
    }

    static (ModelWeights, bool Tied) Build(ModelConfig c, List<SafeTensorsFile> shards, Dictionary<string, SafeTensorsFile> where, HfConfig hf, string folder)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        SafeTensorsFile Find(string name) =>
            where.TryGetValue(name, out var f) ? f : throw new ModelFileException(folder, $"tensor '{name}' is missing");
        WeightTensor M(string name)
        {
            used.Add(name);
            var f = Find(name);
            if (f.Tensors[name].Shape.Length != 2) throw new ModelFileException(f.Path, $"tensor '{name}' should be a 2-D matrix");
            return f.View(name);
        }
        bool gemma = Architectures.IsGemma(c.Architecture);
        float[] V(string name)
        {
            used.Add(name);
            var f = Find(name);
            if (f.Tensors[name].Shape.Length != 1) throw new ModelFileException(f.Path, $"tensor '{name}' should be a 1-D vector");
            var v = f.View(name).ToFloat32();
            // Gemma's RMSNorm multiplies by (1 + w) (transformers' Gemma2RMSNorm/Gemma3RMSNorm); Sieve, like llama.cpp's
            // converter, folds the 1 into the stored weight once so every norm is the plain x·w.
            if (gemma && name.EndsWith("norm.weight", StringComparison.Ordinal))
                System.Numerics.Tensors.TensorPrimitives.Add(v, 1f, v);
            return v;
        }

        // Gemma 3's multimodal checkpoints keep the decoder under language_model.model. (transformers < 4.52) or
        // model.language_model. (4.52 on); text-only ones under model.
        string prefix = new[] { "model.", "language_model.model.", "model.language_model." }
            .FirstOrDefault(p => where.ContainsKey(p + "embed_tokens.weight")) ?? "model.";
        string lmHead = prefix == "language_model.model." ? "language_model.lm_head.weight" : "lm_head.weight";
        var emb = M(prefix + "embed_tokens.weight");
        var layers = new LayerWeights[c.LayerCount];
        for (int i = 0; i < c.LayerCount; i++)
        {
            layers[i] = LayerTensorNames.HuggingFace(i, c.Architecture, prefix).Resolve(c, M, V);
        }
        // Tied when the config says so (transformers then ignores any lm_head in the file) or lm_head is absent.
        bool tied = hf.TextModel.TieWordEmbeddings == true || (gemma && hf.TextModel.TieWordEmbeddings == null) || !where.ContainsKey(lmHead);
        if (tied) used.Add(lmHead);
        var weights = new ModelWeights
        {
            TokenEmbedding = emb,
            Layers = layers,
            OutputNorm = V(prefix + "norm.weight"),
            Output = tied ? emb : M(lmHead),
        };
        // The vision half of a multimodal Gemma 3 is not run, and says so in the notes rather than failing.
        static bool Vision(string n) => n.StartsWith("vision_tower.", StringComparison.Ordinal) || n.StartsWith("multi_modal_projector.", StringComparison.Ordinal)
            || n.StartsWith("model.vision_tower.", StringComparison.Ordinal) || n.StartsWith("model.multi_modal_projector.", StringComparison.Ordinal);
        // Anything else would be a part of the model we would silently leave out (an o_proj or MLP bias, say).
        foreach (var name in where.Keys)
            if (!used.Contains(name) && !name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal) && !(c.Architecture == Architectures.Gemma3 && Vision(name)))
                throw new ModelFileException(where[name].Path, $"tensor '{name}' is not part of the {c.Architecture} architecture as Sieve runs it: unsupported model variant");
        return (weights, tied);
    }
}
