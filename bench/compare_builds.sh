#!/usr/bin/env bash
# Two keyward builds against each other on GET /v1/auth: each with its own
# data and one valid key, one serving thread, both on CPU 0, alternated
# round by round with the same wrk on CPU 1. For before/after figures of a
# change: the machine's drift between runs (nginx alone moves by a quarter
# here) falls on both alike.
#
#   bench/compare_builds.sh OLD_KEYWARD NEW_KEYWARD
#   ROUNDS=5 DURATION=8s CONNECTIONS=64 THREADS=1 (defaults)
#
# THREADS=2: each keyward with two serving threads and wrk -t2, all on
# CPUs 0 and 1 (as bench/http_vs_nginx.sh's 2-thread mode).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bench/compare_builds.sh OLD_KEYWARD NEW_KEYWARD" >&2; exit 2; }
OLD=$(realpath "$1")
NEW=$(realpath "$2")
cd "$(dirname "$0")/.."
KEYWARD_BIN=$OLD
source bench/lib.sh
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
case $THREADS in 1 | 2) ;; *) echo "bench: THREADS takes 1 or 2, not '$THREADS'" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { echo "bench: needs wrk: scripts/install-deps bench" >&2; exit 2; }

KEYWARD_DATA=$BENCH_TMP/old keyward_with_one_key ',"scopes":["products:read"]'
OLD_URL=$KW
OLD_KEY=$KEY
OLD_PID=$KEYWARD_PID
KEYWARD_BIN=$NEW
KEYWARD_DATA=$BENCH_TMP/new keyward_with_one_key ',"scopes":["products:read"]'
NEW_URL=$KW
NEW_KEY=$KEY
NEW_PID=$KEYWARD_PID
WRK_THREADS=1
if [ "$THREADS" = 2 ]; then
  # Both again with two threads on both CPUs, on the same data (same key).
  export WRK_CPU=0,1
  WRK_THREADS=2
  KEYWARD_BIN=$OLD KEYWARD_DATA=$BENCH_TMP/old KEYWARD_PID=$OLD_PID
  restart_keyward 2 0,1
  OLD_URL=$KW
  KEYWARD_BIN=$NEW KEYWARD_DATA=$BENCH_TMP/new KEYWARD_PID=$NEW_PID
  restart_keyward 2 0,1
  NEW_URL=$KW
  echo "GET /v1/auth, wrk -t2 -c$CONNECTIONS -d$DURATION, each keyward with two threads, all on CPUs 0 and 1"
else
  echo "GET /v1/auth, wrk -t1 -c$CONNECTIONS -d$DURATION, each keyward on CPU 0 with one thread, wrk on CPU 1"
fi
printf '%-7s %-7s %12s %9s %9s %8s\n' round build req/s p50_ms p99_ms non2xx
old_all=(); new_all=()
for round in $(seq 1 "$ROUNDS"); do
  for which in old new; do
    url=$OLD_URL; key=$OLD_KEY
    [ $which = new ] && { url=$NEW_URL; key=$NEW_KEY; }
    read -r rps p50 p99 bad < <(wrk_run -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
      -H "Authorization: Bearer $key" "$url/v1/auth" | tail -1)
    [ "$bad" = 0 ] || { echo "bench: $which answered $bad requests with an error" >&2; exit 1; }
    printf '%-7s %-7s %12s %9s %9s %8s\n' "$round" "$which" "$rps" "$p50" "$p99" "$bad"
    if [ $which = old ]; then old_all+=("$rps $p50"); else new_all+=("$rps $p50"); fi
  done
done
python3 - "${old_all[@]}" -- "${new_all[@]}" <<'PY'
import statistics, sys
a = sys.argv[1:]
i = a.index("--")
old = [list(map(float, x.split())) for x in a[:i]]
new = [list(map(float, x.split())) for x in a[i + 1:]]
med = lambda rows, k: statistics.median(r[k] for r in rows)
print(f"\nmedian  old {med(old,0):.0f} req/s p50 {med(old,1):.3f} ms")
print(f"median  new {med(new,0):.0f} req/s p50 {med(new,1):.3f} ms")
print(f"ratio   new/old throughput {med(new,0) / med(old,0):.3f}")
PY
