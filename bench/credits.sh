#!/usr/bin/env bash
# What credit accounting costs on GET /v1/auth: one keyward (threads = 1,
# pinned to CPU 0, wrk on CPU 1), three keys checked in alternation, three
# rounds each, medians compared:
#   plain      a workspace with no allowance and a key without credits;
#   allowance  a workspace with a monthly allowance (every request leases
#              and spends from it);
#   both       the allowance and the key's own credits (two balances).
# Target: allowance >= 0.95 of plain.
#
#   KEYWARD_BIN=build-bench/keyward bench/credits.sh
#   ROUNDS=3 DURATION=10s CONNECTIONS=64 (defaults)
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
command -v wrk >/dev/null || { echo "bench: needs wrk: scripts/install-deps bench" >&2; exit 2; }

KW_PORT=$(free_port)
mkdir -p "$BENCH_TMP/data"
ROOT=$("$KEYWARD_BIN" root-keys create --data "$BENCH_TMP/data" --name bench 2>/dev/null)
start_keyward "$BENCH_TMP/data" "$KW_PORT" 1 0
KW="http://127.0.0.1:$KW_PORT"
key_in() {  # workspace JSON extra, key JSON extra -> key
  local ws
  ws=$(api POST "$KW/v1/workspaces" "$ROOT" "{\"name\":\"bench\"$1}" | json_field id)
  api POST "$KW/v1/api-keys" "$ROOT" \
    "{\"workspace_id\":\"$ws\",\"environment\":\"live\",\"name\":\"bench\"$2}" | json_field key
}
PLAIN=$(key_in "" "")
ALLOWANCE=$(key_in ',"monthly_credits":1000000000000' "")
BOTH=$(key_in ',"monthly_credits":1000000000000' ',"credits":{"remaining":1000000000000}')
for key in "$PLAIN" "$ALLOWANCE" "$BOTH"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$KW/v1/auth" -H "Authorization: Bearer $key")
  [ "$code" = 200 ] || { echo "bench: /v1/auth answered $code" >&2; exit 1; }
done
curl -s -D - -o /dev/null "$KW/v1/auth" -H "Authorization: Bearer $BOTH" | grep -i '^ratelimit'

echo "GET /v1/auth, wrk -t1 -c$CONNECTIONS -d$DURATION, keyward (1 thread) on CPU 0, wrk on CPU 1"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-7s %-10s %12s %9s %9s %8s\n' round key req/s p50_ms p99_ms non2xx
declare -A all
for round in $(seq 1 "$ROUNDS"); do
  for who in plain allowance both; do
    case $who in plain) key=$PLAIN ;; allowance) key=$ALLOWANCE ;; both) key=$BOTH ;; esac
    read -r rps p50 p99 bad < <(wrk_run -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
      -H "Authorization: Bearer $key" "$KW/v1/auth" | tail -1)
    printf '%-7s %-10s %12s %9s %9s %8s\n' "$round" "$who" "$rps" "$p50" "$p99" "$bad"
    all[$who]+="$rps,$p99 "
  done
done
python3 - "${all[plain]}" "${all[allowance]}" "${all[both]}" <<'PY'
import statistics, sys
rows = [[list(map(float, r.split(","))) for r in a.split()] for a in sys.argv[1:]]
names = ["plain", "allowance", "both"]
med = [statistics.median(r[0] for r in rs) for rs in rows]
p99 = [statistics.median(r[1] for r in rs) for rs in rows]
print()
for n, m, p in zip(names, med, p99):
    print(f"median  {n:<10} {m:.0f} req/s p99 {p:.3f} ms")
print(f"ratio   allowance/plain {med[1] / med[0]:.3f}, both/plain {med[2] / med[0]:.3f} "
      f"(target >= 0.95)")
PY
