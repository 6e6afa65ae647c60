#!/usr/bin/env bash
# Propagation benchmark: two release servers on one database (a fresh SQLite file, or
# the PostgreSQL of TEST_DATABASE_URL: `scripts/with-postgres.sh scripts/bench-propagation.sh`).
# REVOCATIONS times (200 by default) a user signs in on the first, their token is used
# on the second (which confirms the session), they sign out on the first, and the
# second is asked with the token, without pause, until it refuses it. Prints the
# distribution of the time from the first's answer to the sign-out to the second's 401.
set -euo pipefail
cd "$(dirname "$0")/.."
REVOCATIONS=${REVOCATIONS:-200}
source scripts/lib/bench-server.sh

echo "==> building the release server"
LEPTOS_OUTPUT_NAME=taskboard cargo build --quiet --locked --profile server-release -p server
# Every request comes from 127.0.0.1: the per-address limits would stop the sign-ins.
# Both servers issue and accept the same tokens (by default each would be the issuer
# at its own address).
settings=(RATE_LIMIT_SIGN_UP=1000000/1m RATE_LIMIT_SIGN_IN=1000000/1m RATE_LIMIT_REFRESH=1000000/1m
  JWT_ISSUER=http://taskboard.bench JWT_AUDIENCE=tasks-api)
start_release_server "${settings[@]}"
first=$base
start_release_server "${settings[@]}"
second=$base
echo "==> $REVOCATIONS revocations on one server, refused by the other after (database: ${TEST_DATABASE_URL:+PostgreSQL}${TEST_DATABASE_URL:-SQLite})"
python3 scripts/bench/propagation.py "$first" "$second" "$REVOCATIONS"
