#!/usr/bin/env bash
# Gemma 2 / Gemma 3 speed: prefill and decode beside llama.cpp on the same GGUF file, and decode at depth, where the
# sliding layers' ring keeps the per-token cost flat (issue 10's closing benchmark). Runs alternate engines in ABBA
# order (the machine is shared and noisy).
#
#   bench/gemma.sh
#
# 1. pp/tg: `sieve bench -p PROMPT -n GEN -r 1` beside `llama-bench -p PROMPT -n GEN -r 1`, REPS runs of each engine,
#    on GEMMA2 and GEMMA3. llama.cpp b4748 knows `gemma2` but not `gemma3` (added to llama.cpp later): when
#    llama-bench refuses a file, its first error line is printed and that model's row has sieve figures only.
# 2. depth: `sieve bench -n DGEN -d DEPTHS --fill synthetic -r 2` on GEMMA3 (5 of 6 layers slide, window 512) and
#    GEMMA2 (every other layer, window 4096; its published context is 8192, so its deepest test is 8192 − DGEN − 1),
#    and for contrast `--shape llama-1b` at 0 and the deepest depth (no windows: every layer reads the whole cache;
#    a shape, whose context grows to fit, since a saved llama-1b file holds 4096 positions).
#    With DEEP=1 (default) also llama-batched-bench on GEMMA2: decode of DGEN tokens after a DEEP_PP-token prompt and
#    after a 128-token one (b4748 masks the window but keeps and reads a full-length cache). Its 8192-token prefill
#    takes minutes on two cores; DEEP=0 skips it.
#
# Missing models are written first with `sieve bench --shape SHAPE --type q8_0 -p 0 -n 1 -d CONTEXT-2 --save FILE`
# (random weights; the -d makes the file's context_length the published one, 32768 / 8192: a plain --save writes 4096).
# Settings (environment): GEMMA2=/tmp/gemma2-2b-q8_0.gguf GEMMA3=/tmp/gemma3-1b-q8_0.gguf PROMPT=512 GEN=128 THREADS=2 REPS=3 DEPTHS=0,2048,8192 DGEN=32 DEEP=1 DEEP_PP=8192
# KV=dense (sieve's --kv; dense-f16 stores global layers in F16 as llama.cpp's default cache does, its sliding
# layers' rings stay F32) LLAMA_BIN=/tmp/llama.cpp/build/bin LIMIT=3600 (seconds a run may take) OUT=folder for the raw outputs (default: a
# new temporary folder, printed at the end). STAGES=pp,depth picks the parts to run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
gemma2=${GEMMA2:-/tmp/gemma2-2b-q8_0.gguf}
gemma3=${GEMMA3:-/tmp/gemma3-1b-q8_0.gguf}
prompt=${PROMPT:-512}
gen=${GEN:-128}
threads=${THREADS:-2}
reps=${REPS:-3}
depths=${DEPTHS:-0,2048,8192}
dgen=${DGEN:-32}
deep=${DEEP:-1}
deep_pp=${DEEP_PP:-8192}
kv=${KV:-dense}
bin=${LLAMA_BIN:-/tmp/llama.cpp/build/bin}
limit=${LIMIT:-3600}
stages=${STAGES:-pp,depth}
out=${OUT:-$(mktemp -d /tmp/sieve-gemma.XXXXXX)}
mkdir -p "$out"

for x in llama-bench llama-batched-bench; do
  [ -x "$bin/$x" ] || { echo "gemma.sh: $bin/$x: not an executable (build llama.cpp, or set LLAMA_BIN)" >&2; exit 1; }
done
"$root/sieve" --help >/dev/null   # build once, before any timing
dll="$root/src/Sieve.Cli/bin/Release/net10.0/Sieve.Cli.dll"
for x in "gemma2-2b:8192:$gemma2" "gemma3-1b:32768:$gemma3"; do
  IFS=: read -r shape ctx file <<<"$x"
  if [ ! -f "$file" ]; then
    echo "gemma.sh: $file is missing; writing a random $shape q8_0 model there" >&2
    dotnet "$dll" bench --shape "$shape" --type q8_0 -p 0 -n 1 -d $((ctx - 2)) --save "$file"
  fi
