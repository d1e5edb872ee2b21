using Google.Protobuf;

namespace Sieve.Tokenization;

/// <summary>
/// Writes a SentencePiece <c>ModelProto</c> (the bytes of a <c>tokenizer.model</c> file) from a vocabulary held
/// elsewhere. Microsoft.ML.Tokenizers only builds its SentencePiece tokenizer from such a stream, and GGUF and
/// llama2.c files carry the same pieces, scores and types as plain arrays, so we serialise them here.
/// Field numbers follow sentencepiece_model.proto.
/// </summary>
static class SentencePieceModelProto
{
    // ModelProto
    const int PiecesField = 1, TrainerSpecField = 2, NormalizerSpecField = 3;
    // ModelProto.SentencePiece
    const int PieceField = 1, ScoreField = 2, TypeField = 3;
    // TrainerSpec
    const int ModelTypeField = 3, VocabSizeField = 4, ByteFallbackField = 35,
        UnkIdField = 40, BosIdField = 41, EosIdField = 42, PadIdField = 43;
    const int ModelTypeBpe = 2;
    // NormalizerSpec
    const int NameField = 1, AddDummyPrefixField = 3, RemoveExtraWhitespacesField = 4, EscapeWhitespacesField = 5;

    public static byte[] Build(IReadOnlyList<string> pieces, IReadOnlyList<float> scores, IReadOnlyList<TokenType> types,
        int unkId, int bosId, int eosId, int padId, bool addDummyPrefix, bool byteFallback)
    {
        using var ms = new MemoryStream();
        var o = new CodedOutputStream(ms);
        for (int i = 0; i < pieces.Count; i++)
        {
            var piece = Message(p =>
            {
                p.WriteTag(PieceField, WireFormat.WireType.LengthDelimited); p.WriteString(pieces[i]);
                p.WriteTag(ScoreField, WireFormat.WireType.Fixed32); p.WriteFloat(scores[i]);
                p.WriteTag(TypeField, WireFormat.WireType.Varint); p.WriteInt32((int)ProtoType(types[i]));
            });
            o.WriteTag(PiecesField, WireFormat.WireType.LengthDelimited); o.WriteBytes(piece);
        }
        var trainer = Message(t =>
        {
            t.WriteTag(ModelTypeField, WireFormat.WireType.Varint); t.WriteInt32(ModelTypeBpe);
            t.WriteTag(VocabSizeField, WireFormat.WireType.Varint); t.WriteInt32(pieces.Count);
            t.WriteTag(ByteFallbackField, WireFormat.WireType.Varint); t.WriteBool(byteFallback);
            t.WriteTag(UnkIdField, WireFormat.WireType.Varint); t.WriteInt32(unkId);
            t.WriteTag(BosIdField, WireFormat.WireType.Varint); t.WriteInt32(bosId);
            t.WriteTag(EosIdField, WireFormat.WireType.Varint); t.WriteInt32(eosId);
            t.WriteTag(PadIdField, WireFormat.WireType.Varint); t.WriteInt32(padId);
        });
        o.WriteTag(TrainerSpecField, WireFormat.WireType.LengthDelimited); o.WriteBytes(trainer);
        var normalizer = Message(n =>
        {
            n.WriteTag(NameField, WireFormat.WireType.LengthDelimited); n.WriteString("identity");
            n.WriteTag(AddDummyPrefixField, WireFormat.WireType.Varint); n.WriteBool(addDummyPrefix);
            // llama.cpp keeps runs of spaces ("  Hello" → "▁▁" "Hello"), so SentencePiece must not collapse them.
            n.WriteTag(RemoveExtraWhitespacesField, WireFormat.WireType.Varint); n.WriteBool(false);
            n.WriteTag(EscapeWhitespacesField, WireFormat.WireType.Varint); n.WriteBool(true);
        });
        o.WriteTag(NormalizerSpecField, WireFormat.WireType.LengthDelimited); o.WriteBytes(normalizer);
        o.Flush();
        return ms.ToArray();
    }

    // Undefined has no SentencePiece counterpart; llama.cpp treats it as an ordinary piece.
    static TokenType ProtoType(TokenType t) => t == TokenType.Undefined ? TokenType.Normal : t;

    static ByteString Message(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        var o = new CodedOutputStream(ms);
        write(o);
        o.Flush();
        return ByteString.CopyFrom(ms.ToArray());
    }
}
