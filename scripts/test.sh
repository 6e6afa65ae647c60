#!/usr/bin/env bash
# Second command: set up what is missing, then run every check and test: the import
# layers, formatting, clippy (server and wasm) with warnings as errors, unit tests, the API
# tests on SQLite (their emails through a throw-away SMTP server), the OpenAPI document
# checked against the running server, the API tests on PostgreSQL, and the Playwright
# suite in headless Debian chromium against the debug build and then the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

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

step "API tests again on PostgreSQL (a throw-away server)"
scripts/with-postgres.sh scripts/with-smtp.sh cargo nextest run --locked -p server --test api

step "building the app for the browser tests"
cargo leptos build --split

step "Playwright end-to-end tests"
(cd end2end && npx playwright test)

# The release site is built differently (wasm-opt on the main module and on every lazy
# page's chunk, minified JS, precompressed files), so the same flows run against it too.
step "building the release site (split, optimised, precompressed)"
scripts/build-release.sh

# The accessibility checks (axe) ran against the debug build: the pages' markup and the
# stylesheet's rules are the same in both, so they are not run twice.
step "Playwright end-to-end tests against the release build"
(cd end2end && E2E_SERVER=target/server-release/server npx playwright test --grep-invert "has no axe violations")
