#!/usr/bin/env bash
# Runs a command beside a throw-away SMTP server (aiosmtpd, from .tools/smtp) on a free
# loopback port, which keeps every message it receives as a file in a maildir:
# TEST_SMTP_URL names the server and TEST_SMTP_DIR the maildir (messages land in its
# `new/`). The API tests send their emails there and read them back. The server and the
# messages are removed when the command ends, whatever its outcome.
#   scripts/with-smtp.sh cargo nextest run -p server --test api
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .tools/smtp/bin/python ]] || ! cmp -s scripts/smtp-tools.txt .tools/smtp/smtp-tools.txt; then
  echo "==> installing aiosmtpd into .tools/smtp for the email tests"
  rm -rf .tools/smtp
  python3 -m venv .tools/smtp
  .tools/smtp/bin/pip install --quiet --no-deps --requirement scripts/smtp-tools.txt
  .tools/smtp/bin/pip check
  cp scripts/smtp-tools.txt .tools/smtp/smtp-tools.txt
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.tools/smtp/bin/python -m aiosmtpd --nosetuid -l "127.0.0.1:$port" \
  -c aiosmtpd.handlers.Mailbox "$dir/maildir" >"$dir/smtp.log" 2>&1 &
smtp=$!
stop() {
  kill "$smtp" 2>/dev/null || true
  wait "$smtp" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT

for _ in $(seq 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
    break
  fi
  kill -0 "$smtp" 2>/dev/null || { cat "$dir/smtp.log"; exit 1; }
  sleep 0.1
done
echo "==> SMTP server (aiosmtpd) on 127.0.0.1:$port"

TEST_SMTP_URL="smtp://127.0.0.1:$port" TEST_SMTP_DIR="$dir/maildir" "$@"
