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
source scripts/lib/bench-server.sh

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

start_release_server LEPTOS_HASH_FILES=true
seed_user_with_20_tasks front@example.com "front end password"
encoding=$(curl -s -o /dev/null -D - -H 'accept-encoding: br' \
  "$base/pkg/$(basename target/site/pkg/*.wasm)" | tr -d '\r' | awk -F': ' 'tolower($1) ~ /content-encoding|cache-control/ {print $1 ": " $2}' | paste -sd ';')
echo "the wasm is served with: $encoding"
node end2end/perf/time-to-interactive.mjs "$base" front@example.com "front end password" "$RUNS"
