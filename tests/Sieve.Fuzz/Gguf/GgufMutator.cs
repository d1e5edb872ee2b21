using System.Text;
using Sieve.Fuzz.Mutators;

namespace Sieve.Fuzz.Gguf;

/// <summary>
/// Mutates a GGUF file through <see cref="GgufDocument"/>: header counts and version; metadata entries deleted,
/// duplicated, renamed, retyped (tag only, or a new value of another type), known hyper-parameters pushed to limits;
/// string lengths; array element types, counts and elements (vocabulary strings, scores, token types, merges);
/// tensor dimensions, types, offsets, names, duplicates; alignment; truncated data. A share of inputs get byte-level
/// damage focused on the header.
/// </summary>
public static class GgufMutator
{
    /// <summary>Keys a loader reads; renames and new entries draw from these.</summary>
    static readonly string[] KnownKeys =
    [
        "general.architecture", "general.alignment", "general.file_type", "general.name",
        "llama.vocab_size", "llama.context_length", "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
        "llama.attention.head_count", "llama.attention.head_count_kv", "llama.attention.key_length", "llama.attention.value_length",
        "llama.rope.dimension_count", "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon", "llama.rope.scaling.type",
        "llama.rope.scaling.factor", "llama.rope.scaling.original_context_length",
        "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
        "tokenizer.ggml.padding_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
        "tokenizer.ggml.add_space_prefix", "tokenizer.chat_template",
    ];

    static readonly string[] Words =
    [
        "llama", "gpt2", "qwen2", "qwen3", "mistral", "gemma2", "gemma3", "bert", "t5", "rwkv", "", "default", "llama-bpe",
        "<0x41>", "<0xZZ>", "<0x100>", "<s>", "</s>", "<unk>", "▁", "Ġ", "a b", "a b c", " ", "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}",
    ];

