namespace Sieve.Tokenization;

/// <summary>
/// Kind of a vocabulary entry, numbered as GGUF <c>tokenizer.ggml.token_type</c> and SentencePiece's
/// <c>ModelProto.SentencePiece.Type</c> both number them (the two agree, which is why one enum serves both).
/// </summary>
public enum TokenType
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}
