#!/usr/bin/env bash
# Front-end benchmark: builds the release site (scripts/build-release.sh), prints the
# sizes of the hydrated app's wasm, JS and CSS raw, gzip and brotli, then serves it with
# the release server on a fresh database and measures in headless Debian chromium the
# time from navigation to an interactive task list (end2end/perf/time-to-interactive.mjs).
#   scripts/bench-frontend.sh          (RUNS=10 page loads by default)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
scripts/setup.sh --test
source scripts/lib/bench-server.sh

echo "==> building the release site"
scripts/build-release.sh

echo
printf '%-80s %9s %9s %9s\n' file raw gzip brotli
first_br=0
chunks_br=0
for file in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
  raw=$(stat -c %s "$file")
  gz=$(stat -c %s "$file.gz")
  br=$(stat -c %s "$file.br")
  # The task page downloads the app's wasm and JS and the chunk loader, which the JS
  # imports; each lazy page adds its chunks the first time it is shown.
  case ${file##*/} in
    taskboard.*.wasm | taskboard.*.js | __wasm_split.*.js) first_br=$((first_br + br)) ;;
    *.wasm) chunks_br=$((chunks_br + br)) ;;
  esac
  printf '%-80s %9s %9s %9s\n' "${file#target/site/}" "$raw" "$gz" "$br"
done
printf "the task page's wasm + JS as served (brotli): %d bytes (%d KiB)\n" "$first_br" $((first_br / 1024))
printf "the lazy pages' chunks (brotli), fetched when first shown: %d bytes\n\n" "$chunks_br"

start_release_server LEPTOS_HASH_FILES=true
seed_user_with_20_tasks front@example.com "front end password"
encoding=$(curl -s -o /dev/null -D - -H 'accept-encoding: br' \
  "$base/pkg/$(basename target/site/pkg/taskboard.*.wasm)" | tr -d '\r' | awk -F': ' 'tolower($1) ~ /content-encoding|cache-control/ {print $1 ": " $2}' | paste -sd ';')
echo "the wasm is served with: $encoding"
node end2end/perf/time-to-interactive.mjs "$base" front@example.com "front end password" "$RUNS"
