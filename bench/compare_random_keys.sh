#!/usr/bin/env bash
# Two or more keyward builds alternated over many keys requested at random:
# the A/B behind a change to the usage flush or anything else that only
# shows once every request is another key.
#
#   bench/compare_random_keys.sh OLD_KEYWARD NEW_KEYWARD [...]
#   KEYS=50000 ROUNDS=3 DURATION=8s CONNECTIONS=64 (defaults)
#
# KEYS keys are made once by build-bench/seed_keys (data on tmpfs) and used by
# every build in turn. Each round runs each build twice:
#   split   keyward with 1 serving thread on CPU 0, wrk -t2 on CPU 1
#   shared  keyward with 2 serving threads, wrk -t2, all on CPUs 0 and 1
# each time started afresh, warmed with one sweep of every key (4 s), then
# measured (wrk --latency over random keys). Prints one line a run.
cd "$(dirname "$0")/.."
source bench/lib.sh
[ $# -ge 1 ] || { echo "usage: $0 KEYWARD [KEYWARD...]" >&2; exit 2; }
KEYS=${KEYS:-50000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-64}
SEED=${SEED_BIN:-build-bench/seed_keys}
[ -x "$SEED" ] || { echo "bench: $SEED is missing; run make bench" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench: needs wrk: scripts/install-deps bench" >&2; exit 2; }
WORK=$BENCH_TMP
if [ -d /dev/shm ]; then WORK=$(mktemp -d /dev/shm/keyward-ab-XXXXXX); trap 'cleanup; rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK/data"
"$SEED" "$WORK/data" "$KEYS" "$WORK/keys.txt" > /dev/null 2> "$BENCH_TMP/seed.log"

run() {
  local bin=$1 mode=$2 port
  port=$(free_port)
  if [ "$mode" = split ]; then
    KEYWARD_BIN=$bin start_keyward "$WORK/data" "$port" 1 0
    cpu=1
  else
    KEYWARD_BIN=$bin start_keyward "$WORK/data" "$port" 2
    cpu=0,1
  fi
  sleep 2
  MODE=sweep THREADS=2 KEYS_FILE="$WORK/keys.txt" WRK_CPU=$cpu \
    wrk_run -t2 -c"$CONNECTIONS" -d4s --latency -s bench/keys.lua "http://127.0.0.1:$port" > /dev/null
  read -r rps p50 p99 bad < <(MODE=random THREADS=2 KEYS_FILE="$WORK/keys.txt" WRK_CPU=$cpu \
    wrk_run -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/keys.lua "http://127.0.0.1:$port" | tail -1)
  kill "$KEYWARD_PID"; wait "$KEYWARD_PID" 2>/dev/null || true
  printf '%-40s %-6s %8s req/s  p50 %7s ms  p99 %7s ms  refused %s\n' "$bin" "$mode" "$rps" "$p50" "$p99" "$bad"
}
for round in $(seq 1 "$ROUNDS"); do
  for bin in "$@"; do
    run "$bin" split
    run "$bin" shared
  done
done
