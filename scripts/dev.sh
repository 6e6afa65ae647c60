#!/usr/bin/env bash
# First command: set up what is missing, then build and serve Taskboard on SQLite with
# live reload. No configuration needed: the database and a development JWT secret are
# created under data/ on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "Taskboard will be served at http://127.0.0.1:3000 once built (Ctrl-C stops it)."
exec cargo leptos watch --split
