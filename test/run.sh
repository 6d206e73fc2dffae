#!/usr/bin/env bash
# What `npm test` runs: makes sure the real Dovecot/Postfix test bed is up (starting, and as
# root installing, it when needed), runs every test file with Node's runner, and stops the
# servers again if it was the one that started them. Exits with the runner's code.
#
#   MAILTAP_TEST_FILES="test/smtp/a.test.ts test/imap/b.test.ts" npm test   # a subset
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
servers=test/servers/servers.sh
started=
reason=

if bash "$servers" status >/dev/null 2>&1; then
  # Possibly started from another checkout: use that instance's certificate and mailboxes.
  export MAILTAP_SERVERS_DIR=${MAILTAP_SERVERS_DIR:-$(bash "$servers" dir)}
  echo "real servers: already running (from $MAILTAP_SERVERS_DIR)"
else
  log=$(mktemp)
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    # Quick when everything is there already: it only installs what is missing.
    bash "$servers" install >"$log" 2>&1 || reason="install failed: $(tail -n 1 "$log")"
  elif ! command -v dovecot >/dev/null || ! command -v postfix >/dev/null; then
    reason="dovecot/postfix not installed (as root: bash $servers install)"
  fi
  if [ -z "$reason" ]; then
    if bash "$servers" start >"$log" 2>&1; then
      started=1
      echo "real servers: started"
    else
      reason="start failed: $(grep -v '^up ' "$log" | uniq | tail -n 3 | tr '\n' ' ')"
      # A half-started bed (one daemon up) must not outlive this run either.
      bash "$servers" stop >/dev/null 2>&1
    fi
  fi
  rm -f "$log"
  [ -n "$reason" ] && echo "real servers unavailable: $reason — their tests will be skipped (CI counts this as a failure)"
fi

stop_servers() {
  if [ -n "$started" ]; then
    bash "$servers" stop >/dev/null 2>&1 || echo "warning: could not stop the real servers: bash $servers stop" >&2
    started=
  fi
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

if [ -n "${MAILTAP_TEST_FILES:-}" ]; then
  read -r -a files <<<"$MAILTAP_TEST_FILES"
else
  mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files found"
  exit 1
fi

# The TAP reporter, to stdout, so the summary (# tests, # pass, # fail) is always there.
args=(--import tsx --test --test-concurrency=2 --test-reporter=tap --test-reporter-destination=stdout)
# A test that never settles fails after the timeout, and a file whose tests are done but left a
# socket or timer open still ends: either would otherwise hold the whole run forever. The timeout
# also bounds each whole file, hence minutes: it is a guard against hangs, not a speed limit.
# (Node >= 20.14; older ones lack the flags and run without the guard.)
if node --test-force-exit --test-timeout=1 -e 0 >/dev/null 2>&1; then
  args+=(--test-timeout="${MAILTAP_TEST_TIMEOUT_MS:-300000}" --test-force-exit)
fi
node "${args[@]}" "${files[@]}"
code=$?
stop_servers
exit $code
