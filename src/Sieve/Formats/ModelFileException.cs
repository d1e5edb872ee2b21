namespace Sieve.Formats;

/// <summary>
/// A model, tokenizer or config file that cannot be used, with the file and the problem named.
/// The CLI prints <see cref="Exception.Message"/> as its one line of error output.
/// </summary>
public sealed class ModelFileException(string path, string problem, Exception? inner = null)
    : IOException($"{path}: {Printable(problem)}", inner)
{
    public string FilePath { get; } = path;
    public string Problem { get; } = Printable(problem);

    /// <summary>
    /// Problems quote names read from corrupt files; control characters in them (NULs, escape sequences) would
    /// garble a terminal, so they are shown as \xNN.
    /// </summary>
    static string Printable(string s)
    {
        if (!s.Any(char.IsControl)) return s;
        var b = new System.Text.StringBuilder(s.Length + 16);
        foreach (char c in s) b.Append(char.IsControl(c) ? $"\\x{(int)c:X2}" : c);
        return b.ToString();
    }
}
