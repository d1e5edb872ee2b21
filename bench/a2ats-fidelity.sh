#!/usr/bin/env bash
# A²ATS fidelity beside its peers: `sieve perplexity --fidelity` through the decode path at each budget, one row per
# method: mean over layers of recall@K (against the exact top-|selection| of the group-mean query, the same rule for
# every method), exact attention mass on the attended tokens, output cosine, tokens attended per KV head, then KL from
# dense, top-1 agreement and perplexity.
#
#   bench/a2ats-fidelity.sh MODEL TEXT CODEBOOKS [PLAIN_CODEBOOKS]
#
# CODEBOOKS from `sieve a2ats calibrate` on a text disjoint from TEXT; PLAIN_CODEBOOKS from the same with --plain
# (k-means on the keys, H = I) adds the ablation row "a2ats, plain k-means". Settings (environment):
# BUDGETS="3% 10%", METHODS="a2ats quest selfindex exact-topk random", ARGS="" (more perplexity options, e.g. -c 2048).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model=${1:?usage: bench/a2ats-fidelity.sh MODEL TEXT CODEBOOKS [PLAIN_CODEBOOKS]}
text=${2:?text}
books=${3:?codebooks}
plain=${4:-}
budgets=${BUDGETS:-3% 10%}
methods=${METHODS:-a2ats quest selfindex exact-topk random}
dotnet build "$root/src/Sieve.Cli" -c Release -v q -nologo >/dev/null
sieve() { dotnet "$root/src/Sieve.Cli/bin/Release/net10.0/Sieve.Cli.dll" "$@"; }

row() {   # name budget json
  jq -r --arg name "$1" --arg b "$2" '[$name, $b,
      ([.layers[].recall | select(. != null)] | if length > 0 then add / length else null end),
      ([.layers[].attention_mass] | add / length), ([.layers[].cosine] | add / length), ([.layers[].attended_tokens] | add / length),
      .kl_mean, .top1_agreement, .ppl, .base_ppl]
    | "| \(.[0]) | \(.[1]) | \(if .[2] == null then "–" else (.[2] * 1000 | round / 1000) end) | \(.[3] * 1000 | round / 1000) | \(.[4] * 10000 | round / 10000) | \(.[5] * 10 | round / 10) | \(.[6] * 10000 | round / 10000) | \(.[7] * 1000 | round / 1000) | \(.[8] * 1000 | round / 1000) (dense \(.[9] * 1000 | round / 1000)) |"' <<<"$3"
}

echo "| --kv | budget | recall@K | attention mass | output cosine | attended / head | KL from dense | top-1 | PPL |"
echo "|---|---|---|---|---|---|---|---|---|"
for b in $budgets; do
  for m in $methods; do
    row "$m" "$b" "$(sieve perplexity -m "$model" -f "$text" --kv "$m" --budget "$b" --codebooks "$books" --fidelity --json ${ARGS:-} 2>/dev/null)"
    if [[ $m == a2ats && -n $plain ]]; then
      row "a2ats, plain k-means" "$b" "$(sieve perplexity -m "$model" -f "$text" --kv a2ats --budget "$b" --codebooks "$plain" --fidelity --json ${ARGS:-} 2>/dev/null)"
    fi
  done
done
