// Writes the expected token ids in tests/fixtures/real-tokenizers/{gemma3,qwen3}.json from an independent reference:
// transformers.js's tokenizer port as published in the npm package @lenml/tokenizers (3.7.2), fed the real
// tokenizer.json / tokenizer_config.json that scripts/fetch-tokenizers.sh puts in models/tokenizers/.
// Sieve is not involved. Run it OUTSIDE the repository (it needs node_modules):
//   mkdir /tmp/ref && cd /tmp/ref && npm init -y && npm install @lenml/tokenizers@3.7.2
//   node /path/to/repo/scripts/make-tokenizer-vectors.js /path/to/repo
"use strict";
const fs = require("fs");
const path = require("path");
// Resolved from the current directory, where the reference was installed (not beside this script).
const { TokenizerLoader } = require(require.resolve("@lenml/tokenizers", { paths: [process.cwd()] }));

const repo = process.argv[2];
if (!repo) { console.error("usage: node make-tokenizer-vectors.js REPO_ROOT"); process.exit(2); }

function load(name) {
  const dir = path.join(repo, "models", "tokenizers", name);
  return TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  });
}

// Hand-picked: spaces, newlines, tabs, emoji (with ZWJ and skin tone), CJK, digits, punctuation runs, accents,
// code, HTML (Gemma has <table>… as added tokens), literal '▁', control characters and rare code points
// (byte fallback in Gemma), and chat markers (parsed as special tokens, as Hugging Face does by default).
const common = [
  "Hello world", "Hello, world!", " Hello  world", "   leading and trailing   ", "a\n\nb",
  "line1\nline2\r\nline3\tend", "\n", "\n\n\n\n", "\n".repeat(40), " ".repeat(40) + "x", "\t\t  \n \n",
  "😀👍🏽 family 👨‍👩‍👧 ok", "日本語のテキスト 中文 한국어", "Привет, мир! Ελληνικά", "مرحبا بالعالم",
  "12345 3.14159 1,000,000 2024-06-01", "123456789012345678901234567890", "!!!!!!", "?!?!... --- ***",
  "Ça va? naïve café façade Æsir", "I'm here, you're there; we'll see. DON'T", "def f(x):\n    return x**2  # square\n",
  "<table><tr><td>x</td></tr></table>", "<h1>Title</h1>", "▁ literal ▁▁ marks", "\u0000\u0001\u0007\u001f",
  "\uE000 private \uF8FF", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀𠀁𪚥", "a\u200Bb\u00A0c\u3000d", "ＦＵＬＬ ｗｉｄｔｈ", "x ", " ", "",
  "The quick brown fox jumps over the lazy dog. Sphinx of black quartz, judge my vow!",
];
const perModel = {
  gemma3: [
    "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n", "<bos>text<eos>", "<unused0><mask>[multimodal]",
    "<start_of_image>", "x<end_of_turn>y",
  ],
  qwen3: [
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", "<think>\nhmm\n</think>\n\nanswer", "<|endoftext|>",
    "<tool_call>{\"a\": 1}</tool_call>",
  ],
};

// A deterministic stress set: random strings from a pool that mixes the hard cases above.
function mulberry32(a) {
  return () => { a |= 0; a = a + 0x6D2B79F5 | 0; let t = Math.imul(a ^ a >>> 15, 1 | a);
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t; return ((t ^ t >>> 14) >>> 0) / 4294967296; };
}
const pool = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", " ", " ", " ", "  ", "\n", "\n\n", "\t",
  ".", ",", "!", "?", "'", "\"", "-", "_", "(", ")", "<", ">", "/", "é", "ß", "ñ", "日", "本", "語", "中", "文", "한",
  "😀", "👍🏽", "▁", "\u0001", "𝔘", "the", "ing", " the", " of", "tion", "'s", "'re", "http://", "www.", "1999", "\r\n"];
function stress(seed, count) {
  const rnd = mulberry32(seed), out = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rnd() * 24);
    let s = "";
    for (let j = 0; j < n; j++) s += pool[Math.floor(rnd() * pool.length)];
    out.push(s);
  }
  return out;
}

for (const name of ["gemma3", "qwen3"]) {
  const tok = load(name);
  const texts = [...common, ...perModel[name], ...stress(name === "gemma3" ? 3 : 7, 150)];
  const cases = texts.map(text => ({ text, ids: Array.from(tok.encode(text, { add_special_tokens: false })) }));
  const withSpecial = Array.from(tok.encode("Hello", { add_special_tokens: true }));
  const out = {
    reference: "@lenml/tokenizers 3.7.2 (transformers.js tokenizer port), encode(text, { add_special_tokens: false })",
    tokenizer: fs.readFileSync(path.join(repo, "models", "tokenizers", name, "SOURCE"), "utf8").trim(),
    hello_with_special_tokens: withSpecial,
    cases,
  };
  const dest = path.join(repo, "tests", "fixtures", "real-tokenizers", name + ".json");
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.writeFileSync(dest, JSON.stringify(out, null, 0).replace(/\},\{/g, "},\n{") + "\n");
  console.log(name, cases.length, "cases ->", dest);
}
