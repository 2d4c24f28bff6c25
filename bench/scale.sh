#!/usr/bin/env bash
# A million keys: how long creating them takes, verification throughput with a
# cold and with a warm cache, and resident memory per cached key.
#
#   KEYWARD_BIN=build-bench/keyward bench/scale.sh
#   KEYS=1000000 DURATION=10s CONNECTIONS=64 (defaults)
#
# Keys are created by bench/seed_keys through KeyService, one durable
# transaction each as POST /v1/api-keys does, on tmpfs when /dev/shm exists
# (so the figure is keyward's cost, not the disk's); the creation rate through
# the HTTP API on the real disk is measured separately for 5 s.
#
# Ends with one TARGET line per line-rate target (bench/summary.sh collects
# them): memory per cached key <= 256 B, warm-cache p99 < 2 ms and cold-cache
# p99 < 5 ms over random keys of the million.
cd "$(dirname "$0")/.."
source bench/lib.sh
KEYS=${KEYS:-1000000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SEED=${SEED_BIN:-$(dirname "$KEYWARD_BIN")/seed_keys}
[ -x "$SEED" ] || { echo "bench: $SEED is missing; run make bench" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench: needs wrk: scripts/install-deps bench" >&2; exit 2; }
WORK=$BENCH_TMP
if [ -d /dev/shm ]; then WORK=$(mktemp -d /dev/shm/keyward-scale-XXXXXX); trap 'cleanup; rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK/data"

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# Where resident memory is: anonymous (keyward's heap), file pages (SQLite's
# reads of the database on tmpfs count here or as shmem), shmem.
rss_parts() { awk '/^Rss(Anon|File|Shmem):/ {printf "%s %d MiB  ", $1, $2 / 1024}' "/proc/$1/status"; }
metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
echo "== creating $KEYS keys through KeyService (one durable transaction each; data on $(df --output=fstype "$WORK" | tail -1))"
read -r n secs < <("$SEED" "$WORK/data" "$KEYS" "$WORK/keys.txt" 2> "$BENCH_TMP/seed.log")
echo "created $n keys in $secs s: $(python3 -c "print(round($n/$secs))") keys/s; database $(du -sh "$WORK/data" | cut -f1)"

ROOT=$("$KEYWARD_BIN" root-keys create --data "$WORK/data" --name bench 2>/dev/null)
PORT=$(free_port)
KEYWARD_CACHE_MAX_KEYS=$((KEYS * 3 / 2)) start_keyward "$WORK/data" "$PORT" 2
URL="http://127.0.0.1:$PORT"
PID=$KEYWARD_PID
# A node that has just been handed a million new keys first works through
# their outbox (a million api_key.created events to fan out, in batches of
# 500). Verification does not wait for it, but it shares the two cores:
# wait until keyward is idle (under 5 % of a core over 2 s, at most 10 min),
# so that the runs below measure verification, not that catch-up.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
settle_start=$(date +%s)
while :; do
  t0=$(cpu_ticks "$PID"); sleep 2; t1=$(cpu_ticks "$PID")
  [ $(( (t1 - t0) * 100 / (2 * $(getconf CLK_TCK)) )) -lt 5 ] && break
  [ $(( $(date +%s) - settle_start )) -gt 600 ] && { echo "  still busy after 10 min; measuring anyway" >&2; break; }
done
echo "  keyward idle $(( $(date +%s) - settle_start )) s after it started (start-up work: the outbox of the new keys)"
rss_start=$(rss_kib "$PID")
parts_start=$(rss_parts "$PID")

echo "== verification, random keys of $KEYS, wrk -t2 -c$CONNECTIONS -d$DURATION (shares the 2 cores with keyward)"
printf '%-22s %10s %9s %9s %10s %10s\n' run req/s p50_ms p99_ms cache_hits misses
run() {
  local label=$1 mode=$2 dur=$3
  local h0 m0
  h0=$(metric "$URL" keyward_key_cache_hits_total); m0=$(metric "$URL" keyward_key_cache_misses_total)
  read -r rps p50 p99 bad < <(MODE=$mode THREADS=2 KEYS_FILE="$WORK/keys.txt" WRK_CPU=0,1 \
    wrk_run -t2 -c"$CONNECTIONS" -d"$dur" --latency -s bench/keys.lua "$URL" | tail -1)
  [ "$bad" = 0 ] || { echo "bench: $bad requests were refused" >&2; exit 1; }
  cold_rps=${rps%.*}
  RUN_P99=$p99 RUN_P50=$p50 RUN_RPS=$rps
  printf '%-22s %10s %9s %9s %10s %10s\n' "$label" "$rps" "$p50" "$p99" \
    $(( $(metric "$URL" keyward_key_cache_hits_total) - h0 )) $(( $(metric "$URL" keyward_key_cache_misses_total) - m0 ))
}
run "cold cache" random "$DURATION"
cold=("$RUN_RPS" "$RUN_P50" "$RUN_P99")
# Warm every key: one sweep through the file, long enough at the cold rate
# (its own rate is not reported), then top up if some were missed.
sweep_s=$(python3 -c "import math; print(max(5, math.ceil($KEYS / max($cold_rps, 1000) * 1.5)))")
MODE=sweep THREADS=2 KEYS_FILE="$WORK/keys.txt" WRK_CPU=0,1 \
  wrk_run -t2 -c"$CONNECTIONS" -d"${sweep_s}s" --latency -s bench/keys.lua "$URL" > /dev/null
entries=$(metric "$URL" keyward_key_cache_entries)
echo "  warmed: $entries keys cached after a ${sweep_s} s sweep" >&2
rss_warm=$(rss_kib "$PID")
parts_warm=$(rss_parts "$PID")
# The same once the usage flush has written what the sweep left waiting
# (its buffers and the last uses to write are in the figure above).
sleep 5
rss_settled=$(rss_kib "$PID")
parts_settled=$(rss_parts "$PID")
thread_cpu() {  # TID NAME CPU_TICKS for each of keyward's threads
  for t in /proc/"$PID"/task/*; do
    echo "$(basename "$t") $(cat "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
  done | sort
}
thread_cpu > "$BENCH_TMP/threads.before"
run "warm cache" random "$DURATION"
warm=("$RUN_RPS" "$RUN_P50" "$RUN_P99")
thread_cpu > "$BENCH_TMP/threads.after"
# Where keyward's CPU went in the warm run, per thread (serving threads are
# named keyward; the usage flush is kw-usage-flush).
echo "== CPU seconds per keyward thread over the warm run (threads that used any):"
join "$BENCH_TMP/threads.before" "$BENCH_TMP/threads.after" |
  awk -v hz="$(getconf CLK_TCK)" '$5 > $3 {printf "  %-16s %6.2f s\n", $2, ($5 - $3) / hz}'
per_key=$(( (rss_warm - rss_start) * 1024 / entries ))
echo "== memory: RSS $((rss_start / 1024)) MiB before, $((rss_warm / 1024)) MiB with $entries keys cached:" \
     "$per_key bytes per cached key (target <= 256)"
echo "   before:          $parts_start"
echo "   warm:            $parts_warm"
echo "   5 s later:       $parts_settled ($(( (rss_settled - rss_start) * 1024 / entries )) bytes per cached key)"

# The same warm run with the cores split as bench/http_vs_nginx.sh splits
# them: keyward (one serving thread) on core 0, wrk on core 1. With wrk on
# the same two cores, four busy threads share two, and a request can wait a
# whole scheduler time slice (several ms) behind wrk; split, what is left is
# keyward's own. Shown beside the target, which stays the shared run.
kill "$PID"; wait "$PID" 2>/dev/null || true
PORT=$(free_port)
KEYWARD_CACHE_MAX_KEYS=$((KEYS * 3 / 2)) start_keyward "$WORK/data" "$PORT" 1 0
URL="http://127.0.0.1:$PORT"
PID=$KEYWARD_PID
MODE=sweep THREADS=2 KEYS_FILE="$WORK/keys.txt" WRK_CPU=1 \
  wrk_run -t2 -c"$CONNECTIONS" -d"${sweep_s}s" --latency -s bench/keys.lua "$URL" > /dev/null
read -r s_rps s_p50 s_p99 s_bad < <(MODE=random THREADS=2 KEYS_FILE="$WORK/keys.txt" WRK_CPU=1 \
  wrk_run -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/keys.lua "$URL" | tail -1)
echo "== warm cache, cores split (keyward 1 thread on core 0, wrk -t2 on core 1):" \
     "$s_rps req/s, p50 $s_p50 ms, p99 $s_p99 ms, $s_bad refused;" \
     "$(metric "$URL" keyward_key_cache_entries) keys cached"

# TARGET<TAB>name<TAB>figure<TAB>target<TAB>met|SHORT<TAB>detail
keys_label=$KEYS
[ "$KEYS" != 1000000 ] || keys_label=1M
echo
python3 - "$keys_label" "$KEYS" "$entries" "$per_key" "${cold[@]}" "${warm[@]}" "$s_p99" <<'PY'
import sys
label, keys, entries, per_key = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c_rps, c_p50, c_p99, w_rps, w_p50, w_p99, s_p99 = map(float, sys.argv[5:12])
def target(name, figure, goal, met, detail):
    print("\t".join(("TARGET", name, figure, goal, "met" if met else "SHORT", detail)))
target("memory per cached key", f"{per_key} B", "<= 256 B", per_key <= 256,
       f"RSS growth with {entries} of {keys} keys cached")
target(f"{label} random keys, warm p99", f"{w_p99:.3f} ms", "< 2 ms", w_p99 < 2,
       f"{w_rps:.0f} req/s, p50 {w_p50:.3f} ms; keyward 2 threads, wrk -t2 on the same 2 cores "
       f"(cores split: p99 {s_p99:.3f} ms)")
target(f"{label} random keys, cold p99", f"{c_p99:.3f} ms", "< 5 ms", c_p99 < 5,
       f"{c_rps:.0f} req/s, p50 {c_p50:.3f} ms; keyward 2 threads, wrk -t2 on the same 2 cores")
PY
