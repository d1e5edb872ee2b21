using System.Buffers.Binary;
using Sieve.Fuzz.Json;

namespace Sieve.Fuzz.Mutators;

/// <summary>
/// Mutates a <c>.safetensors</c> file: its JSON header (dtypes, shapes and data_offsets of the tensor entries, and
/// the usual JSON damage), the 8-byte header length field, the data (truncated, extended) and plain bytes.
/// </summary>
public static class SafeTensorsMutator
{
    static readonly JsonMutator Json = new(new JsonWords(
        ["dtype", "shape", "data_offsets", "__metadata__", "format", "model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
         "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.input_layernorm.weight"],
        ["F32", "F16", "BF16", "F64", "I8", "U8", "I32", "I64", "BOOL", "F8_E4M3", "f32", "", "pt", "Q8_0"]));

    public static byte[] Mutate(byte[] file, Random rng)
    {
        if (file.Length < 8 || rng.Next(8) == 0) return ByteMutator.Mutate(file, rng, focus: 256);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (n > (ulong)file.Length - 8) return ByteMutator.Mutate(file, rng);
        byte[] header = file[8..(8 + (int)n)], data = file[(8 + (int)n)..];
        ulong? lengthField = null;
        switch (rng.Next(6))
        {
            case 0:
                lengthField = (ulong)Interesting.Integer(rng, (long)n);
                break;
            case 1:
                data = rng.Next(2) == 0 ? data[..rng.Next(data.Length + 1)] : [.. data, .. new byte[1 + rng.Next(64)]];
                break;
            default:
                header = Json.Mutate(header, rng, Entry, specialPercent: 60);
                break;
        }
        var output = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(output, lengthField ?? (ulong)header.Length);
        header.CopyTo(output, 8);
        data.CopyTo(output, 8 + header.Length);
        return output;
    }

    /// <summary>One tensor entry's dtype, shape or data_offsets changed to something plausible but wrong.</summary>
    static bool Entry(JNode root, Random rng)
    {
        if (root is not JObject o) return false;
        var entries = o.Props.Where(p => p.Key != "__metadata__" && p.Value is JObject).Select(p => (JObject)p.Value).ToList();
        if (entries.Count == 0) return false;
        var e = entries[rng.Next(entries.Count)];
        switch (rng.Next(3))
        {
            case 0:
                e.Set("dtype", JNode.String(new[] { "F32", "F16", "BF16", "F64", "I8", "U8", "I32", "BOOL", "F8_E4M3", "" }[rng.Next(10)]));
                break;
            case 1:
                if (e["shape"] is JArray shape)
                {
                    if (shape.Items.Count > 0 && rng.Next(3) != 0)
                    {
                        int k = rng.Next(shape.Items.Count);
                        long.TryParse((shape.Items[k] as JRaw)?.Text, out long v);
                        shape.Items[k] = new JRaw(Interesting.IntegerText(rng, v));
                    }
                    else if (rng.Next(2) == 0) shape.Items.Add(JNode.Number(rng.Next(3)));
                    else shape.Items.Clear();
                }
                break;
            default:
                if (e["data_offsets"] is JArray off && off.Items.Count == 2)
                {
                    long.TryParse((off.Items[0] as JRaw)?.Text, out long begin);
                    long.TryParse((off.Items[1] as JRaw)?.Text, out long end);
                    switch (rng.Next(5))
                    {
                        case 0: off.Items.Reverse(); break;                                          // begin > end
                        case 1: off.Items[1] = new JRaw(Interesting.IntegerText(rng, end)); break;
                        case 2: off.Items[0] = new JRaw(Interesting.IntegerText(rng, begin)); break;
                        case 3: off.Items.Add(JNode.Number(end)); break;
                        default:                                                                    // overlap another tensor
                            var other = entries[rng.Next(entries.Count)]["data_offsets"];
                            if (other != null) e.Set("data_offsets", other.Clone());
                            break;
                    }
                }
                break;
        }
        return true;
    }
}
