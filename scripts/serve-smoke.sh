#!/usr/bin/env bash
# CI smoke step: `sieve serve` on the repo's stories260K model, driven with curl as a user would.
# Checks /health, /v1/models, a chat completion, a streamed text completion ending in [DONE], a 400 error body,
# and that the API key is enforced. Exits non-zero with a message on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
dll=src/Sieve.Cli/bin/Release/net10.0/Sieve.Cli.dll
[ -f "$dll" ] || dotnet build src/Sieve.Cli -c Release -v q -nologo >/dev/null
log=$(mktemp)
key="smoke-$RANDOM$RANDOM"
dotnet "$dll" serve -m models/stories260K/stories260K.gguf --port 0 --parallel 4 --ctx-size 512 --api-key "$key" -t 2 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
fail() { echo "serve-smoke: FAIL: $*" >&2; tail -5 "$log" >&2; exit 1; }
for _ in $(seq 100); do grep -q "listening on" "$log" && break; kill -0 $pid 2>/dev/null || fail "sieve serve exited"; sleep 0.2; done
url=$(grep -o "listening on http://[^ ]*" "$log" | head -1 | cut -d' ' -f3)
[ -n "$url" ] || fail "no 'listening on' line"
auth=(-H "Authorization: Bearer $key" -H "Content-Type: application/json")

[ "$(curl -s "$url/health")" = '{"status":"ok"}' ] || fail "/health"
curl -s "${auth[@]}" "$url/v1/models" | grep -q '"id":"stories260K"' || fail "/v1/models"
chat=$(curl -s "${auth[@]}" "$url/v1/chat/completions" -d '{"model":"stories260K","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":16,"temperature":0}')
echo "$chat" | grep -q '"finish_reason":"length"' || fail "chat completion: $chat"
echo "$chat" | grep -q '"completion_tokens":16' || fail "chat usage: $chat"
stream=$(curl -sN "${auth[@]}" "$url/v1/completions" -d '{"prompt":"Lily","max_tokens":8,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}')
[ "$(echo "$stream" | grep -c '^data: {')" -ge 9 ] || fail "streamed completion: $stream"
echo "$stream" | tail -n 2 | grep -q '^data: \[DONE\]' || fail "stream does not end in [DONE]"
bad=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$url/v1/chat/completions" -d '{"messages":[]}')
[ "$bad" = 400 ] || fail "empty messages gave $bad, not 400"
noauth=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/models")
[ "$noauth" = 401 ] || fail "no key gave $noauth, not 401"
echo "serve-smoke: ok ($url: health, models, chat, streamed completion with [DONE], 400, 401)"
