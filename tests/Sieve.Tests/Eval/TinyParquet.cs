using System.Text;

namespace Sieve.Tests.Eval;

/// <summary>
/// Builds small Parquet files byte by byte (Thrift compact footer and page headers written here), so that tests can
/// set any declared count, size or offset to a bad value: a BoolQ-layout file with one row group, optional UTF-8
/// "passage" and "question" columns and a required INT64 "label", PLAIN encoded, uncompressed, one data page each.
/// </summary>
public sealed class TinyParquet
{
    public (string Passage, string Question, long Label)[] Rows { get; init; } = [("The sky is blue.", "is the sky blue", 1), ("Grass is red.", "is grass red", 0)];

    // Knobs, applied to the first column ("passage") unless named otherwise; null keeps the honest value.
    public long? FileNumRows, RowGroupNumRows, ChunkNumValues, ChunkCompressedSize, ChunkUncompressedSize, DataPageOffset, DictionaryPageOffset;
    public int? PageNumValues, PageCompressedSize, PageUncompressedSize, PageType, Codec, SchemaNumChildren, ListCountOverride, FooterLengthOverride;
    /// <summary>Extra bytes of garbage after the pages, before the footer.</summary>
    public byte[] Gap { get; init; } = [];
    /// <summary>A dictionary page (PLAIN) before the passage column's data page, claiming this many entries.</summary>
    public int? DictionaryEntries;
    /// <summary>Overwrites the start of the passage column's page data (after the header), e.g. with a codec's header.</summary>
    public byte[]? PageDataPrefix;
    /// <summary>Replaces the footer's bytes after it is built (to cut or corrupt it).</summary>
    public Func<byte[], byte[]>? FooterEdit;

    public byte[] Build()
    {
        var body = new MemoryStream();
        body.Write("PAR1"u8);
        var chunks = new List<(long Offset, long Size, long Values, long? Dict, string Name, int Type)>();
        string[] names = ["passage", "question", "label"];
        for (int c = 0; c < 3; c++)
        {
            bool first = c == 0;
            long start = body.Position;
            long? dictAt = null;
            if (first && DictionaryEntries is int entries)
            {
                dictAt = body.Position;
                var dictData = new byte[8];
                var dh = new ThriftWriter();
                dh.I32(1, 2); dh.I32(2, dictData.Length); dh.I32(3, dictData.Length);
                dh.BeginStruct(7); dh.I32(1, entries); dh.I32(2, 0); dh.EndStruct();
                dh.Stop();
                body.Write(dh.ToArray());
                body.Write(dictData);
            }
            var data = new MemoryStream();
            if (c < 2)
            {
                // Definition levels of an optional column: 4-byte length, then one RLE run "all defined".
                var rle = new MemoryStream();
                WriteVarint(rle, (ulong)Rows.Length << 1);
                rle.WriteByte(1);
                data.Write(BitConverter.GetBytes((int)rle.Length));
                data.Write(rle.ToArray());
                foreach (var r in Rows)
                {
                    var s = Encoding.UTF8.GetBytes(c == 0 ? r.Passage : r.Question);
                    data.Write(BitConverter.GetBytes(s.Length));
                    data.Write(s);
                }
            }
            else foreach (var r in Rows) data.Write(BitConverter.GetBytes(r.Label));
            if (first && PageDataPrefix is { } prefix)
            {
                var bytes = data.ToArray();
                prefix.CopyTo(bytes, 0);
                data = new MemoryStream(bytes);
            }
            long dataAt = body.Position;
            var ph = new ThriftWriter();
            ph.I32(1, first && PageType is int pt ? pt : 0);
            ph.I32(2, first && PageUncompressedSize is int pu ? pu : (int)data.Length);
            ph.I32(3, first && PageCompressedSize is int pc ? pc : (int)data.Length);
            ph.BeginStruct(5);
            ph.I32(1, first && PageNumValues is int pn ? pn : Rows.Length);
            ph.I32(2, 0); ph.I32(3, 3); ph.I32(4, 3);
            ph.EndStruct();
            ph.Stop();
            body.Write(ph.ToArray());
            body.Write(data.ToArray());
            chunks.Add((first && DataPageOffset is long o ? o : dataAt, body.Position - start, Rows.Length, dictAt, names[c], c < 2 ? 6 : 2));
        }
        body.Write(Gap);

        var f = new ThriftWriter();
        f.I32(1, 1);
        f.BeginList(2, 4);
        f.BeginElement(); f.Bin(4, "schema"); f.I32(5, SchemaNumChildren ?? 3); f.EndStruct();
        for (int c = 0; c < 3; c++)
        {
            f.BeginElement(); f.I32(1, chunks[c].Type); f.I32(3, c < 2 ? 1 : 0); f.Bin(4, names[c]);
            if (c < 2) f.I32(6, 0);
            f.EndStruct();
        }
        f.I64(3, FileNumRows ?? Rows.Length);
        f.BeginList(4, 1);
        f.BeginElement();
        f.BeginList(1, ListCountOverride ?? 3);
        for (int c = 0; c < 3; c++)
        {
            bool first = c == 0;
            var (offset, size, values, dict, name, type) = chunks[c];
            f.BeginElement();
            f.I64(2, offset);
            f.BeginStruct(3);
            f.I32(1, type);
            f.BeginList(2, 2, 5); f.RawI32(0); f.RawI32(3);
            f.BeginList(3, 1, 8); f.RawBin(name);
            f.I32(4, first && Codec is int codec ? codec : 0);
            f.I64(5, first && ChunkNumValues is long nv ? nv : values);
            f.I64(6, first && ChunkUncompressedSize is long us ? us : size);
            f.I64(7, first && ChunkCompressedSize is long cs ? cs : size);
            f.I64(9, offset);
            if (first && (DictionaryPageOffset ?? dict) is long d) f.I64(11, d);
            f.EndStruct();
            f.EndStruct();
        }
        f.I64(2, chunks.Sum(x => x.Size));
        f.I64(3, RowGroupNumRows ?? Rows.Length);
        f.EndStruct();
        f.Stop();
        var footer = f.ToArray();
        if (FooterEdit != null) footer = FooterEdit(footer);
        body.Write(footer);
        body.Write(BitConverter.GetBytes(FooterLengthOverride ?? footer.Length));
        body.Write("PAR1"u8);
        return body.ToArray();
    }

