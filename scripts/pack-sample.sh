#!/usr/bin/env bash
# Packs the two NuGet packages and runs samples/Sieve.Sample against them as an application outside this
# repository would:
#   1. `dotnet pack Sieve.slnx -c Release` into the local feed (artifacts/packages, the folder the sample's NuGet.config
#      names): exactly Sieve.VERSION.nupkg and Sieve.Serving.VERSION.nupkg (+ their .snupkg symbols). The build runs
#      in its own folder, artifacts/build, so it neither touches nor waits for the projects' bin/obj (a test run may
#      be using them); with ContinuousIntegrationBuild every path under the repository (that folder included) is
#      written as /_/…, so the same commit packs the same dll bytes wherever the repository sits.
#   2. checks each package: README.md, LICENSE, lib/net10.0/<dll>, the dependency groups of its .nuspec, and for
#      Sieve.Serving the chat page (wwwroot/*) embedded in the dll and the Microsoft.AspNetCore.App framework reference.
#   3. restores the sample into a fresh packages folder (`--packages`; the global packages folder serves only as a
#      fallback for the other dependencies, minus any copy of these two), so a re-pack of the same version is what
#      the sample gets; checks the restored Sieve.Serving is byte for byte the one just packed,
#      builds it and runs it on the model; checks exit status 0 and non-empty reply, stream, di and engine lines, and
#      that the reply and the streamed reply (both greedy, same prompt) are the same text.
# Usage: scripts/pack-sample.sh [MODEL]     (default models/stories260K/stories260K.gguf)
# Environment: KEEP_WORK=1 keeps the temporary folder (its path is printed).
# Exits non-zero with a line starting "pack-sample: FAIL" on any failure; prints "pack-sample: OK" at the end.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
model="$(realpath -m "${1:-models/stories260K/stories260K.gguf}")"
feed="$root/artifacts/packages"
fail() { echo "pack-sample: FAIL: $*" >&2; exit 1; }
say() { echo "pack-sample: $*"; }
[[ -e "$model" ]] || fail "model $model not found"
command -v unzip >/dev/null || fail "unzip is needed to read the packages"

work="$(mktemp -d "${TMPDIR:-/tmp}/sieve-pack-sample.XXXXXX")"
if [[ "${KEEP_WORK:-}" == 1 ]]; then say "work folder $work (kept)"; else trap 'rm -rf "$work"' EXIT; fi
start=$SECONDS
step() { say "$1 ($((SECONDS - start)) s)"; }

# --- 1. pack ----------------------------------------------------------------------------------------------------
version="$(dotnet msbuild src/Sieve/Sieve.csproj -nologo -getProperty:PackageVersion)"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "could not read the package version (got '$version')"
step "packing version $version into ${feed#"$root"/}"
mkdir -p "$feed"
rm -f "$feed"/*."$version".nupkg "$feed"/*."$version".snupkg
dotnet pack Sieve.slnx -c Release -nologo -v q -o "$feed" --artifacts-path "$root/artifacts/build" \
  -p:ContinuousIntegrationBuild=true >"$work/pack.log" 2>&1 || { cat "$work/pack.log" >&2; fail "dotnet pack failed"; }
packed="$(cd "$feed" && ls ./*."$version".nupkg | sed 's|^\./||' | sort | tr '\n' ' ')"
[[ "$packed" == "Sieve.$version.nupkg Sieve.Serving.$version.nupkg " ]] ||
  fail "expected exactly Sieve.$version.nupkg and Sieve.Serving.$version.nupkg in the feed, got: $packed"
for id in Sieve Sieve.Serving; do
  [[ -f "$feed/$id.$version.snupkg" ]] || fail "no symbols package $id.$version.snupkg"
  say "  $id.$version.nupkg $(stat -c %s "$feed/$id.$version.nupkg") bytes, .snupkg $(stat -c %s "$feed/$id.$version.snupkg") bytes"
done

# --- 2. what each package holds ---------------------------------------------------------------------------------
step "checking the packages' contents"
check_package() {
  local id="$1" nupkg="$feed/$1.$version.nupkg" dir="$work/unpacked/$1"
  mkdir -p "$dir"
  unzip -q -o "$nupkg" -d "$dir"
  for f in README.md LICENSE "lib/net10.0/$id.dll" "$id.nuspec"; do
    [[ -f "$dir/$f" ]] || fail "$id.$version.nupkg has no $f"
  done
  grep -q "Sieve contributors" "$dir/LICENSE" || fail "$id's LICENSE does not name Sieve contributors"
  grep -q "<license type=\"expression\">MIT</license>" "$dir/$id.nuspec" || fail "$id.nuspec has no MIT licence expression"
  grep -q "<readme>README.md</readme>" "$dir/$id.nuspec" || fail "$id.nuspec names no readme"
  grep -q "<version>$version</version>" "$dir/$id.nuspec" || fail "$id.nuspec is not version $version"
  # No test, CLI or research assembly rides along.
  local extra
  extra="$(cd "$dir" && find lib -type f ! -name "$id.dll" ! -name "$id.xml")"
  [[ -z "$extra" ]] || fail "$id.$version.nupkg holds more than its dll: $extra"
}
check_package Sieve
check_package Sieve.Serving
engine="$work/unpacked/Sieve/Sieve.nuspec"
serving="$work/unpacked/Sieve.Serving/Sieve.Serving.nuspec"
for dep in System.Numerics.Tensors Microsoft.ML.Tokenizers Google.Protobuf; do
  grep -q "<dependency id=\"$dep\"" "$engine" || fail "Sieve.nuspec lacks the dependency $dep"
done
for banned in ScottPlot Parquet.Net Sieve.Research Microsoft.AspNetCore; do
  ! grep -q "$banned" "$engine" || fail "Sieve.nuspec mentions $banned: the engine package must stay lean"
done
grep -q "<dependency id=\"Sieve\" version=\"$version\"" "$serving" || fail "Sieve.Serving.nuspec does not depend on Sieve $version (>= $version)"
grep -q "<dependency id=\"Microsoft.Extensions.AI.Abstractions\"" "$serving" || fail "Sieve.Serving.nuspec lacks Microsoft.Extensions.AI.Abstractions"
grep -q "<frameworkReference name=\"Microsoft.AspNetCore.App\"" "$serving" || fail "Sieve.Serving.nuspec lacks the Microsoft.AspNetCore.App framework reference"
for page in wwwroot/index.html wwwroot/app.js wwwroot/style.css; do
  # Manifest resource names sit in the dll's string heap as plain UTF-8.
  grep -qa "$page" "$work/unpacked/Sieve.Serving/lib/net10.0/Sieve.Serving.dll" || fail "Sieve.Serving.dll does not embed $page"
done
say "  Sieve: $(sed -n 's/.*<dependency id="\([^"]*\)" version="\([^"]*\)".*/\1 \2/p' "$engine" | tr '\n' ',' | sed 's/,$//;s/,/, /g')"
say "  Sieve.Serving: $(sed -n 's/.*<dependency id="\([^"]*\)" version="\([^"]*\)".*/\1 \2/p' "$serving" | tr '\n' ',' | sed 's/,$//;s/,/, /g'); framework Microsoft.AspNetCore.App"

