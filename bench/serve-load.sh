#!/usr/bin/env bash
# Serving under load: llama.cpp's llama-server and `sieve serve` on the same GGUF file and --parallel, each started
# in turn on a free loopback port and driven by bench/Sieve.LoadTest (CLIENTS concurrent streaming clients, a
# share of them cancelling mid-stream), then a side-by-side table.
#
#   bench/serve-load.sh MODEL [CLIENTS] [REQUESTS] [MAXTOK]
#
# CLIENTS defaults to 32 (also both servers' --parallel), REQUESTS to 10000, MAXTOK (max_tokens, with ignore_eos so
# every uncancelled request decodes exactly that many) to 8: on this 2-core machine llama-server serves 32 clients
# ~4.2 requests/s at prompt 8 + max_tokens 32, so 10,000 requests of 8 + 8 take about 16 min (sieve: ~11 min).
# Settings (environment): PROMPT=8 (prompt tokens:
# random token-id arrays, seeded, the same for both servers), CANCEL=0.1 (share of requests cancelled after a
# random number of chunks), THREADS=2, SEED=1, REPS=1 (runs of each server; 2 runs them ABBA: llama, sieve, sieve,
# llama), SERVERS="llama sieve" (either alone skips the other), LLAMA=/tmp/llama.cpp/build/bin/llama-server,
# SIEVE_ARGS="" (extra `sieve serve` options, e.g. --kv dense-f16), LIMIT=3600 (seconds one load run may take),
# OUT=folder for the logs and JSON (default: a new temporary folder, printed at the end).
#
# The model is random-weight smollm-135m Q8_0 in the issue's benchmark; write it with
#   ./sieve bench --shape smollm-135m --type q8_0 --save /tmp/smollm-135m-q8_0.gguf
#
# Contexts: llama-server splits -c evenly over its slots, so -c is CLIENTS × (PROMPT + MAXTOK + 16); sieve's -c (--ctx-size)
# is per sequence, PROMPT + MAXTOK + 16. While a load run lasts, /tmp/bench-running exists (other work on this
# shared machine pauses its builds); the script waits for one left by someone else before it starts.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model=${1:?usage: bench/serve-load.sh MODEL [CLIENTS] [REQUESTS] [MAXTOK]}
clients=${2:-32}
requests=${3:-10000}
maxtok=${4:-8}
prompt=${PROMPT:-8}
cancel=${CANCEL:-0.1}
threads=${THREADS:-2}
seed=${SEED:-1}
reps=${REPS:-1}
servers=${SERVERS:-llama sieve}
llama=${LLAMA:-/tmp/llama.cpp/build/bin/llama-server}
limit=${LIMIT:-3600}
out=${OUT:-$(mktemp -d /tmp/sieve-serve-load.XXXXXX)}
mkdir -p "$out"
marker=/tmp/bench-running

[ -f "$model" ] || { echo "serve-load.sh: $model: no such file (see the header for how to write the random smollm-135m)" >&2; exit 1; }
if [[ " $servers " == *" llama "* ]] && [ ! -x "$llama" ]; then
  echo "serve-load.sh: $llama: not an executable (build llama.cpp's llama-server target, or set LLAMA)" >&2; exit 1
fi
ctx_slot=$((prompt + maxtok + 16))

# Build before anything is timed, and before the marker: builds are what the marker pauses.
dotnet build "$root/src/Sieve.Cli" -c Release -v q -nologo >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
dotnet build "$root/bench/Sieve.LoadTest" -c Release -v q -nologo >>"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
cli="$root/src/Sieve.Cli/bin/Release/net10.0/Sieve.Cli.dll"
load="$root/bench/Sieve.LoadTest/bin/Release/net10.0/Sieve.LoadTest.dll"

