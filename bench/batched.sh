#!/usr/bin/env bash
# Aggregate decode (and prefill) tokens/s of B parallel sequences: `sieve bench --batch` beside llama.cpp's
# llama-batched-bench on the same GGUF file, runs alternating engines in ABBA order (the machine is shared and noisy).
#
#   bench/batched.sh [MODEL]
#
# MODEL defaults to /tmp/llama-1b-q8_0.gguf; when the file is missing it is written first with
# `./sieve bench --shape $SHAPE --type $TYPE --save MODEL` (random weights, llama-1b Q8_0 by default).
# Settings (environment): BATCH=1,2,4,8,16 PROMPT=128 GEN=128 THREADS=2 REPS=3 (runs of each engine), KV=dense
# (sieve's --kv: dense is F32; dense-f16 stores keys and values as llama.cpp's default F16 cache does),
# LLAMA=/tmp/llama.cpp/build/bin/llama-batched-bench, LIMIT=3600 (seconds a run may take), OUT=folder for the raw
# outputs (default: a new temporary folder, printed at the end). Each run of either engine measures every B once
# (sieve -r 1); the table gives the mean ± sd over REPS runs, and the ratio sieve/llama.cpp of the means.
#
# llama-batched-bench columns → sieve bench --batch: -npp = -p, -ntg = -n, -npl = --batch, is_pp_shared 0 for both;
# -c is B_max × (PROMPT + GEN) or 4096 if larger (every sequence needs its own positions), -b 2048 -ub 512 as in its
# README (sieve's steps carry at most 512 rows, or B if larger).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model=${1:-/tmp/llama-1b-q8_0.gguf}
batch=${BATCH:-1,2,4,8,16}
prompt=${PROMPT:-128}
gen=${GEN:-128}
threads=${THREADS:-2}
reps=${REPS:-3}
kv=${KV:-dense}
llama=${LLAMA:-/tmp/llama.cpp/build/bin/llama-batched-bench}
limit=${LIMIT:-3600}
out=${OUT:-$(mktemp -d /tmp/sieve-batched.XXXXXX)}
mkdir -p "$out"

[ -x "$llama" ] || { echo "batched.sh: $llama: not an executable (build llama.cpp's llama-batched-bench, or set LLAMA)" >&2; exit 1; }
if [ ! -f "$model" ]; then
  echo "batched.sh: $model is missing; writing a random ${SHAPE:-llama-1b} ${TYPE:-q8_0} model there" >&2
  "$root/sieve" bench --shape "${SHAPE:-llama-1b}" --type "${TYPE:-q8_0}" --save "$model"
fi
max_b=$(tr ',' '\n' <<<"$batch" | sort -n | tail -1)
ctx=$((max_b * (prompt + gen)))
((ctx < 4096)) && ctx=4096

run_sieve() {   # rep
  timeout "$limit" "$root/sieve" bench --model "$model" --batch "$batch" -p "$prompt" -n "$gen" -t "$threads" --kv "$kv" -r 1 --json \
    >"$out/sieve-$1.json" 2>"$out/sieve-$1.err" || { echo "batched.sh: sieve run $1 failed; see $out/sieve-$1.err" >&2; exit 1; }
}

run_llama() {   # rep
  timeout "$limit" "$llama" -m "$model" -c "$ctx" -b 2048 -ub 512 -npp "$prompt" -ntg "$gen" -npl "$batch" -t "$threads" \
    --output-format jsonl >"$out/llama-$1.jsonl" 2>"$out/llama-$1.err" || { echo "batched.sh: llama-batched-bench run $1 failed; see $out/llama-$1.err" >&2; exit 1; }
}

"$root/sieve" --help >/dev/null   # build once, before any timing
for ((r = 0; r < reps; r++)); do
  echo "batched.sh: run $((r + 1))/$reps" >&2
  if ((r % 2 == 0)); then run_sieve $r; run_llama $r; else run_llama $r; run_sieve $r; fi
done

python3 - "$out" "$reps" "$kv" <<'EOF'
import json, statistics, sys
out, reps = sys.argv[1], int(sys.argv[2])
rows = {}   # (engine, B) -> {"tg": [...], "pp": [...]}
for r in range(reps):
    for x in json.load(open(f"{out}/sieve-{r}.json")):
        d = rows.setdefault(("sieve", x["n_parallel"]), {"tg": [], "pp": []})
        d["tg"].append(x["speed_tg"]); d["pp"].append(x["speed_pp"])
    for line in open(f"{out}/llama-{r}.jsonl"):
        if not line.startswith("{"): continue
        x = json.loads(line)
        d = rows.setdefault(("llama", x["pl"]), {"tg": [], "pp": []})
        d["tg"].append(x["speed_tg"]); d["pp"].append(x["speed_pp"])

def cell(v):
    return f"{statistics.mean(v):9.2f} ± {statistics.stdev(v) if len(v) > 1 else 0:7.2f}" if v else f"{'–':>19}"

def ratio(a, b):
    return f"{statistics.mean(a) / statistics.mean(b):6.2f}" if a and b and statistics.mean(b) > 0 else f"{'–':>6}"

bs = sorted({b for _, b in rows})
print(f"aggregate tokens/s, mean ± sd over {reps} runs of each engine (ABBA order); ratio = sieve / llama.cpp; sieve KV {sys.argv[3]}")
print(f"| {'B':>4} | {'sieve S_TG t/s':>19} | {'llama S_TG t/s':>19} | {'ratio':>6} | {'sieve S_PP t/s':>19} | {'llama S_PP t/s':>19} | {'ratio':>6} |")
print(f"|{'-' * 6}|{'-' * 21}|{'-' * 21}|{'-' * 8}|{'-' * 21}|{'-' * 21}|{'-' * 8}|")
for b in bs:
    s, l = rows.get(("sieve", b), {"tg": [], "pp": []}), rows.get(("llama", b), {"tg": [], "pp": []})
    print(f"| {b:>4} | {cell(s['tg'])} | {cell(l['tg'])} | {ratio(s['tg'], l['tg'])} | {cell(s['pp'])} | {cell(l['pp'])} | {ratio(s['pp'], l['pp'])} |")
for engine in ("sieve", "llama"):
    one = rows.get((engine, 1), {}).get("tg")
    if one and bs[-1] > 1:
        print(f"{engine}: decode at B={bs[-1]} is {statistics.mean(rows[(engine, bs[-1])]['tg']) / statistics.mean(one):.2f}× B=1"
              + (f"; B=8 is {statistics.mean(rows[(engine, 8)]['tg']) / statistics.mean(one):.2f}× B=1" if (engine, 8) in rows and bs[-1] != 8 else ""))
EOF
echo "batched.sh: raw outputs in $out" >&2
