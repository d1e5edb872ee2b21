#!/usr/bin/env bash
# Activation sparsity's decode speed: `sieve bench` calibrates each method on random tokens (not timed), then times
# every method × target beside a dense row run right before it, in one process (pairs alternate, as everywhere in
# bench/). Prints a table of t/s, the ratio to the paired dense row, measured sparsity and weight bytes per token.
#
#   bench/sparsity.sh MODEL [METHODS] [TARGETS] [GEN] [REPS]
#
# MODEL: a GGUF (e.g. `./sieve bench --shape llama-1b --type q8_0 --save /tmp/llama-1b-q8_0.gguf`); METHODS default
# cats,chess,chess+,teal; TARGETS default 0.4,0.5,0.7; GEN decode tokens per repetition (32); REPS (2).
# Environment: THREADS=2 OUT=file.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model=$1; methods=${2:-cats,chess,chess+,teal}; targets=${3:-0.4,0.5,0.7}; gen=${4:-32}; reps=${5:-2}
out=${OUT:-$(mktemp /tmp/sieve-sparsity.XXXXXX.json)}
"$root/sieve" --help >/dev/null   # build once, before any timing
dotnet build-server shutdown >/dev/null 2>&1 || true
"$root/sieve" bench -m "$model" -p 0 -n "$gen" -r "$reps" -t "${THREADS:-2}" --sparsity-method "$methods" --sparsity "$targets" --json >"$out"
python3 - "$out" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
dense = [r for r in rows if not r.get("sparsity_method")]
print(f"model {rows[0]['model_filename']}, {rows[0]['weight_type']}, {rows[0]['n_threads']} threads, tg{rows[0]['n_gen']}")
print("| method | target | t/s | paired dense t/s | × dense | measured sparsity (sites) | weight MiB/token | dense MiB/token |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    m = r.get("sparsity_method")
    if not m or m == "none": continue
    meas = r.get("sparsity_measured") or {}
    lo, hi = (min(meas.values()), max(meas.values())) if meas else (float("nan"),) * 2
    d = r["avg_ts"] / r["speedup_vs_dense"] if r.get("speedup_vs_dense") else float("nan")
    print(f"| {m} | {r['sparsity_target']:.0%} | {r['avg_ts']:.2f} | {d:.2f} | {r['speedup_vs_dense']:.2f} | {lo:.1%}–{hi:.1%} | "
          f"{r['decode_weight_bytes_per_token'] / 2**20:.0f} | {r['dense_weight_bytes_per_token'] / 2**20:.0f} |")
PY
echo "json: $out" >&2
