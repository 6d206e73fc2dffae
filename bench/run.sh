#!/usr/bin/env bash
# What `npm run bench` runs: every benchmark in sequence, with the sizes the issues ask
# for (200 MB bodies, 10,000 NOOPs, 1,000 sessions, 100,000 pairs). Each prints its own
# table; the relay benchmark prints ratios to a direct connection and to a bare pipe.
# Benchmarks, not tests: nothing here fails on a figure. Each one has a time limit.
#
#   npm run bench                    # everything
#   bash bench/run.sh relay decode   # a subset, by name
#   BENCH_QUICK=1 npm run bench      # small sizes, to check that everything still runs
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=${BENCH_QUICK:-}
want=" ${*:-relay decode decode-imap store certs dashboard} "
status=0

echo "mailtap benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC'), node $(node --version), $(nproc) CPUs," \
  "$(awk '{print "load " $1 " " $2 " " $3}' /proc/loadavg 2>/dev/null || uptime)"
grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: /cpu: /'

# run NAME LIMIT_SECONDS COMMAND...
run() {
  local name=$1 limit=$2
  shift 2
  [[ $want == *" $name "* ]] || return 0
  echo
  echo "=== $name"
  # A benchmark that hangs or crashes is reported and the others still run.
  timeout --kill-after=10 "$limit" "$@"
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "=== $name: FAILED (exit $rc$([ $rc -eq 124 ] && echo ', time limit'))"
    status=1
  fi
}

if [ -n "$quick" ]; then
  BENCH_MB=20 BENCH_RUNS=1 BENCH_NOOPS=1000 BENCH_SESSIONS=100 run relay 300 node --import tsx bench/relay.ts
  run decode 120 node --import tsx bench/decode.ts 20
  run decode-imap 120 node --import tsx bench/decode-imap.ts 20
  run store 300 node --expose-gc --import tsx bench/store.ts 50
  BENCH_N=5 run certs 300 node --import tsx bench/certs.ts
else
  BENCH_MB=200 BENCH_RUNS=${BENCH_RUNS:-3} BENCH_NOOPS=10000 BENCH_SESSIONS=1000 BENCH_BREAKDOWN=${BENCH_BREAKDOWN:-1} run relay 1200 node --import tsx bench/relay.ts
  run decode 300 node --import tsx bench/decode.ts 200
  run decode-imap 300 node --import tsx bench/decode-imap.ts 200
  run store 600 node --expose-gc --import tsx bench/store.ts 200
  run certs 600 node --import tsx bench/certs.ts
fi

if [[ $want == *" dashboard "* ]]; then
  if [ ! -f bench/dashboard.ts ]; then
    echo; echo "=== dashboard: skipped (bench/dashboard.ts not present)"
  elif ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    echo; echo "=== dashboard: skipped (no chromium on this machine)"
  elif [ -n "$quick" ]; then
    BENCH_SAMPLES=20 BENCH_EVENTS=10000 BENCH_SESSIONS=100 run dashboard 600 node --import tsx bench/dashboard.ts
  else
    run dashboard 900 node --import tsx bench/dashboard.ts
  fi
fi
exit $status
