#!/usr/bin/env bash
# Second command: set up what is missing, then run every check and test, the cheap ones
# first so that a mistake is reported within a minute or two: the links of the docs, the
# layers of the code, formatting, clippy (server and wasm) with warnings as errors, unit
# tests, the API tests on SQLite (their emails through a throw-away SMTP server), the
# OpenAPI document checked against the running server, the same API test binary again on
# PostgreSQL, and the Playwright suite in headless Debian chromium against the release
# build. Ends with how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

timings=()
current=""
started=$SECONDS
step_done() {
  [[ -n "$current" ]] && timings+=("$(printf '%5ds  %s' $((SECONDS - started)) "$current")")
  started=$SECONDS
}
step() {
  step_done
  current="$*"
  printf '\n\033[1;34m==> %s\033[0m\n' "$*"
}
report() {
  local status=$?
  step_done
  printf '\n\033[1;34m==> time per step\033[0m\n'
  printf '%s\n' "${timings[@]}"
  return "$status"
}
trap report EXIT

step "links in README and docs"
scripts/check-links.sh

step "layers: imports only point down"
python3 scripts/check-layers.py

step "rustfmt"
cargo fmt --all -- --check

step "clippy: server side (ssr) and tests"
cargo clippy --locked -p server -p app --all-targets -- -D warnings
step "clippy: browser side (hydrate, wasm32)"
cargo clippy --locked -p frontend -p app --target wasm32-unknown-unknown -- -D warnings

# cargo nextest (settings in .config/nextest.toml): each test has a deadline. The API
# tests send their emails to a real SMTP server and read them back from it.
step "unit and API tests (SQLite, with an SMTP server)"
scripts/with-smtp.sh cargo nextest run --locked -p app -p server

# The API tests built target/debug/server (with the tests' features, so building it
# again without them would recompile the app); the check runs that binary as it is.
step "the OpenAPI document against the running server (openapi-spec-validator, Schemathesis)"
SERVER=target/debug/server scripts/check-openapi.sh

# The same packages as the run above, so the same build: only the API test binary runs
# again, now on PostgreSQL (naming `-p server --test api` alone would unify features
# differently and compile the app a second time).
step "API tests again on PostgreSQL (a throw-away server)"
scripts/with-postgres.sh scripts/with-smtp.sh cargo nextest run --locked -p app -p server -E 'binary(api)'

# What production serves: the site split into lazy chunks, every wasm file through
# wasm-opt, JS minified, files precompressed and named by their hashes.
step "building the release site (split, optimised, precompressed)"
scripts/build-release.sh

# One Playwright run, against the release build. The debug build (`cargo leptos watch`)
# has the same pages, server functions and stylesheet; what it alone would catch,
# Leptos's debug-only checks, the API tests' debug server and a developer's own
# `cargo leptos watch` already exercise.
step "Playwright end-to-end tests (release build)"
(cd end2end && E2E_SERVER=target/server-release/server npx playwright test)
