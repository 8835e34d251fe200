#!/usr/bin/env bash
# Installs every tool the build and the tests need, each only when it is missing or at the wrong
# version. Both README commands (make demo, make test) and .ci/run call this one script.
# Nothing here downloads a prebuilt binary from outside the package registries (cargo, npm, apt).
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.11
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pinned in Cargo.toml
BINARYEN_NPM_VERSION=132.0.0   # Debian's binaryen 108 breaks hydration; this one does not

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[install-tools] %s\n' "$*" >&2; }
need_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs a crate whose published lockfile does not resolve on this toolchain/mirror: unpack the
# source (a failing `cargo install` leaves it in the registry cache), fix one lock entry, install.
install_crate_with_lock_fix() {
  local crate="$1" version="$2" fix_pkg="$3" fix_version="$4"
  say "installing $crate $version (lockfile fix: $fix_pkg -> $fix_version)"
  local src
  src="$(ls -d "$HOME"/.cargo/registry/src/*/"$crate-$version" 2>/dev/null | head -n1 || true)"
  if [ -z "$src" ]; then
    cargo install "$crate" --version "$version" --locked >/dev/null 2>&1 || true
    src="$(ls -d "$HOME"/.cargo/registry/src/*/"$crate-$version" 2>/dev/null | head -n1 || true)"
  fi
  if [ -z "$src" ]; then
    # The install may have succeeded outright (a newer toolchain): then we are done.
    if command -v "$crate" >/dev/null 2>&1; then return 0; fi
    say "could not unpack $crate $version from the registry"; exit 1
  fi
  local work
  work="$(mktemp -d)"
  cp -r "$src" "$work/"
  (cd "$work/$crate-$version" && cargo update -p "$fix_pkg" --precise "$fix_version" >/dev/null 2>&1 || true)
  cargo install --path "$work/$crate-$version" --locked
  rm -rf "$work"
}

# 1. The wasm target.
# The test command runs clippy on the shipped code ([workspace.lints]).
if ! cargo clippy --version >/dev/null 2>&1; then
  say "adding rust component clippy"
  rustup component add clippy || say "clippy cannot be installed here: the lints will not be checked"
fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen-cli at exactly the pinned version.
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  install_crate_with_lock_fix wasm-bindgen-cli "$WASM_BINDGEN_VERSION" webpki-roots 1.0.10
fi

# 3. cargo-leptos.
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  install_crate_with_lock_fix cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1
fi

# 4. Node packages: binaryen's wasm-opt and Playwright (test runner only; the browser is Debian's).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "installing nodejs and npm"
  need_sudo apt-get update -qq
  need_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
if [ ! -x "$here/end2end/node_modules/.bin/wasm-opt" ] \
  || ! "$here/end2end/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "${BINARYEN_NPM_VERSION%%.*}" \
  || [ ! -d "$here/end2end/node_modules/@playwright/test" ]; then
  say "installing npm packages in end2end/"
  (cd "$here/end2end" && npm ci --no-audit --no-fund)
fi

# 5. Debian's Chromium for Playwright (Playwright cannot download its own browsers here).
if [ "${CERTGATE_SKIP_BROWSER:-0}" != "1" ] && ! command -v chromium >/dev/null 2>&1; then
  say "installing chromium"
  need_sudo apt-get update -qq
  need_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

say "all tools present"