done
dotnet build-server shutdown >/dev/null 2>&1 || true   # idle build servers hold memory and wake up during timing

run_sieve() {   # tag model-or-shape args...
  local tag=$1 src=(-m "$2"); shift 2
  [ -f "${src[1]}" ] || src=(--shape "${src[1]}" --type q8_0)
  timeout "$limit" dotnet "$dll" bench "${src[@]}" -t "$threads" --kv "$kv" --json "$@" >"$out/sieve-$tag.json" 2>"$out/sieve-$tag.err" \
    || { echo "gemma.sh: sieve run $tag failed; see $out/sieve-$tag.err" >&2; exit 1; }
}

run_llama() {   # tag model -> 0, or 1 when llama.cpp refuses the file
  timeout "$limit" "$bin/llama-bench" -m "$2" -p "$prompt" -n "$gen" -r 1 -t "$threads" -o jsonl >"$out/llama-$1.jsonl" 2>"$out/llama-$1.err"
}

if [[ ,$stages, == *,pp,* ]]; then
  for m in gemma2 gemma3; do
    model=${!m}
    llama_ok=1
    for ((r = 0; r < reps; r++)); do
      echo "gemma.sh: $m pp$prompt/tg$gen run $((r + 1))/$reps" >&2
      order=(sieve llama); ((r % 2 == 1)) && order=(llama sieve)
      for e in "${order[@]}"; do
        if [ $e = sieve ]; then run_sieve "$m-$r" "$model" -p "$prompt" -n "$gen" -r 1
        elif ((llama_ok)) && ! run_llama "$m-$r" "$model"; then
          llama_ok=0
          # llama-bench prints only "failed to load model"; llama-cli's load log says why (b4748 on gemma3:
          # "unknown model architecture: 'gemma3'").
          timeout 120 "$bin/llama-cli" -m "$model" -n 1 -p x -no-cnv </dev/null >/dev/null 2>"$out/llama-cli-$m.err" || true
          echo "gemma.sh: llama.cpp refuses $model: $(grep -m1 -iE 'unknown model architecture|error loading model' "$out/llama-cli-$m.err" \
            || grep -m1 -iE 'error' "$out/llama-$m-$r.err" || tail -1 "$out/llama-$m-$r.err")" | tee "$out/llama-$m.refused" >&2
          rm -f "$out/llama-$m-$r.jsonl"
        fi
      done
    done
  done
fi

