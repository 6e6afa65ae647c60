#!/usr/bin/env bash
# Tests the OpenAPI document against the server that serves it. Starts the debug server
# on a fresh SQLite database (or on the PostgreSQL of TEST_DATABASE_URL, which
# `scripts/with-postgres.sh scripts/check-openapi.sh` provides) and a free loopback
# port, validates its /openapi.json with openapi-spec-validator, then runs Schemathesis
# against it: every answer must be no 5xx, a documented status, the documented content
# type and schema, with the documented headers. Four runs, each bounded in examples per
# operation and with a fixed seed:
#   signed in   every operation but the four that end the caller's own sessions, with
#               each credential where the document's security asks for it: the access
#               JWT for the tasks API and /api/me, the session token for /api/auth/*
#               (an admin route answers this user's 403);
#   sessions    sign-out and the three revoke routes, signed in as a second user whose
#               sessions they may end;
#   admin       the admin routes, signed in as an admin (`server make-admin`);
#   anonymous   every operation, without credentials.
# The rate limits are raised for the run (every request comes from 127.0.0.1); the
# 429s are documented and tested by the API tests.
#   scripts/check-openapi.sh                    builds target/debug/server first
#   SERVER=target/debug/server scripts/check-openapi.sh   uses that binary as it is
#   MAX_EXAMPLES=100 SEED=7 scripts/check-openapi.sh      a longer or another run
# Needs `scripts/setup.sh --test` (the tools in .tools/openapi). Exits non-zero on any
# failure, after every run has printed its report.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_EXAMPLES=${MAX_EXAMPLES:-25}
# Fixed, so CI generates the same requests every time and a failure reproduces with
# the seed Schemathesis prints; set SEED to explore further.
SEED=${SEED:-20261201}
tools=$PWD/.tools/openapi/bin
step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

[ -x "$tools/schemathesis" ] && [ -x "$tools/openapi-spec-validator" ] ||
  { echo "!! no .tools/openapi: run scripts/setup.sh --test" >&2; exit 1; }

if [ -z "${SERVER:-}" ]; then
  step "building the debug server"
  cargo build --locked -p server
  SERVER=target/debug/server
fi

dir=$(mktemp -d)
pid=
stop() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap stop EXIT

step "starting $SERVER on a fresh database"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
limit=1000000/1m
export DATABASE_URL="${TEST_DATABASE_URL:-sqlite://$dir/t.db?mode=rwc}" LEPTOS_OUTPUT_NAME=taskboard \
  JWT_SECRET_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(48)).decode())')"
env LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site API_DOCS=true \
  RATE_LIMIT_SIGN_UP=$limit RATE_LIMIT_SIGN_IN=$limit RATE_LIMIT_FAILED_SIGN_IN=$limit \
  RATE_LIMIT_REFRESH=$limit RATE_LIMIT_TASK_WRITES=$limit RATE_LIMIT_API_TOKENS=$limit RATE_LIMIT_PROFILE_UPDATES=$limit \
  RUST_LOG=warn "$SERVER" >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
curl -sf "$base/health" >/dev/null || { echo "!! the server did not start:" >&2; cat "$dir/server.log" >&2; exit 1; }

step "validating /openapi.json (openapi-spec-validator)"
curl -sf "$base/openapi.json" -o "$dir/openapi.json"
"$tools/openapi-spec-validator" "$dir/openapi.json"

