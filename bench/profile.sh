#!/usr/bin/env bash
# Where the time goes: a `perf record` profile (sampling on the CPU clock)
# of one of two workloads, printed as text to paste into docs/performance.md:
# the user/kernel split, the share of each binary or library, and the top
# symbols (self time, no children).
#
#   bench/profile.sh [http]      keyward serving GET /v1/auth under the load of
#                                bench/http_vs_nginx.sh's 1-thread mode
#                                (keyward --threads 1 on CPU 0, wrk -t1 -c64 on
#                                CPU 1, one valid key); perf samples keyward
#                                only, for DURATION once the load runs.
#   bench/profile.sh h2o         the same load on build-bench/h2o_auth
#                                (keyward's /v1/auth on h2o's server, one
#                                thread on CPU 0), on a copy of the same data.
#   bench/profile.sh verify [FILTER]
#                                build-bench/verify_bench (in-process
#                                verification, on CPU 0) with
#                                --benchmark_filter=FILTER (default: the cached
#                                valid key, one thread); perf samples the whole
#                                run, setup included.
#
#   KEYWARD_BIN=build-bench/keyward bench/profile.sh
#   DURATION=5s CONNECTIONS=64 TOP=25 FREQ=1999 (defaults)
#   PERF_DATA=path  keeps perf.data there (perf report -i path for more)
#
# Sampling is on cpu-clock, a timer, which works in virtual machines without
# hardware counters (this one has none): kernel code that runs with
# interrupts off is counted where it turns them back on (pvm_irq_enable,
# *_irqrestore), so those kernel symbols stand for the work before them.
#
# Needs perf (Debian's linux-perf; scripts/install-deps bench) and the right
# to use it: root, or kernel.perf_event_paranoid <= 1 (the script tries to
# set it and says so).
cd "$(dirname "$0")/.."
source bench/lib.sh
WHAT=${1:-http}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
TOP=${TOP:-25}
FREQ=${FREQ:-1999}
VERIFY_BENCH=${VERIFY_BENCH:-$(dirname "$KEYWARD_BIN")/verify_bench}
DATA=${PERF_DATA:-$BENCH_TMP/perf.data}
require_tool perf linux-perf
secs=${DURATION%s}
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "bench: DURATION is whole seconds (5s), not '$DURATION'" >&2; exit 2; }

# perf must be allowed to sample this machine's processes, kernel included:
# root may; anyone else needs kernel.perf_event_paranoid <= 1 (at 2, the
# default, perf sees user time only and the kernel share would read 0). The
# script lowers it to 1 through sudo when it can, and says so.
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 2)
if [ "$(id -u)" -ne 0 ] && [ "$paranoid" -gt 1 ]; then
  echo "bench: kernel.perf_event_paranoid is $paranoid (kernel samples refused); setting it to 1 with sudo" >&2
  { echo 1 | sudo -n tee /proc/sys/kernel/perf_event_paranoid >/dev/null; } 2>/dev/null || {
    echo "bench: could not. Run as root, or first: sudo sysctl kernel.perf_event_paranoid=1" >&2
    exit 2
  }
fi
perf record -q -o "$BENCH_TMP/probe.data" -e cpu-clock -- true > /dev/null 2> "$BENCH_TMP/probe.err" || {
  echo "bench: perf record fails here (in a container, perf_event_open may be blocked by its seccomp" \
       "profile, or kernel.perf_event_paranoid is 3). perf said:" >&2
  cat "$BENCH_TMP/probe.err" >&2
  exit 2
}
[ "$(cat /proc/sys/kernel/kptr_restrict 2>/dev/null || echo 0)" = 0 ] || [ "$(id -u)" -eq 0 ] ||
  echo "bench: kernel.kptr_restrict is set: kernel symbols may show as unknown addresses" >&2