if [[ ,$stages, == *,depth,* ]]; then
  deepest=${depths##*,}
  echo "gemma.sh: gemma3 decode at depths $depths" >&2
  run_sieve depth-gemma3 "$gemma3" -p 0 -n "$dgen" -d "$depths" --fill synthetic -r 2
  g2=$(tr ',' '\n' <<<"$depths" | awk -v most=$((8192 - dgen - 1)) '{ print ($1 > most ? most : $1) }' | paste -sd,)
  echo "gemma.sh: gemma2 decode at depths $g2" >&2
  run_sieve depth-gemma2 "$gemma2" -p 0 -n "$dgen" -d "$g2" --fill synthetic -r 2
  echo "gemma.sh: llama-1b decode at depths 0,$deepest (contrast: no windows)" >&2
  run_sieve depth-llama1b llama-1b -p 0 -n "$dgen" -d "0,$deepest" --fill synthetic -r 2
  if ((deep)); then
    for pp in 128 "$deep_pp"; do
      echo "gemma.sh: llama-batched-bench gemma2 decode $dgen after a $pp-token prompt" >&2
      timeout "$limit" "$bin/llama-batched-bench" -m "$gemma2" -c $((deep_pp + 256)) -b 2048 -ub 512 -npp "$pp" -ntg "$dgen" -npl 1 \
        -t "$threads" --output-format jsonl >"$out/llama-deep-$pp.jsonl" 2>"$out/llama-deep-$pp.err" \
        || { echo "gemma.sh: llama-batched-bench -npp $pp failed; see $out/llama-deep-$pp.err" >&2; exit 1; }
    done
  fi
fi

python3 - "$out" "$reps" "$prompt" "$gen" "$dgen" <<'EOF'
import glob, json, os, statistics, sys
out, reps, prompt, gen, dgen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def mean_sd(v):
    return f"{statistics.mean(v):8.2f} ± {statistics.stdev(v) if len(v) > 1 else 0:6.2f} (n={len(v)})" if v else f"{'–':>23}"

def ratio(a, b):
    return f"{statistics.mean(a) / statistics.mean(b):5.2f}" if a and b else f"{'–':>5}"

def sieve_records(path):
    return json.load(open(path)) if os.path.exists(path) else []

def llama_records(path):
    return [json.loads(l) for l in open(path) if l.startswith("{")] if os.path.exists(path) else []

if glob.glob(f"{out}/sieve-gemma?-0.json"):
    print(f"prefill pp{prompt} and decode tg{gen} t/s, mean ± sd over runs (ABBA order); ratio = sieve / llama.cpp")
    print(f"| model  | test  | {'sieve t/s':>23} | {'llama.cpp t/s':>23} | ratio |")
    print(f"|--------|-------|{'-' * 25}|{'-' * 25}|-------|")
    for m in ("gemma2", "gemma3"):
        s, l = {"pp": [], "tg": []}, {"pp": [], "tg": []}
        for r in range(reps):
            for x in sieve_records(f"{out}/sieve-{m}-{r}.json"):
                s["pp" if x["n_prompt"] else "tg"] += x["samples_ts"]
            for x in llama_records(f"{out}/llama-{m}-{r}.jsonl"):
                l["pp" if x["n_prompt"] else "tg"] += x["samples_ts"]
        for t in ("pp", "tg"):
            print(f"| {m} | {t}{prompt if t == 'pp' else gen:<3} | {mean_sd(s[t])} | {mean_sd(l[t])} | {ratio(s[t], l[t])} |")
        if os.path.exists(f"{out}/llama-{m}.refused"):
            print("  " + open(f"{out}/llama-{m}.refused").read().strip())

if glob.glob(f"{out}/sieve-depth-*.json"):
    print(f"\nsieve decode tg{dgen} at depth (--fill synthetic, -r 2): t/s mean ± sd, and the run's KV-cache bytes")
    print(f"| model   | {'depth':>6} | {'tg t/s':>23} | vs depth 0 | {'KV MiB':>8} |")
    print(f"|---------|--------|{'-' * 25}|------------|----------|")
    for m in ("gemma3", "gemma2", "llama1b"):
        rec = sieve_records(f"{out}/sieve-depth-{m}.json")
        base = next((x for x in rec if x["n_depth"] == 0), None)
        for x in rec:
            rel = f"{x['avg_ts'] / base['avg_ts']:10.2f}" if base else f"{'–':>10}"
            print(f"| {m:<7} | {x['n_depth']:>6} | {mean_sd(x['samples_ts'])} | {rel} | {x['kv_bytes'] / 2**20:8.1f} |")
    deep = {}
    for f in glob.glob(f"{out}/llama-deep-*.jsonl"):
        for x in llama_records(f):
            deep[x["pp"]] = x
    if deep:
        print(f"\nllama.cpp (llama-batched-bench, one sequence) gemma2 decode of {dgen} tokens after a prompt of N tokens")
        for pp in sorted(deep):
            x = deep[pp]
            print(f"  N={pp:>5}: S_TG {x['speed_tg']:8.2f} t/s (S_PP {x['speed_pp']:.2f} t/s)")
EOF
echo "gemma.sh: raw outputs in $out" >&2
