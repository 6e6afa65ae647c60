#!/usr/bin/env bash
# Installs what building and testing Taskboard needs, skipping whatever is already there.
#   scripts/setup.sh         the build toolchain (wasm target, cargo-leptos, wasm-bindgen)
#   scripts/setup.sh --test  also Debian chromium, the Playwright package, PyJWT and the
#                            OpenAPI check's Schemathesis and openapi-spec-validator
# Everything comes from the package registries; nothing downloads a browser or binary.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  # --locked: newer dependencies need a newer rustc. no_downloads: use tools from PATH,
  # since cargo-leptos cannot fetch its own here. Takes about 13 minutes, once.
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (once, about 13 minutes)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if ! wasm-bindgen --version 2>/dev/null | grep -q "$wasm_bindgen_version"; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version"
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

if [[ "${1:-}" == "--test" ]] && ! cargo nextest --version >/dev/null 2>&1; then
  # The machine image ships it; elsewhere it is built once (a few minutes).
  say "installing cargo-nextest (once)"
  cargo install cargo-nextest --locked
fi

if [[ "${1:-}" == "--test" ]]; then
  if [[ ! -x /usr/bin/chromium ]]; then
    say "installing Debian chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if [[ ! -d end2end/node_modules/@playwright/test ]] || [[ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]]; then
    say "installing Playwright (the test runner only; it uses Debian chromium)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
  # PyJWT, as the FastAPI backend of the setup this replaces uses it: the API tests check
  # that it accepts our tokens and that we accept its tokens; with `cryptography`, its
  # PyJWKClient checks EdDSA, ES256 and RS256 tokens against our JWKS.
  if ! .tools/pyjwt/bin/python -c "import jwt, cryptography" 2>/dev/null; then
    say "installing PyJWT into .tools/pyjwt for the interoperability tests"
    python3 -m venv .tools/pyjwt
    .tools/pyjwt/bin/pip install --quiet "PyJWT[crypto]==2.10.1" "cryptography==44.0.0"
  fi
  # scripts/check-openapi.sh: openapi-spec-validator checks /openapi.json against the
  # OpenAPI 3.1 specification, and Schemathesis tests the running server against the
  # document. scripts/openapi-tools.txt pins them and everything they pull in; the copy
  # kept in the venv says which pins it holds, so a changed pin installs again.
  if ! cmp -s scripts/openapi-tools.txt .tools/openapi/openapi-tools.txt; then
    say "installing Schemathesis and openapi-spec-validator into .tools/openapi for the OpenAPI check"
    rm -rf .tools/openapi
    python3 -m venv .tools/openapi
    .tools/openapi/bin/pip install --quiet --no-deps --requirement scripts/openapi-tools.txt
    .tools/openapi/bin/pip check
    cp scripts/openapi-tools.txt .tools/openapi/openapi-tools.txt
  fi
fi