case $WHAT in
  http | h2o)
    require_tool wrk
    keyward_with_one_key ',"scopes":["products:read"]'
    name=keyward
    if [ "$WHAT" = h2o ]; then
      H2O_BIN=${H2O_BIN:-$(dirname "$KEYWARD_BIN")/h2o_auth}
      copy_data_for_h2o
      start_h2o 0
      KW="http://127.0.0.1:$H2_PORT"
      KEYWARD_PID=$H2_PID
      name=h2o_auth
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "$KW/v1/auth" -H "Authorization: Bearer $KEY")
    [ "$code" = 200 ] || { echo "bench: $name answered $code for the key" >&2; exit 1; }
    # The load runs 2 s longer than the profile, which starts after 1 s.
    WRK_CPU=1 wrk_run -t1 -c"$CONNECTIONS" -d"$((secs + 2))s" --latency \
      -H "Authorization: Bearer $KEY" "$KW/v1/auth" > "$BENCH_TMP/load.txt" &
    load=$!
    sleep 1
    perf record -q -F "$FREQ" -e cpu-clock -p "$KEYWARD_PID" -o "$DATA" -- sleep "$secs" 2> "$BENCH_TMP/perf.err" ||
      { cat "$BENCH_TMP/perf.err" >&2; exit 1; }
    wait "$load"
    read -r rps p50 p99 bad < "$BENCH_TMP/load.txt"
    echo "profile: $name GET /v1/auth, one thread on CPU 0, wrk -t1 -c$CONNECTIONS on CPU 1;" \
         "perf record -F $FREQ -e cpu-clock -p <$name> for $secs s"
    echo "load during the profile: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx $bad (perf's sampling costs a little)"
    ;;
  verify)
    [ -x "$VERIFY_BENCH" ] || { echo "bench: $VERIFY_BENCH is missing; run make bench" >&2; exit 2; }
    filter=${2:-'^BM_VerifyCachedValid/real_time/threads:1$'}
    taskset -c 0 perf record -q -F "$FREQ" -e cpu-clock -o "$DATA" -- \
      "$VERIFY_BENCH" --benchmark_filter="$filter" --benchmark_min_time="$secs" > "$BENCH_TMP/verify.txt" 2> "$BENCH_TMP/perf.err" ||
      { cat "$BENCH_TMP/perf.err" "$BENCH_TMP/verify.txt" >&2; exit 1; }
    # verify_bench's reporter colours its lines even into a file.
    sed -i 's/\x1b\[[0-9;]*m//g' "$BENCH_TMP/verify.txt"
    grep -q '^BM_' "$BENCH_TMP/verify.txt" ||
      { echo "bench: no benchmark matched --benchmark_filter='$filter'" >&2; exit 1; }
    echo "profile: $VERIFY_BENCH --benchmark_filter='$filter' --benchmark_min_time=$secs on CPU 0;" \
         "perf record -F $FREQ -e cpu-clock (the whole run, setup included)"
    grep '^BM_' "$BENCH_TMP/verify.txt" | sed 's/^/benchmark: /'
    ;;
  *)
    echo "bench: profile.sh takes 'http', 'h2o' or 'verify [FILTER]', not '$WHAT'" >&2
    exit 2
    ;;
esac

# The report: self time per (binary, symbol); [k] marks kernel symbols.
perf report -i "$DATA" --stdio --no-children -F overhead,dso,sym -q 2> "$BENCH_TMP/report.err" > "$BENCH_TMP/report.txt" ||
  { cat "$BENCH_TMP/report.err" >&2; exit 1; }
samples=$(perf script -i "$DATA" -F ip 2>/dev/null | wc -l)
python3 - "$BENCH_TMP/report.txt" "$TOP" "${samples:-?}" <<'PY'
import collections, re, sys
path, top, samples = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# "    12.34%  keyward  [.] keyward::Verifier::Verify(...)"
line_re = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[([.k])\]\s+(.*\S)\s*$")
rows = []
for line in open(path):
    m = line_re.match(line)
    if m:
        rows.append((float(m.group(1)), m.group(2), m.group(3), m.group(4)))
if not rows:
    sys.exit("bench: perf report gave no samples")
# Addresses without a symbol (a stripped library's local functions, such as
# libcrypto's assembly SHA-256 blocks) are summed per binary.
merged = collections.Counter()
for p, dso, mode, sym in rows:
    if re.fullmatch(r"0x[0-9a-f]+", sym):
        sym = "(addresses without a symbol)"
    merged[(dso, mode, sym)] += p
rows = [(p, dso, mode, sym) for (dso, mode, sym), p in merged.items()]
kernel = sum(p for p, _, mode, _ in rows if mode == "k")
user = sum(p for p, _, mode, _ in rows if mode == ".")
print(f"\n{samples} samples: user {user:.1f} %, kernel {kernel:.1f} %")
by_dso = collections.Counter()
for p, dso, _, _ in rows:
    by_dso[dso] += p
print("\nby binary or library (self time):")
for dso, p in by_dso.most_common(8):
    print(f"  {p:6.2f} %  {dso}")
print(f"\ntop {top} symbols (self time; [k] kernel, [.] user):")
print(f"  {'share':>8}  {'binary':<22} symbol")
for p, dso, mode, sym in sorted(rows, key=lambda r: -r[0])[:top]:
    if len(sym) > 110:
        sym = sym[:107] + "..."
    print(f"  {p:6.2f} %  {dso[:22]:<22} [{mode}] {sym}")
PY
