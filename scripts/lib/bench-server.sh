# Shared by the benchmark scripts (sourced, not run): the release server on a fresh
# SQLite database (or on the PostgreSQL of TEST_DATABASE_URL, which
# `scripts/with-postgres.sh scripts/bench-load.sh` provides) and a free loopback port,
# and a seeded user.

command -v jq >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }

# Starts target/server-release/server with the given extra VAR=value settings; sets
# $base, $pid and $dir, and stops the server and removes $dir on exit. Called again, it
# starts another server on the same database (each is stopped on exit).
pids=()
start_release_server() {
  if [ -z "${dir:-}" ]; then
    dir=$(mktemp -d)
    trap 'kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
  fi
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  env DATABASE_URL="${TEST_DATABASE_URL:-sqlite://$dir/bench.db?mode=rwc}" \
    JWT_SECRET_KEY="benchmark-secret-not-for-production-0123456789" \
    LEPTOS_OUTPUT_NAME=taskboard LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site \
    RUST_LOG=warn "$@" target/server-release/server >"$dir/server-$port.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && return; sleep 0.1; done
  echo "!! the server did not start:" >&2
  cat "$dir/server-$port.log" >&2
  exit 1
}

# Signs up $1 (password $2); prints their access token.
sign_up() {
  local session
  session=$(curl -sf "$base/api/auth/sign-up/email" -H 'content-type: application/json' \
    -d "{\"name\":\"Bench\",\"email\":\"$1\",\"password\":\"$2\"}" | jq -r .token)
  curl -sf "$base/api/auth/token" -H "authorization: Bearer $session" | jq -r .token
}

# Signs up $1 (password $2) and gives them 20 tasks; sets $JWT to their access token.
seed_user_with_20_tasks() {
  echo "==> seeding one user with 20 tasks"
  local i
  JWT=$(sign_up "$1" "$2")
  export JWT
  for i in $(seq 20); do
    curl -sf "$base/api/tasks" -H "authorization: Bearer $JWT" -H 'content-type: application/json' \
      -d "{\"title\":\"seeded task $i\"}" >/dev/null
  done
}

# SCALE=1: other people's data beside the measured user (scripts/bench/scale.sql:
# 1,000,000 tasks, 1,000,000 sessions, 10,000,000 retired tokens), in the server's
# database, analysed and checkpointed as a long-running one would be.
seed_other_peoples_data() {
  echo "==> scale: seeding other people's data (scripts/bench/scale.sql)"
  local started
  started=$(date +%s)
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    psql -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_URL" -f scripts/bench/scale.sql
    psql -q "$TEST_DATABASE_URL" -c analyze
  else
    python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60)
db.executescript(open("scripts/bench/scale.sql").read())
db.execute("analyze")
db.execute("pragma wal_checkpoint(truncate)")' "$dir/bench.db"
  fi
  echo "    seeded in $(( $(date +%s) - started )) s"
}

# BACKLOG=1: the seeded sessions expired two days ago, so the janitor has 1,000,000
# sessions and their 10,000,000 retired tokens to delete.
expire_other_peoples_sessions() {
  echo "==> backlog: expiring the seeded sessions"
  local expire="update sessions set expires_at = '2000-01-01T00:00:00.000000Z' where id like 'scale-session-%'"
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    psql -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_URL" -c "$expire"
  else
    python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60)
db.execute(sys.argv[2])
db.commit()' "$dir/bench.db" "$expire"
  fi
  backlog_from=$(date +%s)
}

# What the janitor deleted since the backlog appeared, from the sweeps' log lines, and
# its pace against the 10,000,000 rows a day that 100,000 daily users retire.
janitor_pace() {
  local logs elapsed
  # Without the colours the log has even in a file.
  logs=$(sed 's/\x1b\[[0-9;]*m//g' "$dir"/server-*.log)
  elapsed=$(( $(date +%s) - backlog_from ))
  grep -o 'sessions: [0-9]*, retired_tokens: [0-9]*' <<<"$logs" | awk -v secs="$elapsed" '
    { s += $2 + 0; t += $4 + 0; n++ }
    END {
      rows = s + t
      printf "\njanitor: %d sweeps deleted %d sessions and %d retired tokens in %d s: %.0f rows/s, %.1f million a day at that pace\n", n, s, t, secs, rows / secs, rows / secs * 86400 / 1e6
    }'
  grep -o 'took_ms=[0-9]*' <<<"$logs" | sort -t= -k2 -n | tail -1 | sed 's/^/janitor: the longest sweep /' || true
}
