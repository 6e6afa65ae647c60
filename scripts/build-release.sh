#!/usr/bin/env bash
# Builds what production serves: the site into target/site (lazy pages split into chunks
# of their own, every wasm file through wasm-opt, JS minified, files precompressed as .gz
# and .br) and the server into target/server-release/server.
# wasm-opt comes from npm's binaryen, installed into .tools/binaryen the first time:
# Debian's is too old for the wasm current Rust emits.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [[ ! -x .tools/binaryen/node_modules/.bin/wasm-opt ]]; then
  printf '\033[1;34m==>\033[0m %s\n' "installing wasm-opt (npm binaryen) into .tools/binaryen"
  npm install --silent --no-save --no-audit --no-fund --prefix .tools/binaryen binaryen@132.0.0
fi
PATH="$PWD/.tools/binaryen/node_modules/.bin:$PATH" \
  cargo leptos build --release --precompress --split
