using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;
using Sieve.Cache.Sparse;

namespace Sieve.Cache.Storage;

/// <summary>
/// One cache's offloaded rows: a single memory-mapped file in the <c>--kv-offload</c> directory, one region per
/// (layer, KV head) sized for the cache's capacity — keys then values, capacity × HeadDim × element bytes each. The
/// file is made when the first store is asked for (that is when the element type is known) and goes when the tier
/// is disposed, with the cache and its sequence.
/// </summary>
/// <remarks>
/// <para>Lifetime: the file is created private to the user (0600, <see cref="FileMode.CreateNew"/> so nothing existing
/// is reused or followed) and on Unix unlinked from the directory the moment it is open, before it is even mapped:
/// from then on only this process's descriptor and mapping keep it, so the kernel frees its blocks when the process
/// ends for any reason — exit, crash, or SIGKILL — and no reader can open it by name. The window between create and
/// unlink is a few system calls. Windows cannot unlink an open file; there it is opened DeleteOnClose, which the OS
/// honours when the last handle goes, a crash included.</para>
/// <para>Disk full: a store writes its rows through the mapping, and writing into a hole of a sparse mapping when
/// the disk is full raises SIGBUS on Linux — an unrecoverable crash. So the whole size is reserved up front
/// (<see cref="FileStreamOptions.PreallocationSize"/>: fallocate on Linux, which fails with ENOSPC when the disk
/// cannot hold it) after a free-space check that names both numbers. File systems without fallocate (.NET then
/// skips the reservation) rely on the free-space check alone.</para>
/// </remarks>
public sealed unsafe class FileKvTier : IKvTier
{
    readonly KvOffload _options;
    readonly KvCacheShape _shape;
    readonly List<FileKvStore> _stores = [];
    FileStream? _file;
    MemoryMappedFile? _map;
    MemoryMappedViewAccessor? _view;
    byte* _base;
    long[] _layerOffsets = [];
    KvElement _element;
    volatile bool _disposed;

    internal FileKvTier(KvOffload options, KvCacheShape shape)
    {
        _options = options;
        _shape = shape;
        OffloadDirectory.Check(options.Directory);
    }

    public KvOffload Options => _options;
    /// <summary>The file's name while it was being created (on Unix it is no longer in the directory); null before the first store.</summary>
    public string? FilePath { get; private set; }
    /// <summary>Bytes reserved on disk for every region at the cache's capacity.</summary>
    public long FileBytes { get; private set; }
    public bool IsDisposed => _disposed;
    internal SafeFileHandle? Handle => _file?.SafeFileHandle;

    /// <summary>Rows of a layer's region: a sliding layer keeps its keys in the cache's ring store, so one row.</summary>
    int RegionRows(int layer) => _shape.WindowLimits(layer) ? 1 : _shape.Capacity;

    public IKvStore CreateStore(int layer, int kvHead, int headDim, KvElement element, bool trackPositions, int rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)layer >= (uint)_shape.Layers || (uint)kvHead >= (uint)_shape.KvHeads)
            throw new ArgumentOutOfRangeException(nameof(layer), $"no region for layer {layer}, KV head {kvHead} in a {_shape.Layers}-layer, {_shape.KvHeads}-KV-head cache");
        if (headDim != _shape.HeadDim) throw new ArgumentException($"head dim {headDim} differs from the cache's {_shape.HeadDim}", nameof(headDim));
        if (_base == null) Map(element);
        else if (element != _element) throw new ArgumentException($"this tier's file holds {_element} rows; a store asked for {element}", nameof(element));
        int regionRows = RegionRows(layer);
        if (rows > regionRows) throw new ArgumentException($"a store of layer {layer} asked for {rows} rows; its region holds {regionRows}", nameof(rows));
        long half = (long)regionRows * headDim * ElementBytes(element);
        byte* region = _base + _layerOffsets[layer] + kvHead * 2 * half;
        var store = new FileKvStore(this, region, region + half, regionRows, headDim, element, trackPositions, _options.ResidentSinks, _options.ResidentWindow);
        _stores.Add(store);
        return store;
    }

    internal static int ElementBytes(KvElement e) => e == KvElement.F32 ? 4 : 2;

    void Map(KvElement element)
    {
        int eb = ElementBytes(element);
        _layerOffsets = new long[_shape.Layers];
        long bytes = 0;
        for (int l = 0; l < _shape.Layers; l++)
        {
            _layerOffsets[l] = bytes;
            bytes += (long)_shape.KvHeads * 2 * RegionRows(l) * _shape.HeadDim * eb;
        }
        string dir = _options.Directory;
        OffloadDirectory.CheckFreeSpace(dir, bytes);
        string path = OffloadDirectory.NewFilePath(dir);
        try
        {
            var fso = new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None, PreallocationSize = bytes,
                Options = OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None,
            };
            if (!OperatingSystem.IsWindows()) fso.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            try { _file = new FileStream(path, fso); }
            catch (DirectoryNotFoundException e)
            {
                throw new DirectoryNotFoundException($"--kv-offload {dir}: no such directory", e);
            }
            catch (IOException e)
            {
                // .NET removes the file itself when the reservation fails (ENOSPC/EFBIG); say it in the user's terms.
                long free = OffloadDirectory.FreeBytes(dir);
                if (free >= 0 && free < bytes || e.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase))
                    throw OffloadDirectory.DiskFull(dir, free, bytes, e);
                throw new IOException($"--kv-offload {dir}: cannot create the cache file ({e.Message})", e);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"--kv-offload {dir}: not writable ({e.Message})", e);
            }
            // Gone from the directory before anything else can fail: see the remarks.
            if (!OperatingSystem.IsWindows()) File.Delete(path);
            FilePath = path;
            _file.SetLength(bytes);
            _map = MemoryMappedFile.CreateFromFile(_file, null, bytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            _view = _map.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _base = p + _view.PointerOffset;
            _element = element;
            FileBytes = bytes;
        }
        catch
        {
            Release();
            OffloadDirectory.TryDelete(path);   // our CreateNew name: whatever is there is ours
            throw;
        }
    }

    /// <summary>Rows of keys read from the file by every store since the last <see cref="ResetReadCounters"/> (resident rows not counted).</summary>
    public long KeyRowsRead => _stores.Sum(s => s.KeyRowsRead);
    public long ValueRowsRead => _stores.Sum(s => s.ValueRowsRead);
    /// <summary>Key rows plus value rows read from the file.</summary>
    public long RowsRead => _stores.Sum(s => s.RowsRead);
    public long BytesRead => _stores.Sum(s => s.BytesRead);
    public void ResetReadCounters() { foreach (var s in _stores) s.ResetReadCounters(); }
    public IReadOnlyList<FileKvStore> Stores => _stores;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Release();
    }

    void Release()
    {
        if (_base != null)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _base = null;
        }
        _view?.Dispose();
        _map?.Dispose();
        _file?.Dispose();   // the last reference: the kernel frees the unlinked file (Windows: DeleteOnClose)
        _view = null;
        _map = null;
        _file = null;
    }
}
