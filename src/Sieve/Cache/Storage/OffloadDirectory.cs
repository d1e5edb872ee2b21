namespace Sieve.Cache.Storage;

/// <summary>The checks and names for the directory of <c>--kv-offload</c>: errors name the directory and the problem.</summary>
internal static class OffloadDirectory
{
    const double GiB = 1024.0 * 1024 * 1024;

    /// <summary>Exists, is a directory, and a probe file can be created in it (then removed).</summary>
    public static void Check(string directory)
    {
        if (File.Exists(directory)) throw new ArgumentException($"--kv-offload {directory}: is a file, not a directory");
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"--kv-offload {directory}: no such directory");
        string probe = Path.Combine(directory, $".sieve-probe-{Environment.ProcessId}-{Random.Shared.NextInt64():x16}");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.DeleteOnClose };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            new FileStream(probe, options).Dispose();   // creating it is the test; an empty file needs no free blocks
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            TryDelete(probe);
            throw new IOException($"--kv-offload {directory}: not writable ({e.Message})", e);
        }
        TryDelete(probe);   // DeleteOnClose already removed it; a file system that ignored that must not keep it
    }

    /// <summary>Throws when the file system of <paramref name="directory"/> has less than <paramref name="bytes"/> free.</summary>
    public static void CheckFreeSpace(string directory, long bytes)
    {
        long free = FreeBytes(directory);   // −1: unknown, and the preallocation still refuses
        if (free >= 0 && free < bytes) throw DiskFull(directory, free, bytes);
    }

    public static IOException DiskFull(string directory, long free, long bytes, Exception? inner = null) =>
        new(free >= 0
            ? $"--kv-offload {directory}: the disk has {free / GiB:0.##} GiB free, this cache needs {bytes / GiB:0.##} GiB"
            : $"--kv-offload {directory}: the disk cannot hold this cache's {bytes / GiB:0.##} GiB", inner);

    /// <summary>Free bytes, or −1 when the file system does not say.</summary>
    public static long FreeBytes(string directory)
    {
        try { return new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { return -1; }
    }

    /// <summary>A name recognisably Sieve's and this process's, unique within the directory.</summary>
    public static string NewFilePath(string directory) =>
        Path.Combine(directory, $"sieve-kv-{Environment.ProcessId}-{Random.Shared.NextInt64():x16}.bin");

    public static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
