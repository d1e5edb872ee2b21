#!/usr/bin/env bash
# A²ATS's claim, long-context serving throughput at a fixed memory budget: on a random-weight llama-1b shape with
# every sequence holding DEPTH positions (synthetic fill, copied into each sequence), aggregate decode tokens/s of
#   dense-f16, all KV in RAM: as many sequences as fit the RAM budget (B_DENSE = ⌊budget / KV per sequence⌋), against
#   a2ats with --kv-offload: codes, sinks and the local window in RAM, full-precision KV in a file per sequence
#   (B_A2ATS sequences, limited here by the disk, not by the RAM budget).
#
#   bench/a2ats-throughput.sh [B_DENSE] [B_A2ATS]
#
# Settings (environment): SHAPE=llama-1b TYPE=q8_0 DEPTH=32768 GEN=8 (timed decode steps) BUDGET_MIB=4096
# OFFLOAD=/tmp/sieve-a2ats-kv (a directory on a disk with B_A2ATS × KV-per-sequence free) THREADS=2 REPS=1.
# While it runs, /tmp/bench-running exists (other work on this shared machine pauses its builds).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shape=${SHAPE:-llama-1b} type=${TYPE:-q8_0} depth=${DEPTH:-32768} gen=${GEN:-8} budget=${BUDGET_MIB:-4096}
offload=${OFFLOAD:-/tmp/sieve-a2ats-kv} threads=${THREADS:-2} reps=${REPS:-1}
b_dense=${1:-5} b_a2ats=${2:-16}
dotnet build "$root/src/Sieve.Cli" -c Release -v q -nologo >/dev/null
sieve() { dotnet "$root/src/Sieve.Cli/bin/Release/net10.0/Sieve.Cli.dll" "$@"; }
while [[ -e /tmp/bench-running ]]; do sleep 10; done
touch /tmp/bench-running; trap 'rm -f /tmp/bench-running' EXIT
mkdir -p "$offload"
out=$(mktemp -d)
common=(bench --shape "$shape" --type "$type" -p 0 -n "$gen" -r "$reps" -t "$threads" -d "$depth" --json)
sieve "${common[@]}" --batch "$b_dense" --kv dense-f16 >"$out/dense.json" 2>"$out/dense.err"
sieve "${common[@]}" --batch "$b_a2ats" --kv a2ats --kv-offload "$offload" >"$out/a2ats.json" 2>"$out/a2ats.err"
cat "$out/dense.err" "$out/a2ats.err" | grep -E "largest KV|peak|codebooks" >&2 || true
jq -rs --argjson budget "$budget" '
  def mib: . / 1048576;
  (.[0][0]) as $d | (.[1][0]) as $a |
  "| kv | sequences | KV in RAM per sequence | in RAM, all | in files | read back per step | decode t/s (aggregate) | ms per step |",
  "|---|---|---|---|---|---|---|---|",
  ($d, $a | "| \(.kv) | \(.n_parallel) | \(.kv_bytes / .n_parallel | mib | floor) MiB | \(.kv_bytes | mib | floor) MiB | \(.kv_offloaded_bytes | mib | floor) MiB | \(.offload_read_bytes_per_step | mib | floor) MiB | \(.speed_tg * 100 | round / 100) | \(.ms_per_step * 10 | round / 10) |"),
  "",
  "sequences that fit \($budget) MiB of RAM for KV: dense-f16 \($budget / ($d.kv_bytes / $d.n_parallel / 1048576) | floor), a2ats \($budget / ($a.kv_bytes / $a.n_parallel / 1048576) | floor) (codebooks, shared, not counted per sequence)",
  "aggregate decode speed-up a2ats (B \($a.n_parallel)) / dense-f16 (B \($d.n_parallel)): \($a.speed_tg / $d.speed_tg * 100 | round / 100)×"
' "$out/dense.json" "$out/a2ats.json"
rm -rf "$offload"/* "$out"
