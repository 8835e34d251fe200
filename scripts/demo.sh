#!/usr/bin/env bash
# README's first command: install what is missing, build, start certgate with demo data.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
CERTGATE_SKIP_BROWSER=1 bash scripts/install-tools.sh   # the demo needs no browser
bash scripts/build.sh
exec ./target/release/certgate serve --demo --data-dir "${CERTGATE_DATA_DIR:-./certgate-demo-data}" "$@"