server_pid=""
own_marker=0
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if ((own_marker)); then rm -f "$marker"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU share busy over 5 s, from /proc/stat (all cores together), in percent.
busy_percent() {
  local a b
  a=($(head -1 /proc/stat)); sleep 5; b=($(head -1 /proc/stat))
  local total=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# Other work pauses its builds when it sees the marker, but builds already running finish first: wait (up to
# QUIET_WAIT=900 s) until the machine is under 15 % busy, so the servers do not share the cores with a compiler.
wait_quiet() {
  local waited=0 busy
  while busy=$(busy_percent); ((busy >= 15)); do
    if ((waited >= ${QUIET_WAIT:-900})); then echo "serve-load.sh: still ${busy}% busy after ${waited} s; running anyway" >&2; return; fi
    echo "serve-load.sh: machine ${busy}% busy; waiting for it to settle" >&2
    sleep 25; waited=$((waited + 30))
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {   # name port log
  case $1 in
    llama) "$llama" -m "$model" --host 127.0.0.1 --port "$2" -t "$threads" --parallel "$clients" -c $((clients * ctx_slot)) >"$3" 2>&1 &;;
    # Straight to the built DLL (not ./sieve) so $! is the server process whose memory is sampled.
    sieve) dotnet "$cli" serve -m "$model" --host 127.0.0.1 --port "$2" -t "$threads" --parallel "$clients" -c "$ctx_slot" ${SIEVE_ARGS:-} >"$3" 2>&1 &;;
  esac
  server_pid=$!
  for ((i = 0; i < 600; i++)); do
    if curl -sf "http://127.0.0.1:$2/health" >/dev/null 2>&1; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || { echo "serve-load.sh: $1 exited while starting; see $3" >&2; tail -20 "$3" >&2; exit 1; }
    sleep 0.5
  done
  echo "serve-load.sh: $1 did not answer /health within 300 s; see $3" >&2; exit 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

run_one() {   # name run
  local port log json
  port=$(free_port)
  log="$out/$1-$2.log"; json="$out/$1-$2.json"
  wait_quiet
  start_server "$1" "$port" "$log"
  echo "serve-load.sh: $1 run $2 on port $port (pid $server_pid)" >&2
  local rc=0
  timeout "$limit" dotnet "$load" --url "http://127.0.0.1:$port" --clients "$clients" --requests "$requests" \
    --max-tokens "$maxtok" --prompt-tokens "$prompt" --cancel-fraction "$cancel" --seed "$seed" \
    --pid "$server_pid" --label "$1" --json "$json" >"$out/$1-$2.txt" 2>"$out/$1-$2.progress" || rc=$?
  cat "$out/$1-$2.txt"
  stop_server
  # rc 1: some requests failed (listed above, counted in the table); anything else: the run itself broke.
  if ((rc != 0 && rc != 1)); then echo "serve-load.sh: load run of $1 ended with $rc; see $out/$1-$2.progress" >&2; exit 1; fi
}

order=()
for ((r = 0; r < reps; r++)); do
  if ((r % 2 == 0)); then order+=(llama sieve); else order+=(sieve llama); fi
done

while [ -e "$marker" ]; do echo "serve-load.sh: $marker exists (another benchmark runs); waiting" >&2; sleep 30; done
echo "serve-load.sh ($$): $clients clients × $requests requests, max_tokens $maxtok, since $(date -Is)" >"$marker"
own_marker=1

declare -A runs=()
for name in "${order[@]}"; do
  [[ " $servers " == *" $name "* ]] || continue
  runs[$name]=$(( ${runs[$name]:-0} + 1 ))
  run_one "$name" "${runs[$name]}"
done
rm -f "$marker"; own_marker=0

python3 - "$out" <<'EOF'
import glob, json, os, statistics, sys
out = sys.argv[1]
rows = {}
for path in sorted(glob.glob(os.path.join(out, "*-*.json"))):
    name = os.path.basename(path).rsplit("-", 1)[0]
    with open(path) as f:
        rows.setdefault(name, []).append(json.load(f)["summary"])
if not rows:
    sys.exit("serve-load.sh: no results")
names = [n for n in ("llama", "sieve") if n in rows]
def mean(xs):
    xs = [x for x in xs if x is not None]
    return statistics.mean(xs) if xs else None
def fmt(v, spec):
    return "-" if v is None else format(v, spec)
lines = [
    ("completed", lambda s: s["completed"], "d"),
    ("cancelled", lambda s: s["cancelled"], "d"),
    ("failed", lambda s: s["failed"], "d"),
    ("TTFT p50 ms", lambda s: s.get("ttft_p50_ms"), ".1f"),
    ("TTFT p99 ms", lambda s: s.get("ttft_p99_ms"), ".1f"),
    ("tokens received", lambda s: s["tokens"], "d"),
    ("wall s", lambda s: s["wall_seconds"], ".1f"),
    ("decode tok/s (aggregate)", lambda s: s["decode_tokens_per_second"], ".1f"),
    ("RSS first MiB", lambda s: (s.get("rss") or {}).get("first_mib"), ".1f"),
    ("RSS after warm-up MiB", lambda s: (s.get("rss") or {}).get("warm_mib"), ".1f"),
    ("RSS max MiB", lambda s: (s.get("rss") or {}).get("max_mib"), ".1f"),
    ("RSS last MiB", lambda s: (s.get("rss") or {}).get("last_mib"), ".1f"),
    ("RSS growth after warm-up MiB", lambda s: (s.get("rss") or {}).get("growth_after_warm_mib"), "+.1f"),
    ("RSS slope MiB/1000 requests", lambda s: next((v for k, v in (s.get("rss") or {}).items() if k.startswith("slope")), None), "+.2f"),
]
s0 = rows[names[0]][0]
print(f"\n{s0['clients']} clients, {s0['requests']} requests, prompt {s0['prompt_tokens']} tokens, max_tokens {s0['max_tokens']}, "
      f"cancel fraction {s0['cancel_fraction']}; mean over runs (runs: " + ", ".join(f"{n} {len(rows[n])}" for n in names) + ")")
header = f"| {'':30} | " + " | ".join(f"{('llama-server' if n == 'llama' else 'sieve serve'):>14}" for n in names) + " |"
print(header)
print("|" + "-" * 32 + "|" + "|".join("-" * 16 for _ in names) + "|")
for label, get, spec in lines:
    vals = []
    for n in names:
        v = mean([get(s) for s in rows[n]])
        vals.append(fmt(round(v) if spec == "d" and v is not None else v, spec))
    print(f"| {label:30} | " + " | ".join(f"{v:>14}" for v in vals) + " |")
if len(names) == 2:
    a = mean([s["decode_tokens_per_second"] for s in rows["llama"]])
    b = mean([s["decode_tokens_per_second"] for s in rows["sieve"]])
    print(f"\nsieve / llama-server aggregate decode: {b / a:.2f}×")
for n in names:
    for i, s in enumerate(rows[n], 1):
        for f in s.get("failures", []):
            print(f"{n} run {i}: FAILED ×{f['count']}: {f['error']}")
EOF
echo "serve-load.sh: logs and JSON in $out" >&2
