#!/usr/bin/env bash
# The first load of a portal page in wasm, gzipped: islands mode has one wasm module (every
# `#[island]` of app/src), which every page loads with its JS glue, whatever its area (pages
# without an island load it too: it sets up the forms' memory). Run after scripts/build.sh or
# `cargo leptos build --release --frontend-only`.
# Sizes are `gzip -9` bytes (what a compressing server or proxy sends), raw bytes beside them;
# the budget is 350 KB gzipped (issue 11).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="${1:-$root/target/site/pkg}"
[ -f "$pkg/certgate.wasm" ] || { echo "no $pkg/certgate.wasm: build the front end first (scripts/build.sh)" >&2; exit 1; }

gz() { gzip -9 -c "$pkg/$1" | wc -c; }
raw() { wc -c <"$pkg/$1"; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000 }'; }

echo "| file | gzip KB | raw KB |"
echo "|---|---:|---:|"
for f in certgate.wasm certgate.js; do
  printf '| %s | %s | %s |\n' "$f" "$(kb "$(gz "$f")")" "$(kb "$(raw "$f")")"
done
islands=$(grep -rh '^#\[island' "$root/app/src" | wc -l)
echo
echo "Islands in the module: $islands. First load of any page: $(kb "$(( $(gz certgate.wasm) + $(gz certgate.js) ))") KB gzipped (wasm + glue), budget 350 KB."
