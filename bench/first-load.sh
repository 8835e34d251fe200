#!/usr/bin/env bash
# Bytes a browser downloads for the first load of a portal page, as a running certgate sends
# them: the HTML of /signin, its stylesheet, the JS glue, the main wasm, and for each lazy area
# its split loader and chunks (__wasm_split_manifest.json). Once as the server sends them to a
# client that accepts brotli (Chromium), once with no Accept-Encoding (what every client got
# before the compressed copies, and what a client without compression gets).
#   bash bench/first-load.sh http://127.0.0.1:3000
set -euo pipefail
base="${1:-http://127.0.0.1:3000}"
size() { curl -s -o /dev/null -w '%{size_download}' ${2:+-H "Accept-Encoding: $2"} "$base$1"; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000 }'; }

html=$(curl -s "$base/signin")
wasm=$(grep -o 'href="/pkg/certgate[^"]*\.wasm"' <<<"$html" | head -1 | cut -d'"' -f2)
css=$(grep -o 'href="/pkg/certgate[^"]*\.css"' <<<"$html" | head -1 | cut -d'"' -f2)
loader=/pkg/__wasm_split.______________________.js
common=(/signin "$css" /pkg/certgate.js "$wasm")

total() {
  local enc="$1"; shift
  local sum=0
  for path in "$@"; do sum=$((sum + $(size "$path" "$enc"))); done
  echo "$sum"
}

echo "| first load of | files | identity KB | brotli KB |"
echo "|---|---:|---:|---:|"
printf '| sign-in page | %d | %s | %s |\n' "${#common[@]}" "$(kb "$(total "" "${common[@]}")")" "$(kb "$(total "br" "${common[@]}")")"
manifest=$(curl -s "$base/pkg/__wasm_split_manifest.json")
requested=$(curl -s "$base$loader" | grep -o 'new URL("\./[^"]*\.wasm"' | cut -d'"' -f2 | sed 's#^\./#/pkg/#')
for area in $(jq -r 'keys[]' <<<"$manifest"); do
  files=("${common[@]}" "$loader")
  for chunk in $(jq -r --arg a "$area" '.[$a][]' <<<"$manifest"); do
    files+=("$(grep -E "/pkg/$chunk(\.[0-9a-f]{12})?\.wasm$" <<<"$requested" | head -1)")
  done
  printf '| a page of %s | %d | %s | %s |\n' "${area%_*}" "${#files[@]}" "$(kb "$(total "" "${files[@]}")")" "$(kb "$(total "br" "${files[@]}")")"
done
