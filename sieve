#!/usr/bin/env bash
# Runs the Sieve CLI from a source checkout: ./sieve run -m MODEL -p "..."
# Builds (incrementally, quietly) first, so stdout carries only the command's own output.
set -euo pipefail
root="$(cd "$(dirname "$0")" && pwd)"
if ! log=$(dotnet build "$root/src/Sieve.Cli" -c Release -v q -nologo 2>&1); then
  echo "$log" >&2
  exit 1
fi
exec dotnet "$root/src/Sieve.Cli/bin/Release/net10.0/Sieve.Cli.dll" "$@"
