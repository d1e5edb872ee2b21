using Sieve.Formats;
using Sieve.Formats.Gguf;

namespace Sieve.Tokenization;

/// <summary>Builds the right tokenizer for a checkpoint from the vocabulary it carries.</summary>
public static class TokenizerFactory
{
    /// <summary>From GGUF <c>tokenizer.ggml.*</c> metadata (model <c>llama</c> = SentencePiece, <c>gpt2</c> = byte-level BPE).</summary>
    public static TextTokenizer FromGguf(GgufFile gguf) => FromGgufMetadata(gguf.Metadata, gguf.Path);

    /// <summary>
    /// From a GGUF-style metadata dictionary: what <see cref="FromGguf"/> reads, or what
    /// <see cref="TextTokenizer.ToGgufMetadata"/> wrote. <paramref name="sourceName"/> is named in errors.
    /// </summary>
    public static TextTokenizer FromGgufMetadata(IReadOnlyDictionary<string, object> meta, string sourceName)
        => GgufTokenizerLoader.Load(new MetadataValues(meta, sourceName));

    /// <summary>
    /// From a Hugging Face folder: <c>tokenizer.json</c> and <c>tokenizer_config.json</c>. With
    /// <paramref name="modelVocabSize"/>, added tokens whose ids fall past the model's embedding rows are left out.
    /// </summary>
    public static TextTokenizer FromHuggingFace(string folder, int? modelVocabSize = null) => HuggingFaceTokenizerLoader.Load(folder, modelVocabSize);

    /// <summary>From a llama2.c <c>tokenizer.bin</c> (e.g. tok512.bin).</summary>
    public static TextTokenizer FromLlama2c(string path, int vocabSize) => Llama2cTokenizerLoader.Load(path, vocabSize);
}
