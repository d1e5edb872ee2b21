using Sieve.Formats.Gguf;

namespace Sieve.Tokenization;

/// <summary>Builds the right tokenizer for a checkpoint from the vocabulary it carries.</summary>
public static class TokenizerFactory
{
    /// <summary>From GGUF <c>tokenizer.ggml.*</c> metadata (model <c>llama</c> = SentencePiece, <c>gpt2</c> = byte-level BPE).</summary>
    public static TextTokenizer FromGguf(GgufFile gguf) => throw new NotImplementedException("GGUF tokenizer: in progress");

    /// <summary>From a Hugging Face folder: <c>tokenizer.json</c> and <c>tokenizer_config.json</c>.</summary>
    public static TextTokenizer FromHuggingFace(string folder) => throw new NotImplementedException("HF tokenizer: in progress");

    /// <summary>From a llama2.c <c>tokenizer.bin</c> (e.g. tok512.bin).</summary>
    public static TextTokenizer FromLlama2c(string path, int vocabSize) => throw new NotImplementedException("llama2.c tokenizer: in progress");
}
