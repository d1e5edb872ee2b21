namespace Sieve.Formats;

/// <summary>
/// A model, tokenizer or config file that cannot be used, with the file and the problem named.
/// The CLI prints <see cref="Exception.Message"/> as its one line of error output.
/// </summary>
public sealed class ModelFileException(string path, string problem, Exception? inner = null)
    : IOException($"{path}: {problem}", inner)
{
    public string FilePath { get; } = path;
    public string Problem { get; } = problem;
}
