#!/usr/bin/env bash
# README's second command (and what .ci/run calls): install what is missing, build the shipped
# binary, then run every test: unit and integration tests (cargo), browser tests (Playwright).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bash scripts/install-tools.sh
bash scripts/build.sh

# The same value cargo-leptos compiles with, or every Leptos crate would rebuild (TOOLCHAIN.md).
export LEPTOS_OUTPUT_NAME=certgate
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# One cargo invocation for every crate but the wasm front end. `app` is tested with `ssr` only:
# `ssr` and `hydrate` are never on together.
set +e
# The shipped code's lints (no unwrap/expect/panic: [workspace.lints] in Cargo.toml).
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy -p certgate-core -p certgate-services -p certgate-gateway -p app -p server --features app/ssr 2>&1 | tee -a "$log"
  clippy_status=${PIPESTATUS[0]}
else
  echo "WARNING: clippy is not installed: the lints were not checked"
  clippy_status=0
fi
cargo test -p certgate-core -p certgate-services -p certgate-gateway -p app -p server --features app/ssr 2>&1 | tee -a "$log"
cargo_status=${PIPESTATUS[0]}
(cd end2end && npx playwright test) 2>&1 | tee -a "$log"
e2e_status=${PIPESTATUS[0]}
set -e

count() { grep -oE "$1" "$log" | grep -oE "$2" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}' || true; }
passed=$(count 'test result: [a-zA-Z]+\. [0-9]+ passed' '[0-9]+ passed')
failed=$(count '[0-9]+ passed; [0-9]+ failed' '[0-9]+ failed')
e2e_passed=$(count '^ +[0-9]+ passed \(' '[0-9]+ passed')
e2e_failed=$(count '^ +[0-9]+ failed$' '[0-9]+ failed')
passed=$((passed + ${e2e_passed:-0}))
failed=$((failed + ${e2e_failed:-0}))
if [ "$clippy_status" -ne 0 ]; then
  echo "clippy refused the shipped code (see above)"
  failed=$((failed + 1))
fi
if [ "$cargo_status" -ne 0 ] || [ "$e2e_status" -ne 0 ]; then
  [ "$failed" -gt 0 ] || failed=1
fi
echo "summary: $passed passed, $failed failed"
[ "$clippy_status" -eq 0 ] && [ "$cargo_status" -eq 0 ] && [ "$e2e_status" -eq 0 ]
