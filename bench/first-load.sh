#!/usr/bin/env bash
# Bytes a browser downloads for the first load of a portal page, as a running certgate sends
# them: the HTML of /signin, its stylesheet, and the JS glue and the wasm the island loader
# names (islands mode: one wasm module for every page). Once as the server sends them to a
# client that accepts brotli (Chromium), once with no Accept-Encoding.
#   bash bench/first-load.sh http://127.0.0.1:3000
set -euo pipefail
base="${1:-http://127.0.0.1:3000}"
size() { curl -s -o /dev/null -w '%{size_download}' ${2:+-H "Accept-Encoding: $2"} "$base$1"; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000 }'; }

html=$(curl -s "$base/signin")
wasm=$(grep -o '"/pkg/certgate[^"]*\.wasm"' <<<"$html" | head -1 | tr -d '"')
glue=$(grep -o '"/pkg/certgate[^"]*\.js"' <<<"$html" | head -1 | tr -d '"')
css=$(grep -o 'href="/pkg/certgate[^"]*\.css"' <<<"$html" | head -1 | cut -d'"' -f2)
files=(/signin "$css" "$glue" "$wasm")

total() {
  local enc="$1"; shift
  local sum=0
  for path in "$@"; do sum=$((sum + $(size "$path" "$enc"))); done
  echo "$sum"
}

echo "| first load of | files | identity KB | brotli KB |"
echo "|---|---:|---:|---:|"
printf '| any page (sign-in measured) | %d | %s | %s |\n' "${#files[@]}" "$(kb "$(total "" "${files[@]}")")" "$(kb "$(total "br" "${files[@]}")")"
