#!/usr/bin/env bash
# keyward as a cluster: three nodes from deploy/cluster/node-*.toml (listen,
# database and redis put in) on one PostgreSQL (scripts/test-postgres, the
# role and database made by deploy/cluster/postgres-setup.sql) and one Redis
# (deploy/cluster/redis.conf). Measures
#   1. revocation propagation: REVOCATIONS keys revoked on node A, each
#      polled on B and C (POST /v1/keys/verify every 2 ms) until refused;
#      p50, p99 and max in ms, against the promise of < 1000 ms (DESIGN.md;
#      seed 004 promises "within ~30 seconds globally");
#   2. verification throughput: GET /v1/auth with 100 keys at random
#      (bench/keys.lua), the same client for each setup (three wrk, a third
#      of the connections each, req/s summed) against one SQLite node, one
#      cluster node, one node on the same database without Redis, and the
#      three cluster nodes (one wrk at each).
#
#   KEYWARD_BIN=build-bench/keyward bench/cluster.sh
#   REVOCATIONS=200 DURATION=10s CONNECTIONS=64 (defaults)
cd "$(dirname "$0")/.."
source bench/lib.sh
REVOCATIONS=${REVOCATIONS:-200}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
KEY_COUNT=100
for cmd in wrk psql node redis-server; do
  command -v $cmd >/dev/null || { echo "bench: needs $cmd: scripts/install-deps bench" >&2; exit 2; }
done

PG_NAME=bench-cluster-$$
PG_ADMIN=$(scripts/test-postgres start "$PG_NAME")
trap 'cleanup; scripts/test-postgres stop "$PG_NAME"' EXIT
psql -X -q -d "$PG_ADMIN" -v dbname=keyward_bench -f deploy/cluster/postgres-setup.sql >/dev/null
DB=$(python3 - "$PG_ADMIN" <<'PY'
import re, sys
url = sys.argv[1]
url = re.sub(r'^(postgres(?:ql)?://[^/?]*)/[^?]*', r'\1/keyward_bench', url)
print(re.sub(r'([?&])user=[^&]*', r'\1user=keyward', url))
PY
)

# Redis from deploy/cluster/redis.conf, on a Unix socket.
REDIS_SOCK=$BENCH_TMP/redis.sock
redis-server deploy/cluster/redis.conf --bind 127.0.0.1 --port 0 --unixsocket "$REDIS_SOCK" \
  --unixsocketperm 700 --dir "$BENCH_TMP" --daemonize no --logfile "$BENCH_TMP/redis.log" &
BENCH_PIDS+=($!)
for _ in $(seq 1 100); do [ -S "$REDIS_SOCK" ] && break; sleep 0.05; done

# start_node NAME PORT [LABEL]: node NAME from deploy/cluster/node-NAME.toml;
# with REDIS=none, without its redis settings.
start_node() {
  local name=$1 port=$2 label=${3:-$1} conf=$BENCH_TMP/node-${3:-$1}.toml
  python3 - "deploy/cluster/node-$name.toml" "$conf" "127.0.0.1:$port" "$DB" "unix://$REDIS_SOCK" "${REDIS:-}" <<'PY'
import json, re, sys
src, dst, listen, database, redis, mode = sys.argv[1:]
text = open(src).read()
for key, value in (("listen", listen), ("database", database), ("redis", redis)):
    text, n = re.subn(rf"^{key}\s*=.*$", f"{key} = {json.dumps(value)}", text, flags=re.M)
    assert n == 1, f"{src} sets {key} {n} times"
if mode == "none":
    text = re.sub(r"^redis(_failure_mode)?\s*=.*$", "", text, flags=re.M)
open(dst, "w").write(text)
PY
  mkdir -p "$BENCH_TMP/data-$label"
  "$KEYWARD_BIN" serve --config "$conf" --data "$BENCH_TMP/data-$label" \
    > "$BENCH_TMP/node-$label.log" 2> "$BENCH_TMP/node-$label.err" &
  BENCH_PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: node $label did not start" >&2
  cat "$BENCH_TMP/node-$label.err" >&2
  exit 1
}

ROOT=$("$KEYWARD_BIN" root-keys create --database "$DB" --name bench 2>/dev/null)
[[ "$ROOT" == kw_root_* ]] || { echo "bench: root-keys create --database failed" >&2; exit 1; }
PORTS=()
for n in a b c; do
  p=$(free_port)
  start_node "$n" "$p"
  PORTS+=("$p")
done
URLS=()
for p in "${PORTS[@]}"; do URLS+=("http://127.0.0.1:$p"); done

echo "keyward cluster bench: three nodes (deploy/cluster, threads = 2 each) on PostgreSQL $(psql -XAtq -d "$PG_ADMIN" -c 'SHOW server_version') and Redis $(redis-server --version | grep -o 'v=[^ ]*' | cut -d= -f2), one machine"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
COUNT=$REVOCATIONS node bench/cluster-propagation.mjs "$ROOT" "${URLS[@]}"
echo "promise: every revocation refused on every node within 1000 ms (DESIGN.md); seed 004 promises ~30 s"
echo

