using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Pruning;

/// <summary>Writes a model with some layers removed as an ordinary GGUF (renumbered blocks) that Sieve and llama.cpp load.</summary>
public static class PrunedModelWriter
{
    public static void Write(SieveModel model, IReadOnlyCollection<int> drop, string outPath)
    {
        var c = model.Config;
        foreach (int l in drop)
            if (l < 0 || l >= c.LayerCount) throw new ArgumentException($"layer {l} does not exist (the model has 0..{c.LayerCount - 1})");
        var keep = Enumerable.Range(0, c.LayerCount).Where(l => !drop.Contains(l)).ToArray();
        if (keep.Length == 0) throw new ArgumentException("cannot remove every layer");
        var w = model.Checkpoint.Weights;
        var pruned = new LoadedCheckpoint
        {
            // Each kept layer keeps its window (Gemma): the file's per-layer pattern key says which slide. llama.cpp
            // b4748 ignores that key and derives the pattern from the layer index, so it reads a pruned Gemma rightly
            // only when the kept layers keep their parity (Gemma 2) or period (Gemma 3).
            Config = c with { LayerCount = keep.Length, SlidingLayers = c.SlidingLayers == null ? null : keep.Select(l => c.SlidingLayers[l]).ToArray() },
            Weights = new ModelWeights
            {
                TokenEmbedding = w.TokenEmbedding, OutputNorm = w.OutputNorm, Output = w.Output,
                Layers = keep.Select(l => w.Layers[l]).ToArray(),
            },
            Path = model.Checkpoint.Path, Format = model.Checkpoint.Format, FileBytes = model.Checkpoint.FileBytes,
            RopeFreqFactors = model.Checkpoint.RopeFreqFactors,
        };
        // The type most bytes are in; tensors already in it are copied block for block, others keep their type's
        // fallback rules (so nothing is requantized).
        var target = Enum.GetValues<GgmlType>().First(t => TypeTraits.TryGet(t, out var i) && i.Name == model.WeightTypeSummary);
        ModelConverter.ToGguf(pruned, model.Tokenizer.ToGgufMetadata(), target, outPath);
    }
}
