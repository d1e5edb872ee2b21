using System.IO.MemoryMappedFiles;

namespace Sieve.Formats;

/// <summary>
/// A read-only memory map of a whole file. Tensors point into it, so weights are paged in on use and never
/// copied: resident memory stays near the file size.
/// </summary>
public sealed unsafe class MappedFile : IDisposable, IWeightStorage
{
    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    byte* _pointer;

    public string Path { get; }
    public long Length { get; }
    public byte* Pointer => _pointer;

    public MappedFile(string path)
    {
        Path = path;
        // Length and map both come from the opened file: through a symbolic link that is the target, where
        // FileInfo.Length would give the link's own size (20-odd bytes) and every read would "run past the end".
        var stream = ModelPath.OpenRead(path);
        try
        {
            Length = stream.Length;
            if (Length == 0) { stream.Dispose(); return; }   // MemoryMappedFile refuses empty files; callers report "truncated" themselves
            _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
            _pointer += _view.PointerOffset;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _view?.Dispose();
            if (_map != null) _map.Dispose(); else stream.Dispose();
            throw new ModelFileException(path, $"cannot map the file: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    /// <summary>The bytes at [offset, offset+count), after checking they lie inside the file.</summary>
    public ReadOnlySpan<byte> Span(long offset, int count)
    {
        Check(offset, count, "read");
        return new ReadOnlySpan<byte>(_pointer + offset, count);
    }

    public void Check(long offset, long count, string what)
    {
        if (offset < 0 || count < 0 || offset > Length || count > Length - offset)
            throw new ModelFileException(Path, $"{what} at byte {offset} (+{count}) runs past the end of the file ({Length} bytes): truncated or corrupt");
    }

    bool IWeightStorage.Covers(Tensors.WeightTensor t) =>
        _pointer != null && t.Data >= _pointer && t.ByteLength >= 0 && t.Data - _pointer <= Length - t.ByteLength;

    public void Dispose()
    {
        if (_view != null && _pointer != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}