# Reads one member of a JSON answer on stdin ("token", "user.id").
member() { python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[key]
print(value)' "$1"; }

# Signs up $1; sets $session (the `set-auth-token` header: the session token, a bearer
# token on /api/auth/*) and $jwt (an access JWT from GET /api/auth/token with it).
sign_up() {
  session=$(curl -sf -D - -o /dev/null "$base/api/auth/sign-up/email" -H 'content-type: application/json' \
    -d "{\"name\":\"Schemathesis\",\"email\":\"$1\",\"password\":\"a passphrase for the OpenAPI check\"}" |
    tr -d '\r' | sed -n 's/^set-auth-token: //Ip')
  [ -n "$session" ] || { echo "!! signing up $1 gave no set-auth-token" >&2; exit 1; }
  jwt=$(curl -sf "$base/api/auth/token" -H "authorization: Bearer $session" | member token)
}

step "signing up the users and giving the first one tasks"
sign_up sessions@example.com
sessions_session=$session
sign_up admin@example.com
admin_session=$session
RUST_LOG=warn "$SERVER" make-admin --unverified admin@example.com >/dev/null
sign_up user@example.com
task_ids=()
for i in 1 2 3 4 5; do
  task_ids+=("$(curl -sf "$base/api/tasks" -H "authorization: Bearer $jwt" -H 'content-type: application/json' \
    -d "{\"title\":\"task $i\",\"description\":\"made for the OpenAPI check\"}" | member id)")
done

# The signed-in runs' configuration: each credential under the name of the security
# scheme that asks for it, so every operation is sent the one its `security` lists. The
# task routes' `{id}` is one of the tasks above half of the time, so reads, changes and
# deletions reach real tasks, and Schemathesis' own the other half.
ids=$(printf '"%s", ' "${task_ids[@]}")
cat >"$dir/signed-in.toml" <<EOF
[cache]
enabled = false

[auth.openapi.bearer_jwt]
bearer = "\${TASKBOARD_JWT}"

[auth.openapi.session_token]
bearer = "\${TASKBOARD_SESSION}"

[dictionaries.task_ids]
values = [${ids%, }]

[parameters]
"path.id" = { dictionary = "task_ids", probability = 0.5 }
EOF
cat >"$dir/anonymous.toml" <<EOF
[cache]
enabled = false
EOF

failed=()
# Runs Schemathesis: $1 names the run, $2 its configuration, the rest are more options.
# Its working directory is the temporary one and its example database is off, so no
# earlier run's examples are replayed. Bounded by examples (per operation and phase),
# not by --max-time, which would repeat fuzzing until the time is spent and make what
# is generated depend on the machine's speed; `timeout` is only a net for a hang. One
# worker: with two threads, Python 3.11's ast.parse (which Hypothesis calls to describe
# its strategies) now and then fails with "AST constructor recursion depth mismatch"
# (CPython gh-106905), and on two cores a second worker gains little.
schemathesis() {
  local name=$1 config=$2
  shift 2
  step "Schemathesis: $name"
  if ! (cd "$dir" && timeout 600 "$tools/schemathesis" --config-file "$config" --no-color \
    run "$base/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" --generation-database none \
    --workers 1 --request-timeout 10 "$@"); then
    failed+=("$name")
  fi
}

started=$(date +%s)
TASKBOARD_JWT=$jwt TASKBOARD_SESSION=$session schemathesis "signed in" signed-in.toml \
  --exclude-operation-id sign_out --exclude-operation-id revoke_session \
  --exclude-operation-id revoke_sessions --exclude-operation-id revoke_other_sessions
TASKBOARD_JWT=unused TASKBOARD_SESSION=$sessions_session schemathesis "sessions" signed-in.toml \
  --include-operation-id sign_out --include-operation-id revoke_session \
  --include-operation-id revoke_sessions --include-operation-id revoke_other_sessions
TASKBOARD_JWT=unused TASKBOARD_SESSION=$admin_session schemathesis "admin" signed-in.toml \
  --include-tag admin
schemathesis "anonymous" anonymous.toml

if ! kill -0 "$pid" 2>/dev/null; then
  echo "!! the server exited during the run:" >&2
  tail -50 "$dir/server.log" >&2
  failed+=("server")
fi
echo
echo "Schemathesis took $(( $(date +%s) - started )) s (seed $SEED, at most $MAX_EXAMPLES examples per operation and phase)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "!! failed: ${failed[*]}" >&2
  exit 1
fi
echo "OpenAPI check passed"
