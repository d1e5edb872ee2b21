#!/usr/bin/env bash
# Decode speed with and without another process keeping one core busy, for two builds of the CLI side by side.
#
#   bench/oversubscription.sh BASELINE.dll CANDIDATE.dll [MODEL] [TOKENS] [REPS]
#
# BASELINE/CANDIDATE are Sieve.Cli.dll files (e.g. a worktree of the previous commit, built with
# `dotnet build src/Sieve.Cli -c Release`). Runs alternate baseline/candidate (the machine is shared and noisy) and
# each prints generated tokens per second from `sieve run`'s timing line. Thread counts: 1, the default, and 999.
# The "busy" rows run beside one spinning process (one core kept busy, as issue 8 reproduced it).
set -euo pipefail
base=$1 cand=$2
model=${3:-models/stories260K/stories260K.gguf}
tokens=${4:-100}
reps=${5:-3}
limit=${LIMIT:-120}

tps() {   # dll threads -> tokens/s or "timeout"
  local dll=$1 t=$2 args=()
  [ "$t" != default ] && args=(-t "$t")
  local line
  if ! line=$(timeout "$limit" dotnet "$dll" run -m "$model" -p "Once upon a time" -n "$tokens" --temp 0 "${args[@]}" 2>&1 >/dev/null | grep -o 'generated [0-9]* tokens in [0-9.]* ms ([0-9.]* t/s)'); then
    echo "timeout"; return
  fi
  sed -E 's/.*\(([0-9.]+) t\/s\)/\1/' <<<"$line"
}

run_set() {   # label
  for t in 1 default 999; do
    local b=() c=()
    for ((r = 0; r < reps; r++)); do
      b+=("$(tps "$base" $t)")
      c+=("$(tps "$cand" $t)")
    done
    printf '%-6s -t %-8s baseline %-30s candidate %s\n' "$1" "$t" "${b[*]}" "${c[*]}"
  done
}

run_set quiet
bash -c 'while :; do :; done' &
hog=$!
trap 'kill $hog 2>/dev/null' EXIT
sleep 1
run_set busy
