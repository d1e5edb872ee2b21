using Microsoft.Win32.SafeHandles;

namespace Sieve.Eval.Tasks;

/// <summary>What a checked Parquet file may be read at: the footer's start and every page header's offset.</summary>
public sealed record ParquetLayout(long FileLength, long FooterStart, IReadOnlySet<long> PageStarts);

/// <summary>
/// Checks a Parquet file's structure before Parquet.Net reads it: the magic at both ends, the footer's length, the
/// footer itself (strictly, see <see cref="ParquetThrift"/>), the schema tree, and for every column chunk its offsets,
/// sizes and counts and every page header in it, against the file's length and the limits below. Parquet.Net
/// allocates what these declare before reading anything (rows, values, dictionary entries, page buffers), so a
/// file of a few hundred bytes could ask for gigabytes; after this check every allocation it makes is bounded by
/// the limits.
/// </summary>
public static class ParquetFileCheck
{
    /// <summary>Rows in one file: 1,048,576 is 10× the largest common task split (MMLU's auxiliary train, 99,842 rows).
    /// Parquet.Net builds one row object per declared row before reading a column.</summary>
    public const long MaxRows = 1 << 20;

    /// <summary>Values in one column chunk (list elements count one each): 4,194,304, 4 per row at the row limit.
    /// Parquet.Net allocates ~24 bytes a declared value (value, definition and repetition level): 96 MiB.</summary>
    public const long MaxValuesPerChunk = 1 << 22;

    /// <summary>One page, compressed or not: 64 MiB (writers default to 1 MiB pages; Parquet.Net writes one page a
    /// column chunk, 64 MiB of text is a million questions).</summary>
    public const int MaxPageBytes = 64 << 20;

    /// <summary>The footer: 16 MiB, ~100× that of a file with 1,000 row groups of 10 columns.</summary>
    public const int MaxFooterBytes = 16 << 20;

    /// <summary>Schema nesting: Parquet.Net builds the schema recursively; task layouts nest 3 deep (struct, list, element).</summary>
    const int MaxSchemaDepth = 32;

    /// <summary>A page header with its statistics must fit in 1 MiB.</summary>
    const int MaxPageHeaderBytes = 1 << 20;

    /// <summary>Codecs Parquet.Net 6.1 can decompress (LZO it cannot).</summary>
    enum Codec { Uncompressed = 0, Snappy = 1, Gzip = 2, Brotli = 4, Lz4 = 5, Zstd = 6, Lz4Raw = 7 }

    /// <summary>
    /// The most a codec's output can exceed its input, where its format bounds it: Snappy's densest op emits 64 bytes
    /// for 3 (~21×), Deflate's 258 bytes for ~2 bits (1032×), LZ4's ~255×. Brotli and Zstandard have no useful
    /// bound; they get the page limit only (and Zstandard's declared frame sizes are checked, see <see cref="ZstdFrames"/>).
    /// </summary>
    static long MaxExpansion(Codec c) => c switch
    {
        Codec.Uncompressed => 1,
        Codec.Snappy => 22,
        Codec.Gzip => 1033,
        Codec.Lz4 or Codec.Lz4Raw => 256,
        _ => long.MaxValue,
    };

