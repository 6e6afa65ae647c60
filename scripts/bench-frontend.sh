#!/usr/bin/env bash
# Front-end benchmark: builds the release site (wasm through wasm-opt, every file also
# precompressed as .gz and .br), prints the sizes of the hydrated app's wasm, JS and CSS
# raw, gzip and brotli, then serves it with the release server on a fresh database and
# measures in headless Debian chromium the time from navigation to an interactive task
# list (end2end/perf/time-to-interactive.mjs).
#   scripts/bench-frontend.sh          (RUNS=10 page loads by default)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
scripts/setup.sh --test
command -v jq >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }

# wasm-opt from npm's binaryen: Debian's is too old for the wasm current Rust emits.
binaryen=.tools/binaryen
if [ ! -x "$binaryen/node_modules/.bin/wasm-opt" ]; then
  echo "==> installing wasm-opt (npm binaryen) into $binaryen"
  npm install --silent --no-save --prefix "$binaryen" binaryen@132.0.0
fi
export PATH="$PWD/$binaryen/node_modules/.bin:$PATH"

echo "==> building the release site"
cargo leptos build --release --precompress

echo
printf '%-44s %10s %10s %10s\n' file raw gzip brotli
total_br=0
for file in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
  raw=$(stat -c %s "$file")
  gz=$(stat -c %s "$file.gz")
  br=$(stat -c %s "$file.br")
  case $file in *.wasm | *.js) total_br=$((total_br + br)) ;; esac
  printf '%-44s %10s %10s %10s\n' "${file#target/site/}" "$raw" "$gz" "$br"
done
printf 'wasm + js as served (brotli): %d bytes (%d KiB)\n\n' "$total_br" $((total_br / 1024))

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
DATABASE_URL="sqlite://$dir/bench.db?mode=rwc" \
JWT_SECRET_KEY="frontend-benchmark-secret-not-for-production-0123456789" \
LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site LEPTOS_HASH_FILES=true \
RATE_LIMIT_SIGN_IN=1000/1m RUST_LOG=warn target/server-release/server >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

echo "==> seeding one user with 20 tasks"
session=$(curl -sf "$base/api/auth/sign-up/email" -H 'content-type: application/json' \
  -d '{"name":"Front","email":"front@example.com","password":"front end password"}' | jq -r .token)
jwt=$(curl -sf "$base/api/auth/token" -H "authorization: Bearer $session" | jq -r .token)
for i in $(seq 20); do
  curl -sf "$base/api/tasks" -H "authorization: Bearer $jwt" -H 'content-type: application/json' \
    -d "{\"title\":\"seeded task $i\"}" >/dev/null
done
encoding=$(curl -s -o /dev/null -D - -H 'accept-encoding: br' \
  "$base/pkg/$(basename target/site/pkg/*.wasm)" | tr -d '\r' | awk -F': ' 'tolower($1) ~ /content-encoding|cache-control/ {print $1 ": " $2}' | paste -sd ';')
echo "the wasm is served with: $encoding"
node end2end/perf/time-to-interactive.mjs "$base" front@example.com "front end password" "$RUNS"
