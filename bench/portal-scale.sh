#!/usr/bin/env bash
# The portal at scale (issue "Developer portal, core", "Scale and speed"): 1,000 organisations,
# 11,000 certificates, 10,000 apps and 100,000 credentials in a real store, then approve, revoke
# and link (acknowledged and enforced: the gateway view republished), "used by", the first page
# of each list, and the view's memory per portal credential beside the same number of admin
# keys. A benchmark: nothing fails on a figure. Writes bench/results/<date>-portal-scale.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export LEPTOS_OUTPUT_NAME=certgate
cargo build --profile profiling -p certgate-services --example portal_scale
bin=target/profiling/examples/portal_scale
out="bench/results/$(date -u +%Y-%m-%dT%H%MZ)-portal-scale.md"
{
  echo "# Portal at scale, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo). Profile: profiling (release with symbols)."
  echo
  "$bin"
  echo
  PORTAL_SCALE_ADMIN_KEYS=1 "$bin"
} | tee "$out"
echo "written: $out"
