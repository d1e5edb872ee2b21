using System.Buffers.Binary;

namespace Sieve.Formats.Llama2c;

/// <summary>
/// The header of a llama2.c checkpoint. Legacy files start with 7 int32 values; version 1 files start with the
/// magic "24ka", the version and the same 7 values, plus a shared-classifier flag, in a 256-byte header.
/// </summary>
public sealed record Llama2cHeader(
    int Version, int Dim, int HiddenDim, int LayerCount, int HeadCount, int KvHeadCount, int VocabSize, int SeqLen,
    bool SharedClassifier, int HeaderBytes)
{
    public const uint Magic = 0x616b3432;   // "24ka" read little-endian
    public const int LegacyHeaderBytes = 7 * 4;
    public const int V1HeaderBytes = 256;

    public int HeadSize => Dim / HeadCount;
    public int KvDim => Dim / HeadCount * KvHeadCount;

    public static Llama2cHeader Read(MappedFile f)
    {
        if (f.Length < LegacyHeaderBytes) throw new ModelFileException(f.Path, $"only {f.Length} bytes: too short for a llama2.c checkpoint header (truncated)");
        var b = f.Span(0, LegacyHeaderBytes);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(b);
        int I(ReadOnlySpan<byte> s, int index) => BinaryPrimitives.ReadInt32LittleEndian(s[(4 * index)..]);

        if (magic != Magic)
        {
            // Legacy: a negative vocabulary size flags a classifier stored separately after the other weights.
            int vocab = I(b, 5);
            return new Llama2cHeader(0, I(b, 0), I(b, 1), I(b, 2), I(b, 3), I(b, 4), vocab == int.MinValue ? 0 : Math.Abs(vocab), I(b, 6),
                SharedClassifier: vocab > 0, LegacyHeaderBytes);
        }
        if (f.Length < V1HeaderBytes) throw new ModelFileException(f.Path, $"only {f.Length} bytes: too short for a llama2.c version 1 header (truncated)");
        var h = f.Span(0, V1HeaderBytes);
        int version = I(h, 1);
        if (version != 1)
            throw new ModelFileException(f.Path, version == 2
                ? "llama2.c version 2 (int8-quantized) checkpoints are not supported; export with --version 1"
                : $"llama2.c checkpoint version {version} is not supported (legacy and version 1 are)");
        byte shared = h[36];
        if (shared > 1) throw new ModelFileException(f.Path, $"shared-classifier flag is {shared}, not 0 or 1: corrupt header");
        return new Llama2cHeader(1, I(h, 2), I(h, 3), I(h, 4), I(h, 5), I(h, 6), I(h, 7), I(h, 8), shared == 1, V1HeaderBytes);
    }

    /// <summary>Throws unless every number is in a range a real model could have (checked before any size is computed).</summary>
    public void Check(string path)
    {
        void Need(bool ok, string what) { if (!ok) throw new ModelFileException(path, $"llama2.c header: {what} (dim {Dim}, hidden {HiddenDim}, layers {LayerCount}, heads {HeadCount}, kv heads {KvHeadCount}, vocab {VocabSize}, seq_len {SeqLen}): not a llama2.c checkpoint or corrupt"); }
        Need(Dim > 0 && HiddenDim > 0 && LayerCount > 0 && HeadCount > 0 && KvHeadCount > 0 && VocabSize > 0 && SeqLen > 0, "a size is not positive");
        Need(Dim <= 1 << 16 && HiddenDim <= 1 << 18 && LayerCount <= 1024 && HeadCount <= 1024 && VocabSize <= 1 << 22 && SeqLen <= 1 << 24, "a size is implausibly large");
        Need(Dim % HeadCount == 0, "dim does not divide into the heads");
        Need(HeadCount % KvHeadCount == 0, "heads do not divide into the KV heads");
        Need(HeadSize % 2 == 0, "head size is odd");
    }
}