    public static byte[] Mutate(byte[] seed, Random rng)
    {
        GgufDocument d;
        try { d = GgufDocument.Parse(seed); }
        catch (Exception)
        {
            return ByteMutator.Mutate(seed, rng, focus: 4096);   // an earlier mutation broke the structure
        }
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            switch (rng.Next(12))
            {
                case 0: Header(d, rng); break;
                case 1: case 2: KnownValue(d, rng); break;
                case 3: EntryShape(d, rng); break;
                case 4: case 5: ArrayValue(d, rng); break;
                case 6: case 7: Tensor(d, rng); break;
                case 8: TensorList(d, rng); break;
                case 9: Alignment(d, rng); break;
                case 10: Data(d, rng); break;
                default: StringValue(d, rng); break;
            }
        }
        var bytes = d.ToBytes();
        if (rng.Next(5) == 0) bytes = ByteMutator.Mutate(bytes, rng, focus: bytes.Length - d.Data.Length);
        return bytes;
    }

    static T Pick<T>(IReadOnlyList<T> list, Random rng) => list[rng.Next(list.Count)];

    static void Header(GgufDocument d, Random rng)
    {
        switch (rng.Next(4))
        {
            case 0: d.Version = (uint)Pick<long>([0, 1, 2, 3, 4, uint.MaxValue], rng); break;
            case 1: d.Magic ^= 1u << rng.Next(32); break;
            case 2: d.TensorCountField = (ulong)Interesting.Integer(rng, d.Tensors.Count); break;
            default: d.KvCountField = (ulong)Interesting.Integer(rng, d.Entries.Count); break;
        }
    }

    /// <summary>A hyper-parameter or tokenizer id set to a limit, in its own integer type or another one.</summary>
    static void KnownValue(GgufDocument d, Random rng)
    {
        var ints = d.Entries.Where(e => e.Value.Shape == ValueShape.Scalar).ToList();
        if (ints.Count == 0) return;
        var e = Pick(ints, rng);
        if (rng.Next(4) == 0) e.Value = GgufValue.Float32((float)Interesting.Float(rng));
        else
        {
            uint type = rng.Next(3) == 0 ? (uint)Pick<int>([0, 1, 2, 3, 4, 5, 7, 10, 11], rng) : (GgufValue.ScalarSize(e.Value.Type) > 0 && e.Value.Type is not 6 and not 12 ? e.Value.Type : 4u);
            e.Value = GgufValue.Int(type, Interesting.Integer(rng, e.Value.AsInteger()));
        }
    }

    static void EntryShape(GgufDocument d, Random rng)
    {
        if (d.Entries.Count == 0) return;
        int i = rng.Next(d.Entries.Count);
        var e = d.Entries[i];
        switch (rng.Next(6))
        {
            case 0: d.Entries.RemoveAt(i); break;
            case 1: d.Entries.Insert(i, new GgufEntry(e.Key, rng.Next(2) == 0 ? e.Value.Clone() : RandomValue(rng))); break;   // duplicate key
            case 2: e.Key = Pick(KnownKeys, rng); break;                                                                         // rename onto a known key
            case 3: e.Value.Type = (uint)Pick<int>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 99, -1], rng); break;        // tag only
            case 4: e.Value = RandomValue(rng); break;
            default: d.Entries.Insert(rng.Next(d.Entries.Count + 1), new GgufEntry(Pick(KnownKeys, rng), RandomValue(rng))); break;
        }
    }

    static GgufValue RandomValue(Random rng)
    {
        switch (rng.Next(6))
        {
            case 0: return GgufValue.Str(Pick(Words, rng));
            case 1: return GgufValue.Float32((float)Interesting.Float(rng));
            case 2:
            {
                uint et = (uint)Pick<int>([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12], rng);
                var a = new GgufValue { Type = 9, Shape = ValueShape.Array, ElementType = et };
                int n = rng.Next(5);
                for (int k = 0; k < n; k++) a.Elements.Add(et == 8 ? GgufValue.Str(Pick(Words, rng)) : et is 6 or 12 ? GgufValue.Int(et, BitConverter.DoubleToInt64Bits(Interesting.Float(rng))) : GgufValue.Int(et, Interesting.Integer(rng, 0)));
                return a;
            }
            case 3: // an array whose element type is unknown or nested, with a large claimed count
                return new GgufValue { Type = 9, Shape = ValueShape.Array, ElementType = (uint)Pick<int>([9, 13, 99, -1], rng), CountField = (ulong)Interesting.Integer(rng, 8) };
            default:
                return GgufValue.Int((uint)Pick<int>([0, 1, 2, 3, 4, 5, 7, 10, 11], rng), Interesting.Integer(rng, 0));
        }
    }

    static void StringValue(GgufDocument d, Random rng)
    {
        var strings = d.Entries.Where(e => e.Value.Shape == ValueShape.String).Select(e => e.Value)
            .Concat(d.Entries.Where(e => e.Value.Shape == ValueShape.Array).SelectMany(e => e.Value.Elements).Where(v => v.Shape == ValueShape.String).Take(4096)).ToList();
        if (strings.Count == 0) return;
        var s = Pick(strings, rng);
        switch (rng.Next(5))
        {
            case 0: s.LengthField = (ulong)Interesting.Integer(rng, s.Bytes.Length); break;
            case 1: s.Bytes = [.. s.Bytes, .. Pick<byte[]>([[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82]], rng)]; break;
            case 2: s.Bytes = []; break;
            case 3: s.Bytes = Encoding.UTF8.GetBytes(new string('x', 1 << rng.Next(4, 17))); break;
            default: s.Bytes = Encoding.UTF8.GetBytes(Pick(Words, rng)); break;
        }
    }

    /// <summary>Arrays: element type (tag only), claimed count, length, and element values.</summary>
    static void ArrayValue(GgufDocument d, Random rng)
    {
        var arrays = d.Entries.Where(e => e.Value.Shape == ValueShape.Array).ToList();
        if (arrays.Count == 0) return;
        var a = Pick(arrays, rng).Value;
        switch (rng.Next(7))
        {
            case 0: a.ElementType = (uint)Pick<int>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 99], rng); break;
            case 1: a.CountField = (ulong)Interesting.Integer(rng, a.Elements.Count); break;
            case 2: if (a.Elements.Count > 0) a.Elements.RemoveRange(rng.Next(a.Elements.Count), 1); break;
            case 3: if (a.Elements.Count > 0) { int keep = rng.Next(a.Elements.Count); a.Elements.RemoveRange(keep, a.Elements.Count - keep); } break;
            case 4: if (a.Elements.Count > 0) a.Elements.AddRange(a.Elements.Take(1 + rng.Next(Math.Min(64, a.Elements.Count))).Select(e => e.Clone()).ToList()); break;
            default:  // an element set to a limit: a token type of 99, a NaN score, a merge with no space
                if (a.Elements.Count == 0) break;
                int i = rng.Next(a.Elements.Count);
                var el = a.Elements[i];
                a.Elements[i] = el.Shape switch
                {
                    ValueShape.String => GgufValue.Str(Pick(Words, rng)),
                    _ when a.ElementType == 6 => GgufValue.Float32((float)Interesting.Float(rng)),
                    _ when GgufValue.ScalarSize(a.ElementType) > 0 => GgufValue.Int(a.ElementType, Pick<long>([0, 1, 2, 3, 4, 5, 6, 7, 8, 99, -1, int.MaxValue], rng)),
                    _ => el,
                };
                break;
        }
    }

    static readonly uint[] TensorTypes = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 24, 28, 29, 30, 39, 40, 99, uint.MaxValue];

    static void Tensor(GgufDocument d, Random rng)
    {
        if (d.Tensors.Count == 0) return;
        var t = Pick(d.Tensors, rng);
        switch (rng.Next(8))
        {
            case 0: if (t.Dims.Count > 0) { int k = rng.Next(t.Dims.Count); t.Dims[k] = (ulong)Interesting.Integer(rng, (long)t.Dims[k]); } break;
            case 1: t.Dims.Reverse(); break;
            case 2: if (rng.Next(2) == 0) t.Dims.Add((ulong)Pick<long>([1, 2, 0, 1 << 20], rng)); else if (t.Dims.Count > 0) t.Dims.RemoveAt(t.Dims.Count - 1); break;
            case 3: t.NDimsField = (uint)Pick<long>([0, 1, 2, 3, 4, 5, 255, uint.MaxValue], rng); break;
            case 4: t.Type = Pick(TensorTypes, rng); break;
            case 5: t.Offset = (ulong)Pick<long>([(long)t.Offset + 1, (long)t.Offset + 32, (long)t.Offset - 32, 0, (long)Pick(d.Tensors, rng).Offset, d.Data.Length, d.Data.Length - 32, long.MaxValue, -1], rng); break;
            case 6: t.Name = rng.Next(2) == 0 ? Pick(d.Tensors, rng).Name : Pick<string>(["output.weight", "token_embd.weight", "rope_freqs.weight", "blk.0.attn_q.weight", "blk.99.attn_q.weight", "blk.-1.ffn_up.weight", ""], rng); break;
            default: if (t.Dims.Count >= 2) (t.Dims[0], t.Dims[1]) = (t.Dims[1], t.Dims[0]); break;
        }
    }

    static void TensorList(GgufDocument d, Random rng)
    {
        if (d.Tensors.Count == 0) return;
        int i = rng.Next(d.Tensors.Count);
        switch (rng.Next(3))
        {
            case 0: d.Tensors.RemoveAt(i); break;
            case 1: d.Tensors.Insert(rng.Next(d.Tensors.Count + 1), d.Tensors[i].Clone()); break;   // duplicate name
            default: d.Tensors.Reverse(); break;
        }
    }

    /// <summary>general.alignment changed (or added) with the padding following it or not.</summary>
    static void Alignment(GgufDocument d, Random rng)
    {
        long value = Pick<long>([0, 1, 3, 8, 16, 64, 1 << 20, 1 << 21, int.MaxValue, uint.MaxValue], rng);
        var entry = d.Entry("general.alignment");
        var v = GgufValue.Int(rng.Next(4) == 0 ? (uint)Pick<int>([0, 5, 10, 11], rng) : 4u, value);
        if (entry != null) entry.Value = v; else d.Entries.Add(new GgufEntry("general.alignment", v));
        if (rng.Next(2) == 0 && value is > 0 and <= 1 << 16) d.PadTo = (int)value;
    }

    static void Data(GgufDocument d, Random rng)
    {
        switch (rng.Next(3))
        {
            case 0: d.Data = d.Data[..rng.Next(d.Data.Length + 1)]; break;
            case 1: d.Data = d.Data[..Math.Max(0, d.Data.Length - 1 - rng.Next(64))]; break;
            default:   // NaN / Inf / huge values written into the weights (scales of quantized blocks included)
            {
                var data = (byte[])d.Data.Clone();
                for (int k = 0; k < 1 + rng.Next(64) && data.Length >= 4; k++)
                {
                    int p = rng.Next(data.Length - 3) & ~1;
                    if (rng.Next(2) == 0) BitConverter.TryWriteBytes(data.AsSpan(p), Pick<float>([float.NaN, float.PositiveInfinity, -3e38f, 1e30f], rng));
                    else BitConverter.TryWriteBytes(data.AsSpan(p), Pick<Half>([Half.NaN, Half.PositiveInfinity, Half.MaxValue], rng));
                }
                d.Data = data;
                break;
            }
        }
    }
}
