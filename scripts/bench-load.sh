#!/usr/bin/env bash
# Load benchmark: builds the release server, starts it on a fresh SQLite database on a
# free loopback port, seeds a user with 20 tasks (plus a user to write as and 20 users
# to sign in), and drives it with wrk. Prints requests/s, p50 and p99 latency for each
# endpoint, the ratio to the unauthenticated /health ceiling measured in the same run,
# and the server's peak resident memory.
# Also: GET /api/me (token verify, the revocation query and one user lookup), sign-in
# latency alone (one connection), and GET /api/tasks while 20 people sign in at once.
#   scripts/bench-load.sh            (DURATION=10s CONNECTIONS=64 THREADS=2 by default)
#   SCALE=1 scripts/bench-load.sh    the same beside other people's data: 1,000,000 tasks,
#                                    1,000,000 sessions, 10,000,000 retired tokens
#                                    (scripts/bench/scale.sql; a few minutes to seed)
#   BACKLOG=1 scripts/bench-load.sh  SCALE=1 with those sessions expired, and the janitor
#                                    sweeping every second: the rows are measured while
#                                    it works through the backlog, and its pace is printed
# Every request goes to 127.0.0.1, each run is bounded by DURATION, and the server is
# stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
source scripts/lib/bench-server.sh

echo "==> building the release server"
LEPTOS_OUTPUT_NAME=taskboard cargo build --quiet --locked --profile server-release -p server
# Every request comes from 127.0.0.1, so the per-address limits would stop the seeding
# (a sign-up and a token exchange per user) and the sign-ins. The POST row writes tens
# of thousands of tasks as one user, past the per-user write rate and task cap; the
# cap's count still runs on every insert, so that row includes its cost.
janitor=()
if [ "${BACKLOG:-0}" = 1 ]; then
  SCALE=1
  janitor=(JANITOR_INTERVAL=1s RUST_LOG=warn,server=info)
fi
start_release_server RATE_LIMIT_SIGN_UP=1000000/1m RATE_LIMIT_SIGN_IN=1000000/1m \
  RATE_LIMIT_REFRESH=1000000/1m RATE_LIMIT_TASK_WRITES=100000000/1m MAX_TASKS_PER_USER=100000000 \
  "${janitor[@]}"
seed_user_with_20_tasks load@example.com "load test password"
# The POST benchmark writes as another user, so the list above keeps its 20 tasks.
WRITER_JWT=$(sign_up writer@example.com "load test password")
export WRITER_JWT
export STORM_USERS=20
echo "==> seeding $STORM_USERS users for the sign-in storm"
for i in $(seq "$STORM_USERS"); do sign_up "storm-$i@example.com" "storm test password" >/dev/null; done
[ "${SCALE:-0}" = 1 ] && seed_other_peoples_data
[ "${BACKLOG:-0}" = 1 ] && expire_other_peoples_sessions

# Turns wrk's report on stdin into "rps p50 p99" for the row called $1.
summarize() {
  local out
  out=$(cat)
  if grep -q "Non-2xx" <<<"$out"; then echo "!! $1 had non-2xx answers:" >&2; echo "$out" >&2; exit 1; fi
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1 == "50%" {print $2}' <<<"$out") $(awk '$1 == "99%" {print $2}' <<<"$out")"
}

# Runs wrk with the default threads and connections; prints "rps p50 p99".
measure() {
  local name=$1; shift
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" | summarize "$name"
}

# The peak counts from here: seeding hashed 22 passwords, which is sign-in work, not
# API load (writing 5 to clear_refs resets the kernel's high-water mark, VmHWM).
echo 5 >"/proc/$pid/clear_refs" || echo "!! cannot reset the peak: it includes the seeding" >&2

echo "==> wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per endpoint"
rows=()
ceiling=$(measure "GET /health" "$base/health")
rows+=("GET /health|$ceiling")
rows+=("GET /api/me|$(measure "GET /api/me" -H "Authorization: Bearer $JWT" "$base/api/me")")
rows+=("GET /api/tasks|$(measure "GET /api/tasks" -H "Authorization: Bearer $JWT" "$base/api/tasks")")
rows+=("POST /api/tasks|$(measure "POST /api/tasks" -s scripts/bench/post_task.lua "$base/api/tasks")")
peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")

echo "==> sign-in: one connection, then 20 at once while GET /api/tasks is measured"
rows+=("sign-in, alone|$(wrk -t1 -c1 -d"$DURATION" --latency -s scripts/bench/sign_in.lua "$base/api/auth/sign-in/email" | summarize "sign-in")")
wrk -t1 -c20 -d"$DURATION" --latency -s scripts/bench/sign_in.lua "$base/api/auth/sign-in/email" >"$dir/storm.txt" &
storm=$!
sleep 1
rows+=("GET /api/tasks, 20 sign-ins|$(measure "GET /api/tasks during the sign-in storm" -H "Authorization: Bearer $JWT" "$base/api/tasks")")
wait "$storm"
rows+=("sign-in, 20 at once|$(summarize "sign-in storm" <"$dir/storm.txt")")
storm_peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")  # the peak since seeding

ceiling_rps=$(awk '{print $1}' <<<"$ceiling")
printf '\n%-30s %12s %10s %10s %10s\n' endpoint "requests/s" p50 p99 "/ceiling"
for row in "${rows[@]}"; do
  IFS='|' read -r name numbers <<<"$row"
  read -r rps p50 p99 <<<"$numbers"
  printf '%-30s %12s %10s %10s %9.2f\n' "$name" "$rps" "$p50" "$p99" \
    "$(awk -v a="$rps" -v b="$ceiling_rps" 'BEGIN {print a / b}')"
done
printf '\nserver peak resident memory: %d MiB under the API load, %d MiB after the sign-in storm\n' \
  $((peak_kib / 1024)) $((storm_peak_kib / 1024))
if [ "${BACKLOG:-0}" = 1 ]; then janitor_pace; fi
