#!/usr/bin/env bash
# Checks the chat page that `sieve serve` serves at / in a real headless browser (Debian's chromium, driven by
# playwright-core from scripts/webui/):
#   starts `sieve serve` on models/stories260K/stories260K.gguf on a free loopback port with a random API key, loads
#   the page, checks it asks for the key, types it in, waits for the model name, sends a message and waits for a streamed reply with text, takes a screenshot (docs/webui.png),
#   sends a long request and presses Stop mid-stream (the reply stays as far as it got, Send works again, /metrics
#   shows no running sequence), then sends again with a Sieve KV method picked from the page's list.
# Installs what is missing: the chromium package (apt-get, as root) and playwright-core (npm ci, pinned by
# scripts/webui/package-lock.json; it uses the system chromium, no browser download).
# Usage: scripts/webui-check.sh [SCREENSHOT]        (default docs/webui.png)
# Environment: CHROMIUM (default /usr/bin/chromium), MODEL (default the stories260K GGUF), SERVE_ARGS (more
# `sieve serve` options), WEBUI_URL (check a server already running there instead of starting one; with
# WEBUI_API_KEY when it has a key), WEBUI_LONG_TOKENS, WEBUI_KV (see scripts/webui/check.mjs).
# Exits non-zero with a line starting "webui-check: FAIL" on any failure; the server is stopped on every exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
screenshot="${1:-docs/webui.png}"
model="${MODEL:-models/stories260K/stories260K.gguf}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
fail() { echo "webui-check: FAIL: $*" >&2; exit 1; }

# --- what the check needs -------------------------------------------------------------------------------------
if [[ ! -x "$CHROMIUM" ]]; then
  [[ "$(id -u)" == 0 ]] || fail "$CHROMIUM is missing; install Debian's chromium package (apt-get install chromium) as root"
  echo "webui-check: installing chromium (apt-get)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
    fail "apt-get install chromium failed"
  [[ -x "$CHROMIUM" ]] || fail "chromium installed but $CHROMIUM is not there; set CHROMIUM"
fi
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (Node.js 20 or newer)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || fail "Node.js $(node --version) is too old: playwright-core needs 20 or newer"
if [[ ! -f scripts/webui/node_modules/playwright-core/package.json ]]; then
  echo "webui-check: installing playwright-core (npm ci in scripts/webui)"
  (cd scripts/webui && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in scripts/webui failed"
fi

# --- the server -----------------------------------------------------------------------------------------------
if [[ -n "${WEBUI_URL:-}" ]]; then
  mkdir -p "$(dirname "$screenshot")"
  exec node scripts/webui/check.mjs "${WEBUI_URL%/}/" "$screenshot"
fi
[[ -f "$model" ]] || fail "model $model not found"

# Built first, in the foreground, so that the time to start below is the server's alone.
log_build="$(mktemp)"
dotnet build src/Sieve.Cli -c Release -v q -nologo >"$log_build" 2>&1 || { cat "$log_build" >&2; fail "build of src/Sieve.Cli failed"; }
rm -f "$log_build"
server_log="$(mktemp)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -f "$server_log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Port 0: the server takes a free port and prints it ("listening on http://127.0.0.1:PORT"), so no other
# process can take the port between choosing and binding it.
export WEBUI_API_KEY="webui-check-$RANDOM$RANDOM"
# shellcheck disable=SC2086  # SERVE_ARGS is a list of options
dotnet src/Sieve.Cli/bin/Release/net10.0/Sieve.Cli.dll serve -m "$model" --host 127.0.0.1 --port 0 \
  --api-key "$WEBUI_API_KEY" ${SERVE_ARGS:-} >"$server_log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 600); do                       # up to 60 s: loading the model takes well under a second
  kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; fail "sieve serve exited before it listened"; }
  base="$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$server_log" | head -n 1 | sed 's/^listening on //')" || true
  [[ -n "$base" ]] && break
  sleep 0.1
done
[[ -n "$base" ]] || { cat "$server_log" >&2; fail "sieve serve did not say where it listens within 60 s"; }
base="$base/"
echo "webui-check: sieve serve on $base (pid $server_pid)"
node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "${base}health" ||
  { cat "$server_log" >&2; fail "sieve serve does not answer /health at $base"; }

# --- the browser ----------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$screenshot")"
if ! node scripts/webui/check.mjs "$base" "$screenshot"; then
  echo "webui-check: server log:" >&2
  tail -n 40 "$server_log" >&2
  exit 1
fi
kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; fail "sieve serve died during the check"; }
