#!/usr/bin/env bash
# Builds the shipped binary, target/release/certgate, with the site embedded in it.
# The front end is built first and the server second: `cargo leptos build` would run both at
# once, and the server could embed a half-written target/site.
# Islands mode (spike): no `--split`. The wasm holds only the `#[island]` components; there are
# no `#[lazy]` split points (a split point is a wasm export: it kept every page in the bundle).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# wasm-opt from npm's binaryen (Debian's breaks hydration); cargo-leptos finds it on PATH.
export PATH="$here/end2end/node_modules/.bin:$PATH"
export LEPTOS_OUTPUT_NAME=certgate
cargo leptos build --release --frontend-only
# Hashed chunk names in the split loader, brotli and gzip copies (served by Accept-Encoding).
node scripts/compress-site.mjs target/site
cargo leptos build --release --server-only
ls -l target/release/certgate target/site/pkg/ >&2
