#!/usr/bin/env bash
# Packages the binaries of `deno task compile --all` for a release:
#   switchboard-<version>-<target>.tar.gz (.zip for Windows) holding server, client and shutdown,
#   README.md and LICENSE, plus SHA256SUMS over the archives and NOTES.md (this version's
#   CHANGELOG section) for the release page.
# Usage: .github/scripts/package.sh TAG [DIST_DIR] [OUT_DIR]   e.g. package.sh v0.1.0 dist release
set -euo pipefail
cd "$(dirname "$0")/../.."

tag="${1:?usage: package.sh TAG [DIST_DIR] [OUT_DIR]}"
dist="${2:-dist}"
out="${3:-release}"
version="${tag#v}"

fail() {
  echo "package: $*" >&2
  exit 1
}

declared="$(sed -nE 's/^  "version": "([^"]+)",?$/\1/p' deno.json | head -1)"
[[ "$version" == "$declared" ]] ||
  fail "tag $tag does not match the version in deno.json ($declared); bump deno.json or fix the tag"
[[ -f "$dist/SHA256SUMS" ]] || fail "$dist/SHA256SUMS is missing; run deno task compile --all first"
for file in README.md LICENSE; do [[ -f "$file" ]] || fail "$file is missing"; done

# The binaries must be exactly the ones compile built and checked.
(cd "$dist" && sha256sum --check --quiet SHA256SUMS) || fail "a binary in $dist does not match $dist/SHA256SUMS"

rm -rf "$out"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

targets=$(awk '{ split($2, part, "/"); print part[1] }' "$dist/SHA256SUMS" | sort -u)
for target in $targets; do
  exe=""
  [[ "$target" == *windows* ]] && exe=".exe"
  name="switchboard-${version}-${target}"
  mkdir -p "$staging/$name"
  for program in server client shutdown; do
    [[ -f "$dist/$target/$program$exe" ]] || fail "$dist/$target/$program$exe is missing"
    cp "$dist/$target/$program$exe" "$staging/$name/"
    chmod 0755 "$staging/$name/$program$exe"
  done
  cp README.md LICENSE "$staging/$name/"
  if [[ "$target" == *windows* ]]; then
    (cd "$staging" && zip -q -r -X "$out/$name.zip" "$name")
  else
    tar -C "$staging" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"
  fi
  echo "package: $name"
done

shopt -s nullglob
archives=("$out"/*.tar.gz "$out"/*.zip)
shopt -u nullglob
((${#archives[@]} > 0)) || fail "no archive was made"
(cd "$out" && sha256sum -- "${archives[@]##*/}" > SHA256SUMS)

# Release notes: this version's section of CHANGELOG.md, without its heading.
awk -v version="$version" '
  /^## / { if (found) exit; if (index($0, "[" version "]")) { found = 1; next } }
  found { print }
' CHANGELOG.md > "$out/NOTES.md"
[[ -s "$out/NOTES.md" ]] || echo "Switchboard $version" > "$out/NOTES.md"
echo "package: $(wc -l < "$out/SHA256SUMS") archives and SHA256SUMS in $out"
