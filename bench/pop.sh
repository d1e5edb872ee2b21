#!/usr/bin/env bash
# POP's prefill speed-up: `sieve bench` dense vs `--pop N` on the same GGUF, alternating (ABBA), one prompt length per
# run. Decode (-n) always runs the full model, so its ratio should be 1.
#
#   bench/pop.sh MODEL N [PROMPTS] [REPS]
#
# MODEL: a GGUF (e.g. written by `./sieve bench --shape llama-1b --type q8_0 --save /tmp/llama-1b-q8_0.gguf`);
# N: layers skipped in prefill (the last N); PROMPTS: comma-separated prompt lengths (default 512,2048);
# REPS: runs of each variant per prompt length (default 2). Environment: THREADS=2 GEN=32 OUT=folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model=$1; n=$2; prompts=${3:-512,2048}; reps=${4:-2}
threads=${THREADS:-2}; gen=${GEN:-32}
out=${OUT:-$(mktemp -d /tmp/sieve-pop.XXXXXX)}
mkdir -p "$out"
"$root/sieve" --help >/dev/null   # build once, before any timing
dotnet build-server shutdown >/dev/null 2>&1 || true
run() {   # variant prompt rep
  local extra=(); [ "$1" = pop ] && extra=(--pop "$n")
  "$root/sieve" bench -m "$model" -p "$2" -n "$gen" -r 1 -t "$threads" --json "${extra[@]}" >"$out/$1-$2-$3.json" 2>"$out/$1-$2-$3.err" \
    || { echo "pop.sh: $1 p=$2 failed; see $out/$1-$2-$3.err" >&2; exit 1; }
}
for p in ${prompts//,/ }; do
  for ((r = 0; r < reps; r++)); do
    echo "pop.sh: p=$p run $((r + 1))/$reps" >&2
    if ((r % 2 == 0)); then run dense "$p" $r; run pop "$p" $r; else run pop "$p" $r; run dense "$p" $r; fi
  done
done
python3 - "$out" "$n" <<'PY'
import json, glob, os, statistics, sys
out, n = sys.argv[1], sys.argv[2]
rows = {}
for f in glob.glob(os.path.join(out, "*.json")):
    variant, p, _ = os.path.basename(f)[:-5].split("-")
    for rec in json.load(open(f)):
        test = "pp" if rec["n_prompt"] > 0 else "tg"
        rows.setdefault((int(p), test, variant), []).append(rec["avg_ts"])
def fmt(v): return f"{statistics.mean(v):.2f} ± {statistics.stdev(v) if len(v) > 1 else 0:.2f} ({len(v)})"
print(f"| prompt | test | dense t/s | POP (last {n} layers) t/s | POP / dense |")
print("|---|---|---|---|---|")
for (p, test) in sorted({(k[0], k[1]) for k in rows}):
    d, q = rows.get((p, test, "dense"), []), rows.get((p, test, "pop"), [])
    if d and q: print(f"| {p} | {test} | {fmt(d)} | {fmt(q)} | {statistics.mean(q) / statistics.mean(d):.3f} |")
print(f"raw outputs: {out}")
PY
