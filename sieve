#!/usr/bin/env bash
# Runs the Sieve CLI from a source checkout: ./sieve run -m MODEL -p "..."
set -euo pipefail
root="$(cd "$(dirname "$0")" && pwd)"
exec dotnet run --project "$root/src/Sieve.Cli" -c Release -v q --nologo -- "$@"