# Keys for the throughput runs: KEY_COUNT on the cluster, KEY_COUNT on a
# SQLite node of the same settings (threads 2).
make_keys() { # BASE_URL ROOT FILE
  local ws
  ws=$(api POST "$1/v1/workspaces" "$2" "{\"name\":\"throughput\",\"max_active_keys\":$((KEY_COUNT + 1))}" | json_field id)
  : > "$3"
  for _ in $(seq 1 $KEY_COUNT); do
    api POST "$1/v1/api-keys" "$2" "{\"workspace_id\":\"$ws\",\"environment\":\"live\",\"name\":\"wrk\"}" | json_field key >> "$3"
  done
}
make_keys "${URLS[0]}" "$ROOT" "$BENCH_TMP/cluster-keys.txt"
# A fourth node on the same database without Redis, to tell what Redis costs.
NR_PORT=$(free_port)
REDIS=none start_node a "$NR_PORT" a-no-redis
NR="http://127.0.0.1:$NR_PORT"
SQ_PORT=$(free_port)
mkdir -p "$BENCH_TMP/sqlite"
SQ_ROOT=$("$KEYWARD_BIN" root-keys create --data "$BENCH_TMP/sqlite" --name bench 2>/dev/null)
start_keyward "$BENCH_TMP/sqlite" "$SQ_PORT" 2
make_keys "http://127.0.0.1:$SQ_PORT" "$SQ_ROOT" "$BENCH_TMP/sqlite-keys.txt"
for url in "${URLS[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/auth" -H "Authorization: Bearer $(head -1 "$BENCH_TMP/cluster-keys.txt")")
  [ "$code" = 200 ] || { echo "bench: $url answered $code for a cluster key" >&2; exit 1; }
done

# Every process shares every core here: wrk is not pinned either. Each
# setup gets the same client: three wrk processes (one thread, a third of the
# connections each), all at one node or one at each node; req/s summed.
export WRK_CPU="0-$(($(nproc) - 1))"
per=$(((CONNECTIONS + 2) / 3))
# run_three KEYS_FILE LABEL URL URL URL: one sweep per wrk warms the caches
# with every key, then the timed runs, at once; prints a row.
run_three() {
  local keys=$1 label=$2 i
  shift 2
  local pids=()
  for i in 0 1 2; do
    local url=${*:$((i + 1)):1}
    (
      KEYS_FILE=$keys MODE=sweep THREADS=1 wrk -t1 -c"$per" -d1s -s bench/keys.lua "$url" >/dev/null
      KEYS_FILE=$keys MODE=random wrk_run -t1 -c"$per" -d"$DURATION" --latency -s bench/keys.lua "$url" | tail -1
    ) > "$BENCH_TMP/wrk-$i.txt" &
    pids+=($!)
  done
  wait "${pids[@]}"
  python3 - "$BENCH_TMP" "$label" <<'PY'
import sys
tmp, label = sys.argv[1], sys.argv[2]
rows = [list(map(float, open(f"{tmp}/wrk-{i}.txt").read().split())) for i in range(3)]
print(f"{label:<32} {sum(r[0] for r in rows):12.0f} {max(r[1] for r in rows):9.3f} "
      f"{max(r[2] for r in rows):9.3f} {int(sum(r[3] for r in rows)):8d}")
PY
}
SQ="http://127.0.0.1:$SQ_PORT"
echo "GET /v1/auth, $KEY_COUNT keys at random (bench/keys.lua), 3 x wrk -t1 -c$per -d$DURATION; p50/p99: the worst wrk's"
printf '%-32s %12s %9s %9s %8s\n' setup req/s p50_ms p99_ms non2xx
run_three "$BENCH_TMP/sqlite-keys.txt" "one node, SQLite" "$SQ" "$SQ" "$SQ" | tee "$BENCH_TMP/row-sqlite"
run_three "$BENCH_TMP/cluster-keys.txt" "one node, PostgreSQL + Redis" "${URLS[0]}" "${URLS[0]}" "${URLS[0]}" | tee "$BENCH_TMP/row-one"
run_three "$BENCH_TMP/cluster-keys.txt" "one node, PostgreSQL, no Redis" "$NR" "$NR" "$NR" | tee "$BENCH_TMP/row-noredis"
run_three "$BENCH_TMP/cluster-keys.txt" "three nodes, PostgreSQL + Redis" "${URLS[@]}" | tee "$BENCH_TMP/row-three"
python3 - "$BENCH_TMP" "$(nproc)" <<'PY'
import sys
tmp, cores = sys.argv[1], int(sys.argv[2])
rps = lambda f: float(open(f"{tmp}/row-{f}").read().split()[-4])
sq, one, noredis, three = rps("sqlite"), rps("one"), rps("noredis"), rps("three")
print()
print(f"three nodes / one node: {three / one:.2f}; one node on PostgreSQL and Redis / on SQLite: {one / sq:.2f}; "
      f"with Redis / without: {one / noredis:.2f}")
print("Compared with: one node of the same settings (threads = 2) on SQLite, and on PostgreSQL with and")
print(f"without Redis. Here the nodes, wrk, PostgreSQL and Redis share {cores} cores, so three nodes only show")
print("what spare cores give; on separate hosts cached verifications add up across nodes (PostgreSQL is not")
print("touched per request). One node's ceiling against nginx: bench/http_vs_nginx.sh.")
if one / noredis < 0.8:
    print(f"NOTE: with redis configured a node verifies {noredis / one:.1f}x slower, although these keys have no rate")
    print("limit: each verification waits for a Redis round trip (the per-address failure budget or the limiter).")
PY
