#!/usr/bin/env bash
# Where GET /api/tasks spends its time: the release server on a fresh SQLite database,
# one user with 20 tasks, wrk driving the list (64 connections) while `perf record`
# samples the server; prints the hottest functions and the share of each library.
#   scripts/bench-profile.sh            (DURATION=10s by default; SCALE=1 beside other
#                                       people's data, as scripts/bench-load.sh)
# perf needs permission to sample the process (root, or kernel.perf_event_paranoid <= 1).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v perf >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null; }
source scripts/lib/bench-server.sh

echo "==> building the release server"
LEPTOS_OUTPUT_NAME=taskboard cargo build --quiet --locked --profile server-release -p server
start_release_server RATE_LIMIT_SIGN_UP=1000/1m RATE_LIMIT_TASK_WRITES=1000/1m
seed_user_with_20_tasks profile@example.com "profile test password"
[ "${SCALE:-0}" = 1 ] && seed_other_peoples_data

echo "==> perf: GET /api/tasks, 64 connections, $DURATION"
wrk -t2 -c64 -d"$DURATION" -H "Authorization: Bearer $JWT" "$base/api/tasks" >"$dir/wrk.txt" &
wrk_pid=$!
sleep 1
seconds=${DURATION%s}
perf record -q -F 999 -p "$pid" -o "$dir/perf.data" -- sleep $((seconds - 2)) 2>/dev/null
wait $wrk_pid
grep "Requests/sec" "$dir/wrk.txt"
echo "==> the server's time by library"
perf report -i "$dir/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -12
perf report -i "$dir/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' >"$dir/symbols.txt"
echo "==> the server's time by kind of work (functions grouped by name)"
awk '
  { share = $1 + 0; name = $0; sub(/^ *[0-9.]+% +\[[^]]*\] +/, "", name); sub(/ +- +- *$/, "", name)
    kind = "other"
    if ($2 == "[k]") kind = "kernel (scheduling, sockets, futexes)"
    else if (name ~ /^sqlite3|sqlx_sqlite|SqliteRow|sqlx_core::any|AnyRow|AnyValue|sqlx_core::pool|sqlx_core::|flume/) kind = "sqlx and SQLite (queries, the worker thread, Any conversions, the pool)"
    else if (name ~ /malloc|free|_mi_|mi_|memmove|memcpy|memset|realloc|alloc::/) kind = "allocation and copying"
    else if (name ~ /pthread_mutex|futex|parking_lot|std::sync/) kind = "locks"
    else if (name ~ /serde_json|serde::|format_escaped|itoa|ryu/) kind = "JSON"
    else if (name ~ /hyper|http::|h1::|bytes::|httparse/) kind = "hyper (HTTP)"
    else if (name ~ /tokio|mio::/) kind = "tokio"
    else if (name ~ /axum|tower|RouteFuture|Next::run|matchit/) kind = "axum and tower (routing, middleware)"
    else if (name ~ /AppState|LeptosOptions|leptos/) kind = "cloning and dropping AppState (LeptosOptions)"
    else if (name ~ /jsonwebtoken|hmac|sha2|base64|app::auth::token/) kind = "token verification"
    else if (name ~ /^app::|server::/) kind = "the app itself"
    total[kind] += share }
  END { for (k in total) printf "  %6.2f%%  %s\n", total[k], k }' "$dir/symbols.txt" | sort -rn
echo "==> the 25 hottest functions"
head -25 "$dir/symbols.txt" | sed -E 's/ {2,}- +- *$//; s/ +$//'
