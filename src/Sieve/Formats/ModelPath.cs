namespace Sieve.Formats;

/// <summary>
/// Model files are often reached through symbolic links: the Hugging Face cache stores every snapshot file as a
/// relative link into <c>blobs/</c>. Sizes must come from the opened file, never from <see cref="FileInfo.Length"/>
/// (for a link that is the link's own size, 20-odd bytes), and a broken link must say so, naming the path.
/// </summary>
public static class ModelPath
{
    /// <summary>
    /// True when <paramref name="path"/> is a file, or a symbolic link (even a broken one): opening it then either
    /// works or says why it does not, instead of a caller reporting the file as simply absent.
    /// </summary>
    public static bool FileOrLinkExists(string path) => File.Exists(path) || IsLink(path);

    static bool IsLink(string path)
    {
        try { return new FileInfo(path).LinkTarget != null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException) { return false; }
    }

    /// <summary>Opens a file for reading through any links, with every failure a one-line <see cref="ModelFileException"/>.</summary>
    public static FileStream OpenRead(string path)
    {
        try
        {
            // bufferSize 1: callers map the file or read it whole; FileStream's own buffer would only be copied through.
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw CannotOpen(path, e);
        }
    }

    /// <summary>The whole file, refused beyond <paramref name="maxBytes"/> (checked on the opened file, so through links too).</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what)
    {
        using var fs = OpenRead(path);
        long length = fs.Length;
        if (length > maxBytes) throw new ModelFileException(path, $"{length} bytes is far too large for {what}");
        var bytes = new byte[length];
        try { fs.ReadExactly(bytes); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ModelFileException(path, $"cannot read: {OneLine(e.Message)}", e); }
        return bytes;
    }

    /// <summary>Why <paramref name="path"/> could not be opened: missing, a broken or looping link, a folder, or the OS's reason.</summary>
    public static ModelFileException CannotOpen(string path, Exception? e = null)
    {
        if (Directory.Exists(path)) return new ModelFileException(path, "is a folder, not a file", e);
        string? target = null;
        try { target = new FileInfo(path).LinkTarget; }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException) { }
        if (target != null)
        {
            try
            {
                var final = File.ResolveLinkTarget(path, returnFinalTarget: true);
                if (final != null && !final.Exists)
                    return new ModelFileException(path, $"file not found: it is a symbolic link to '{target}', and '{final.FullName}' does not exist", e);
            }
            catch (IOException)
            {
                // ELOOP: the chain of links never reaches a file.
                return new ModelFileException(path, $"is a symbolic link ('{target}') in a loop of links that never reaches a file", e);
            }
            catch (Exception x) when (x is UnauthorizedAccessException or ArgumentException or NotSupportedException) { }
        }
        if (e is FileNotFoundException or DirectoryNotFoundException || (e == null && !File.Exists(path)))
            return new ModelFileException(path, "file not found", e);
        return new ModelFileException(path, e == null ? "cannot be opened" : $"cannot be opened: {OneLine(e.Message)}", e);
    }

    static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