    internal static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        s.WriteByte((byte)v);
    }

    /// <summary>Thrift compact protocol, writing side, just what the files above need.</summary>
    sealed class ThriftWriter
    {
        readonly MemoryStream _s = new();
        readonly Stack<short> _last = new();
        short _lastId;

        void Header(short id, int type)
        {
            int delta = id - _lastId;
            if (delta is > 0 and <= 15) _s.WriteByte((byte)(delta << 4 | type));
            else { _s.WriteByte((byte)type); WriteVarint(_s, Zig(id)); }
            _lastId = id;
        }

        static ulong Zig(long v) => (ulong)((v << 1) ^ (v >> 63));
        public void I32(short id, int v) { Header(id, 5); WriteVarint(_s, Zig(v)); }
        public void I64(short id, long v) { Header(id, 6); WriteVarint(_s, Zig(v)); }
        public void Bin(short id, string v) { Header(id, 8); RawBin(v); }
        public void RawBin(string v) { var b = Encoding.UTF8.GetBytes(v); WriteVarint(_s, (ulong)b.Length); _s.Write(b); }
        public void RawI32(int v) => WriteVarint(_s, Zig(v));
        public void BeginStruct(short id) { Header(id, 12); _last.Push(_lastId); _lastId = 0; }
        public void BeginElement() { _last.Push(_lastId); _lastId = 0; }
        public void EndStruct() { _s.WriteByte(0); _lastId = _last.Pop(); }
        public void BeginList(short id, int count, int elementType = 12)
        {
            Header(id, 9);
            if (count < 15) _s.WriteByte((byte)(count << 4 | elementType));
            else { _s.WriteByte((byte)(0xF0 | elementType)); WriteVarint(_s, (ulong)(uint)count); }
        }
        public void Stop() => _s.WriteByte(0);
        public byte[] ToArray() => _s.ToArray();
    }
}