    /// <exception cref="Formats.ModelFileException">the file is not a Parquet file this reader may hand to Parquet.Net.</exception>
    public static ParquetLayout Check(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            return Check(handle, RandomAccess.GetLength(handle));
        }
        catch (InvalidDataException e)
        {
            throw new Formats.ModelFileException(path, $"not a readable Parquet task file: {e.Message}");
        }
    }

    static ParquetLayout Check(SafeFileHandle file, long length)
    {
        if (length < 12) throw new InvalidDataException($"{length} bytes, shorter than the two magic numbers and a footer length");
        Span<byte> tail = stackalloc byte[8];
        Span<byte> head = stackalloc byte[4];
        RandomAccess.Read(file, head, 0);
        RandomAccess.Read(file, tail, length - 8);
        if (!head.SequenceEqual("PAR1"u8) || !tail[4..].SequenceEqual("PAR1"u8)) throw new InvalidDataException("no PAR1 magic at both ends");
        int footerLength = BitConverter.ToInt32(tail);
        if (footerLength <= 0 || footerLength > length - 12 || footerLength > MaxFooterBytes)
            throw new InvalidDataException($"footer length {footerLength} does not fit between the magic numbers of a {length}-byte file");
        long footerStart = length - 8 - footerLength;
        var footer = new byte[footerLength];
        RandomAccess.Read(file, footer, footerStart);
        int pos = 0;
        var meta = ParquetThrift.Read(footer, ref pos, "FileMetaData");
        if (pos != footer.Length) throw new InvalidDataException($"the footer ends at byte {pos} of its {footer.Length}");
        if (meta.Has(8)) throw new InvalidDataException("encrypted files are not supported");

        var leaves = CheckSchema(meta);
        long fileRows = meta.Long(3) ?? 0;
        if (fileRows < 0 || fileRows > MaxRows) throw new InvalidDataException($"{fileRows} rows (the limit is {MaxRows})");
        var pageStarts = new HashSet<long>();
        long rows = 0;
        var groups = meta.List(4);
        for (int g = 0; g < groups.Count; g++)
        {
            var group = (ThriftStruct)groups[g];
            long groupRows = group.Long(3) ?? -1;
            rows += groupRows;
            if (groupRows < 0 || rows > MaxRows) throw new InvalidDataException($"row group {g}: {groupRows} rows (the limit is {MaxRows} in all)");
            var chunks = group.List(1);
            if (chunks.Count != leaves.Count) throw new InvalidDataException($"row group {g}: {chunks.Count} column chunks for {leaves.Count} columns");
            for (int c = 0; c < chunks.Count; c++)
                CheckChunk(file, (ThriftStruct)chunks[c], $"row group {g} column {c} {leaves[c].Name}", leaves[c].Repeated, groupRows, footerStart, pageStarts);
        }
        if (rows != fileRows) throw new InvalidDataException($"the file declares {fileRows} rows, its row groups {rows}");
        return new ParquetLayout(length, footerStart, pageStarts);
    }

    /// <summary>The schema is a depth-first list of a tree (each element names its child count); returns its leaves.</summary>
    static List<(string Name, bool Repeated)> CheckSchema(ThriftStruct meta)
    {
        var schema = meta.List(2);
        if (schema.Count == 0) throw new InvalidDataException("an empty schema");
        var leaves = new List<(string, bool)>();
        int next = 0;
        void Visit(int depth, bool repeated)
        {
            if (depth > MaxSchemaDepth) throw new InvalidDataException($"the schema nests deeper than {MaxSchemaDepth}");
            if (next >= schema.Count) throw new InvalidDataException("the schema's child counts run past its elements");
            var e = (ThriftStruct)schema[next];
            int index = next++;
            long children = e.Long(5) ?? 0;
            if (children < 0 || children > schema.Count - next) throw new InvalidDataException($"schema element {index} claims {children} children");
            repeated |= e.Long(3) == 2;
            if (children == 0 && index > 0)
            {
                long type = e.Long(1) ?? -1;
                if (type is < 0 or > 7) throw new InvalidDataException($"schema element {index} has physical type {type}");
                leaves.Add(($"'{e.Text(4)}'", repeated));
            }
            for (long i = 0; i < children; i++) Visit(depth + 1, repeated);
        }
        Visit(0, false);
        if (next != schema.Count) throw new InvalidDataException($"the schema tree covers {next} of its {schema.Count} elements");
        return leaves;
    }

    static void CheckChunk(SafeFileHandle file, ThriftStruct chunk, string where, bool repeated, long groupRows, long footerStart, HashSet<long> pageStarts)
    {
        if (chunk.Has(1)) throw new InvalidDataException($"{where}: data in another file is not supported");
        var m = chunk.Struct(3) ?? throw new InvalidDataException($"{where}: no column metadata");
        long codecId = m.Long(4) ?? 0;
        if (!Enum.IsDefined(typeof(Codec), (int)Math.Clamp(codecId, -1, 99))) throw new InvalidDataException($"{where}: unsupported compression codec {codecId}");
        var codec = (Codec)(int)codecId;
        long values = m.Long(5) ?? -1;
        if (values < 0 || values > MaxValuesPerChunk) throw new InvalidDataException($"{where}: {values} values (the limit is {MaxValuesPerChunk})");
        // A row holds at least one value (or null) of every column, exactly one unless the column is repeated.
        if (repeated ? values < groupRows : values != groupRows) throw new InvalidDataException($"{where}: {values} values for {groupRows} rows");
        long size = m.Long(7) ?? -1;
        // Parquet.Net starts at the smallest of the declared page offsets that is not zero.
        long start = new[] { m.Long(11) ?? 0, m.Long(9) ?? 0, m.Long(10) ?? 0 }.Where(o => o != 0).DefaultIfEmpty(-1).Min();
        if (start < 4 || size < 0 || size > footerStart - start)
            throw new InvalidDataException($"{where}: {size} bytes at offset {start} do not lie between the header and the footer (byte {footerStart})");
        long end = start + size;

        long pos = start, seen = 0;
        bool dictionary = false, data = false;
        while (seen < values)
        {
            if (pos >= end) throw new InvalidDataException($"{where}: its pages hold {seen} of its {values} values");
            string at = $"{where}, page at byte {pos}";
            var window = new byte[(int)Math.Min(end - pos, MaxPageHeaderBytes)];
            RandomAccess.Read(file, window, pos);
            int headerLength = 0;
            ThriftStruct h;
            try { h = ParquetThrift.Read(window, ref headerLength, "PageHeader"); }
            catch (InvalidDataException e) { throw new InvalidDataException($"{at}: {e.Message}"); }
            long type = h.Long(1) ?? -1, compressed = h.Long(3) ?? -1, uncompressed = h.Long(2) ?? -1;
            if (compressed < 0 || compressed > MaxPageBytes || uncompressed < 0 || uncompressed > MaxPageBytes)
                throw new InvalidDataException($"{at}: page sizes {compressed} compressed, {uncompressed} uncompressed (the limit is {MaxPageBytes})");
            long dataStart = pos + headerLength, pageEnd = dataStart + compressed;
            if (pageEnd > end) throw new InvalidDataException($"{at}: {compressed} bytes run past the column chunk's end at byte {end}");
            bool isCompressed = !(type == 3 && h.Struct(8)?.Fields.GetValueOrDefault((short)7) is false) && codec != Codec.Uncompressed;
            long limit = isCompressed ? MaxExpansion(codec) : 1;
            if (uncompressed > Math.Max(compressed, 1) * Math.Min(limit, MaxPageBytes))
                throw new InvalidDataException($"{at}: {compressed} {codec} bytes cannot hold the {uncompressed} bytes declared");
            switch (type)
            {
                case 2:
                {
                    long entries = h.Struct(7)?.Long(1) ?? -1;
                    if (dictionary || data) throw new InvalidDataException($"{at}: a dictionary page after the first page");
                    // Every dictionary entry takes at least one byte of the page.
                    if (entries < 0 || entries > uncompressed) throw new InvalidDataException($"{at}: a dictionary of {entries} entries in {uncompressed} bytes");
                    dictionary = true;
                    break;
                }
                case 0:
                {
                    long n = h.Struct(5)?.Long(1) ?? -1;
                    if (n < 0) throw new InvalidDataException($"{at}: a data page without a valid value count");
                    seen += n;
                    break;
                }
                case 3:
                {
                    var v2 = h.Struct(8);
                    long n = v2?.Long(1) ?? -1, nulls = v2?.Long(2) ?? 0, defBytes = v2?.Long(5) ?? 0, repBytes = v2?.Long(6) ?? 0;
                    if (n < 0 || nulls < 0 || nulls > n) throw new InvalidDataException($"{at}: a data page with {n} values, {nulls} of them null");
                    if (defBytes < 0 || repBytes < 0 || defBytes + repBytes > Math.Min(compressed, uncompressed))
                        throw new InvalidDataException($"{at}: {defBytes} + {repBytes} level bytes in a {compressed}-byte page");
                    if (repeated) throw new InvalidDataException($"{at}: version 2 data pages of repeated columns are not supported");
                    seen += n;
                    break;
                }
                default: throw new InvalidDataException($"{at}: page type {type} is not a data or dictionary page");
            }
            if (type != 2) data = true;
            if (isCompressed) CheckCodecStream(file, codec, type == 3 ? dataStart + (h.Struct(8)!.Long(5) ?? 0) + (h.Struct(8)!.Long(6) ?? 0) : dataStart, pageEnd, uncompressed, at);
            pageStarts.Add(pos);
            pos = pageEnd;
        }
        if (seen != values) throw new InvalidDataException($"{where}: its pages hold {seen} values, the chunk declares {values}");
    }

    /// <summary>
    /// Snappy and Zstandard streams carry their own output size, which the decoders Parquet.Net uses allocate before
    /// decoding (Parquet.Net does not pass the page's size to them): it may not exceed the page's declared size.
    /// </summary>
    static void CheckCodecStream(SafeFileHandle file, Codec codec, long from, long to, long uncompressed, string at)
    {
        if (codec == Codec.Snappy)
        {
            // Snappy's preamble: the output length as a varint of at most 5 bytes.
            var b = new byte[(int)Math.Min(5, to - from)];
            RandomAccess.Read(file, b, from);
            ulong n = 0;
            for (int i = 0; ; i++)
            {
                if (i == b.Length) throw new InvalidDataException($"{at}: the Snappy stream has no length");
                n |= (ulong)(b[i] & 0x7F) << (7 * i);
                if ((b[i] & 0x80) == 0) break;
            }
            if (n > (ulong)uncompressed) throw new InvalidDataException($"{at}: the Snappy stream declares {n} bytes in a page of {uncompressed}");
        }
        else if (codec == Codec.Zstd)
        {
            var b = new byte[to - from];
            RandomAccess.Read(file, b, from);
            ulong allowed = ZstdFrames.AllowedBound((ulong)uncompressed);
            ulong bound = ZstdFrames.DecompressedBound(b, allowed);
            if (bound > allowed) throw new InvalidDataException($"{at}: the Zstandard frames may hold {bound} bytes in a page of {uncompressed}");
        }
    }
}
