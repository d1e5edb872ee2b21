namespace Sieve.Formats.Conversion;

/// <summary>
/// Checks a conversion's destination before anything is written: it must not be any file the conversion reads (the
/// checkpoint, its tokenizer) by any path, nor replace a file inside a source folder, and its folder must exist.
/// Writing over the source would otherwise succeed — the old file stays mapped until the rename — and leave the user
/// with a GGUF under the name of their llama2.c or safetensors file.
/// </summary>
public static class ConvertDestination
{
    /// <summary>A file or folder a conversion reads, and what it is to the user ("source", "tokenizer").</summary>
    public readonly record struct Source(string Path, string Role);

    /// <summary>The files and folders a checkpoint was read from, for <see cref="Check"/>.</summary>
    public static IEnumerable<Source> SourcesOf(LoadedCheckpoint checkpoint)
    {
        yield return new(checkpoint.Path, "source");
        if (checkpoint.TokenizerPath != null) yield return new(checkpoint.TokenizerPath, "tokenizer");
        if (FolderOf(checkpoint.Path) is { } folder) yield return new(folder, "source");
    }

    /// <summary>A Hugging Face checkpoint named by its config.json still reads its whole folder.</summary>
    public static string? FolderOf(string source) =>
        File.Exists(source) && Path.GetFileName(source) == "config.json" ? Path.GetDirectoryName(Path.GetFullPath(source)) : null;

    /// <summary>
    /// Throws <see cref="IOException"/> naming <paramref name="destination"/> when writing it would destroy one of
    /// <paramref name="sources"/> (files or folders; ones that do not exist are ignored) or cannot start.
    /// </summary>
    public static void Check(string destination, IEnumerable<Source> sources)
    {
        if (destination.Length == 0) throw new ArgumentException("the destination is an empty path");
        string dst = FileIdentity.Resolve(destination);
        if (Directory.Exists(destination))
        {
            foreach (var (source, _) in sources)
                if (Directory.Exists(source) && FileIdentity.Same(destination, source))
                    throw new IOException($"{destination}: this is the source folder; give a destination file name");
            throw new IOException($"{destination}: is a folder; give a destination file name");
        }
        foreach (var (source, role) in sources)
        {
            if (File.Exists(source) && File.Exists(destination) && FileIdentity.Same(source, destination))
                throw new IOException($"{destination}: is the same file as the {role} {source} this conversion reads; choose another destination");
            if (Directory.Exists(source) && File.Exists(destination) && IsInside(dst, FileIdentity.Resolve(source)))
                throw new IOException($"{destination}: is a file inside the source folder {source}; choose another destination (nothing there is replaced)");
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(destination)) ?? ".";
        if (!Directory.Exists(folder)) throw new IOException($"{destination}: the folder {folder} does not exist");
    }

    static bool IsInside(string path, string folder)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        string prefix = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, comparison);
    }

    /// <summary>
    /// Runs <paramref name="write"/> (which writes <paramref name="destination"/> through a temporary file beside it)
    /// and turns a failure to write into an <see cref="IOException"/> that names the destination, not the temporary
    /// file the system call saw. Errors reading the source (<see cref="ModelFileException"/>) pass unchanged.
    /// </summary>
    public static void Write(string destination, Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is (IOException or UnauthorizedAccessException) and not ModelFileException)
        {
            throw new IOException($"{destination}: cannot write it: {Reason(e)}", e);
        }
    }

    static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        PathTooLongException => "the name is too long for the file system (with the temporary suffix used while writing)",
        DirectoryNotFoundException => "its folder does not exist",
        // ENOSPC (28) on Unix, ERROR_DISK_FULL (112) / ERROR_HANDLE_DISK_FULL (39) on Windows.
        IOException when (e.HResult & 0xFFFF) is 28 or 112 or 39 => "no space left on the device",
        _ => StripPaths(e.Message),
    };

    /// <summary>The system's message without the quoted path in it (which is the temporary file's).</summary>
    static string StripPaths(string message)
    {
        int open = message.IndexOf('\'');
        int close = open >= 0 ? message.IndexOf('\'', open + 1) : -1;
        string s = open >= 0 && close > open ? message[..open] + "it" + message[(close + 1)..] : message;
        return s.Trim().TrimEnd('.').Replace(" : it", "");
    }
}
