using System.Runtime.InteropServices;

namespace Sieve.Formats.Conversion;

/// <summary>
/// Whether two paths name the same file: by device and inode where the system says (Linux: any spelling, symbolic
/// link, linked folder or hard link), otherwise by full path with every link resolved.
/// </summary>
public static class FileIdentity
{
    public static bool Same(string a, string b)
    {
        if (Inode(a) is { } ia && Inode(b) is { } ib) return ia == ib;
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return string.Equals(Resolve(a), Resolve(b), comparison);
    }

    /// <summary>
    /// The full path with symbolic links resolved in every component (File.ResolveLinkTarget follows only the last
    /// one), so a file reached through a linked folder resolves to where it lives.
    /// </summary>
    public static string Resolve(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        for (int hops = 0; hops < 40; hops++)   // 40: Linux's own limit on links followed in one lookup
        {
            string? changed = null;
            string prefix = Path.GetPathRoot(full) ?? "";
            foreach (var part in full[prefix.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
            {
                string here = Path.Combine(prefix, part);
                FileSystemInfo info = Directory.Exists(here) ? new DirectoryInfo(here) : new FileInfo(here);
                if (info.Exists && info.LinkTarget is { } target)
                {
                    string rest = full[here.Length..].TrimStart(Path.DirectorySeparatorChar);
                    string resolved = Path.GetFullPath(target, Path.GetDirectoryName(here) ?? prefix);
                    changed = Path.TrimEndingDirectorySeparator(rest.Length > 0 ? Path.Combine(resolved, rest) : resolved);
                    break;
                }
                prefix = here;
            }
            if (changed == null) return full;
            full = changed;
        }
        return full;   // a link cycle: the path as far as it resolved
    }

    /// <summary>(device, inode) of an existing file on 64-bit Linux, where both lead <c>struct stat</c>; null elsewhere.</summary>
    static (ulong Device, ulong Inode)? Inode(string path)
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess) return null;
        // x86-64, arm64 and riscv64 all start struct stat with st_dev then st_ino, 8 bytes each; 256 bytes covers
        // every layout's full size (x86-64: 144).
        var buffer = new byte[256];
        try
        {
            if (Stat(path, buffer) != 0) return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;   // glibc before 2.33 exports stat only as __xstat: fall back to comparing paths
        }
        return (BitConverter.ToUInt64(buffer, 0), BitConverter.ToUInt64(buffer, 8));
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);
}