# --- 3. the sample, restored from the feed ----------------------------------------------------------------------
step "restoring samples/Sieve.Sample into a fresh packages folder"
# The other dependencies come from the global packages folder as a fallback (no download, works offline) when it
# has them, else from nuget.org. A copy of Sieve or Sieve.Serving of this version there (left by a restore of the
# sample outside this script) would win over the feed, so it goes first: a re-pack of one version must be what runs.
global="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')"
global="${global%/}"
fallback=()
if [[ -d "$global" ]]; then
  for id in sieve sieve.serving; do
    if [[ -d "$global/$id/$version" ]]; then
      say "  removing $global/$id/$version (an older copy of this version in the global packages folder)"
      rm -rf "${global:?}/$id/$version"
    fi
  done
  fallback=(-p:RestoreAdditionalProjectFallbackFolders="$global")
fi
sample_props=(-p:SieveVersion="$version" -p:ArtifactsPath="$work/sample" -p:UseArtifactsOutput=true)
dotnet restore samples/Sieve.Sample/Sieve.Sample.csproj -nologo -v q --packages "$work/packages" "${fallback[@]}" "${sample_props[@]}" \
  >"$work/restore.log" 2>&1 || { cat "$work/restore.log" >&2; fail "restore of the sample failed"; }
restored="$work/packages/sieve.serving/$version/sieve.serving.$version.nupkg"
[[ -f "$restored" ]] || fail "the sample's restore did not take Sieve.Serving $version"
cmp -s "$restored" "$feed/Sieve.Serving.$version.nupkg" || fail "the restored Sieve.Serving is not the package just packed"
cmp -s "$work/packages/sieve/$version/sieve.$version.nupkg" "$feed/Sieve.$version.nupkg" || fail "the restored Sieve is not the package just packed"
step "building the sample"
dotnet build samples/Sieve.Sample/Sieve.Sample.csproj -c Release -nologo -v q --no-restore "${sample_props[@]}" \
  >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "build of the sample failed"; }
dll="$(find "$work/sample/bin" -name Sieve.Sample.dll | head -n 1)"
[[ -n "$dll" ]] || fail "the sample's build left no Sieve.Sample.dll"
step "running the sample on ${model#"$root"/}"
set +e
timeout 300 dotnet "$dll" "$model" >"$work/sample.out" 2>"$work/sample.err"
status=$?
set -e
sed 's/^/  | /' "$work/sample.out"
[[ $status == 0 ]] || { cat "$work/sample.err" >&2; fail "the sample exited with status $status"; }
line() { sed -n "s/^$1: //p" "$work/sample.out" | head -n 1; }
for key in engine reply stream di; do
  [[ -n "$(line "$key" | tr -d '[:space:]')" ]] || fail "the sample printed no '$key:' text"
done
[[ "$(line reply)" == "$(line stream)" ]] || fail "the reply and the streamed reply differ (both greedy, same prompt)"
grep -q "^packages: Sieve $version" "$work/sample.out" || fail "the sample did not run on Sieve $version"
step "OK: the sample ran on Sieve $version and Sieve.Serving $version from ${feed#"$root"/}"
say "OK"
