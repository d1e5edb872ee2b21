namespace Sieve.Eval.Tasks;

/// <summary>
/// The read-only file stream Parquet.Net gets after <see cref="ParquetFileCheck"/>: it may jump (<c>Seek</c> from the
/// start) only to a page header the check walked, or to the file's start, so a reader that runs past a page's end
/// never parses unchecked bytes as a header; a byte read at the end throws instead of returning −1 (which
/// Parquet.Net's Thrift reader takes as 0xFF and loops on); and every call honours the time limit's cancellation.
/// </summary>
sealed class CheckedParquetStream(string path, ParquetLayout layout, CancellationToken cancel) : Stream
{
    readonly FileStream _file = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _file.Length;

    public override long Position
    {
        get => _file.Position;
        set
        {
            cancel.ThrowIfCancellationRequested();
            if (value < 0 || value > layout.FileLength) throw new InvalidDataException($"a read at byte {value} of a {layout.FileLength}-byte file");
            _file.Position = value;
        }
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        cancel.ThrowIfCancellationRequested();
        long target = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _file.Position + offset, _ => layout.FileLength + offset };
        // From the start: the magic (0) or a page header. From the end: the magic, the footer length, the footer.
        bool allowed = origin == SeekOrigin.Begin
            ? target == 0 || layout.PageStarts.Contains(target)
            : target == layout.FileLength - 4 || target == layout.FileLength - 8 || target == layout.FooterStart || origin == SeekOrigin.Current && target >= 0 && target <= layout.FileLength;
        if (!allowed) throw new InvalidDataException($"the reader went to byte {target}, which is not a checked page");
        return _file.Seek(target, SeekOrigin.Begin);
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        cancel.ThrowIfCancellationRequested();
        return _file.Read(buffer, offset, count);
    }

    public override int Read(Span<byte> buffer)
    {
        cancel.ThrowIfCancellationRequested();
        return _file.Read(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token = default)
    {
        cancel.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_file.Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken token) =>
        ReadAsync(buffer.AsMemory(offset, count), token).AsTask();

    public override int ReadByte()
    {
        cancel.ThrowIfCancellationRequested();
        int b = _file.ReadByte();
        return b >= 0 ? b : throw new InvalidDataException("a read past the end of the file");
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _file.Dispose();
        base.Dispose(disposing);
    }
}
