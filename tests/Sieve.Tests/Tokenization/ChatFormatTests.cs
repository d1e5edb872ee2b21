using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

public class ChatFormatTests
{
    static readonly ChatMessage[] Conversation =
    [
        ChatMessage.System("You are terse."),
        ChatMessage.User("Hi!"),
        ChatMessage.Assistant("Hello."),
        ChatMessage.User("Name a colour."),
    ];

    [Fact]
    public void ChatML()
    {
        Assert.Equal(
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n" +
            "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n",
            ChatFormat.FromName("chatml").Render(Conversation));
    }

    [Fact]
    public void Llama3()
    {
        Assert.Equal(
            "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatFormat.FromName("llama3").Render(Conversation));
    }

    [Fact]
    public void Llama2()
    {
        Assert.Equal(
            "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] Name a colour. [/INST]",
            ChatFormat.FromName("llama2").Render(Conversation));
    }

    [Fact]
    public void Mistral()
    {
        Assert.Equal(
            "[INST] You are terse.\n\nHi! [/INST]Hello.</s>[INST] Name a colour. [/INST]",
            ChatFormat.FromName("mistral").Render(Conversation));
    }

    [Fact]
    public void Gemma()
    {
        Assert.Equal(
            "<start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n" +
            "<start_of_turn>user\nName a colour.<end_of_turn>\n<start_of_turn>model\n",
            ChatFormat.FromName("gemma").Render(Conversation));
    }

    [Fact]
    public void Phi3()
    {
        Assert.Equal(
            "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nName a colour.<|end|>\n<|assistant|>\n",
            ChatFormat.FromName("phi3").Render(Conversation));
    }

    [Fact]
    public void WithoutGenerationPromptTheLastTurnIsClosed()
    {
        var msgs = new[] { ChatMessage.User("Hi") };
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n", ChatFormat.FromName("chatml").Render(msgs, addGenerationPrompt: false));
        Assert.Equal("<start_of_turn>user\nHi<end_of_turn>\n", ChatFormat.FromName("gemma").Render(msgs, addGenerationPrompt: false));
    }

    [Theory]
    [InlineData("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}", ChatTemplateFamily.ChatML)]
    [InlineData("{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}{% endfor %}", ChatTemplateFamily.Llama3)]
    [InlineData("{% if messages[0]['role'] == 'system' %}{% set sys = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}{% endif %}{{ bos_token + '[INST] ' + content + ' [/INST]' }}", ChatTemplateFamily.Llama2)]
    [InlineData("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}", ChatTemplateFamily.Mistral)]
    [InlineData("{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}", ChatTemplateFamily.Gemma)]
    [InlineData("something unrecognised", ChatTemplateFamily.ChatML)]
    [InlineData(null, ChatTemplateFamily.ChatML)]
    public void DetectsTheFamilyFromTheJinjaTemplate(string? template, ChatTemplateFamily family)
    {
        Assert.Equal(family, ChatFormat.Detect(template));
    }

    [Fact]
    public void Phi3CheckpointTemplateIsDetectedAndItsRenderingEncodesToSpecialTokens()
    {
        var tok = SentencePieceVectorTests.Load("phi-3");
        Assert.Equal(ChatTemplateFamily.Phi3, ChatFormat.For(tok).Family);
        Assert.Equal(ChatTemplateFamily.ChatML, ChatFormat.For(tok, overrideName: "ChatML").Family);
        var prompt = ChatFormat.For(tok).Render([ChatMessage.User("Hello")]);
        // BOS from the tokenizer, then <|user|> Hello <|end|> <|assistant|>: Phi-3's special tokens eat the newlines.
        Assert.Equal(new[] { 1, 32010, 15043, 32007, 32001 }, tok.Encode(prompt, parseSpecial: true));
    }

    [Fact]
    public void UnknownOverrideNameIsRejected()
    {
        Assert.Throws<ArgumentException>(() => ChatFormat.FromName("vicuna"));
    }
}
