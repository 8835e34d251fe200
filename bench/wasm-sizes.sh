#!/usr/bin/env bash
# Gzipped wasm sizes of a split front-end build (target/site/pkg after
# `cargo leptos build --release --split --frontend-only` or scripts/build.sh): each file, and for
# each lazy area the first load of one of its pages = the main bundle + every chunk the
# split manifest lists for the area (what the browser fetches before the page hydrates).
# Without a split manifest (islands mode, no `--split`) it prints the files only.
# Sizes are `gzip -9` bytes (what a compressing server or proxy sends), raw bytes beside them.
set -euo pipefail
pkg="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/site/pkg}"
manifest="$pkg/__wasm_split_manifest.json"

gz() { gzip -9 -c "$pkg/$1.wasm" | wc -c; }
raw() { wc -c <"$pkg/$1.wasm"; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000 }'; }

main=$(gz certgate)
echo "| file | gzip KB | raw KB |"
echo "|---|---:|---:|"
for f in "$pkg"/*.wasm; do
  name=$(basename "$f" .wasm)
  printf '| %s | %s | %s |\n' "$name" "$(kb "$(gz "$name")")" "$(kb "$(raw "$name")")"
done
# Islands mode (no split): one module, fetched by every page that has an island.
[ -f "$manifest" ] || { echo; echo "(no split manifest: one module, the first load of every page with an island)"; exit 0; }
echo
echo "| first load of a page of | files | gzip KB |"
echo "|---|---:|---:|"
printf '| (no area: sign-in, account, links) | 1 | %s |\n' "$(kb "$main")"
for area in $(jq -r 'keys[]' "$manifest"); do
  total=$main
  files=1
  for chunk in $(jq -r --arg a "$area" '.[$a][]' "$manifest"); do
    total=$((total + $(gz "$chunk")))
    files=$((files + 1))
  done
  # The manifest keys carry a hash suffix: show the split point's name only.
  printf '| %s | %s | %s |\n' "${area%_*}" "$files" "$(kb "$total")"
done
