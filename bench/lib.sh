# Shared helpers for the benchmark scripts. Source it; needs KEYWARD_BIN.
set -euo pipefail
KEYWARD_BIN=${KEYWARD_BIN:-build-bench/keyward}
[ -x "$KEYWARD_BIN" ] || { echo "bench: $KEYWARD_BIN is missing; run make bench" >&2; exit 2; }
BENCH_TMP=$(mktemp -d /tmp/keyward-bench-XXXXXX)
BENCH_PIDS=()
cleanup() {
  for p in "${BENCH_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_keyward DATA_DIR PORT THREADS [CPU]: starts keyward, waits until it answers.
start_keyward() {
  local data=$1 port=$2 threads=$3 cpu=${4:-}
  local pin=()
  [ -n "$cpu" ] && pin=(taskset -c "$cpu")
  "${pin[@]}" "$KEYWARD_BIN" serve --listen "127.0.0.1:$port" --data "$data" --threads "$threads" \
    > "$BENCH_TMP/keyward-$port.log" 2> "$BENCH_TMP/keyward-$port.err" &
  BENCH_PIDS+=($!)
  KEYWARD_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: keyward did not start" >&2
  cat "$BENCH_TMP/keyward-$port.err" >&2
  exit 1
}

# api METHOD URL ROOT [JSON]: one management call, prints the body.
api() {
  local method=$1 url=$2 root=$3 body=${4:-}
  if [ -n "$body" ]; then
    curl -sf -X "$method" "$url" -H "Authorization: Bearer $root" -H 'content-type: application/json' -d "$body"
  else
    curl -sf -X "$method" "$url" -H "Authorization: Bearer $root"
  fi
}

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# require_wrk_and_nginx: stops the script unless both are installed.
require_wrk_and_nginx() {
  command -v wrk >/dev/null && command -v nginx >/dev/null || {
    echo "bench: needs wrk and nginx: scripts/install-deps bench" >&2; exit 2; }
}

# require_tool NAME [PACKAGE]: stops the script unless NAME is on PATH
# (PACKAGE, the Debian package that brings it, defaults to NAME).
require_tool() {
  command -v "$1" >/dev/null || {
    echo "bench: needs $1 (Debian package ${2:-$1}): scripts/install-deps bench" >&2; exit 2; }
}

# stop_pid PID: stops one process this script started and waits for it.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# keyward_with_one_key [KEY_FIELDS]: keyward on a free port (one thread, on
# CPU 0) with one workspace and one live key; KEY_FIELDS is more of the key's
# JSON (',"scopes":["products:read"]'). Its data lives in $KEYWARD_DATA
# (default $BENCH_TMP/data). Sets KW_PORT, KW, ROOT, WS, KEY, KEY_ID and
# KEYWARD_PID.
keyward_with_one_key() {
  local created data=${KEYWARD_DATA:-$BENCH_TMP/data}
  KW_PORT=$(free_port)
  mkdir -p "$data"
  ROOT=$("$KEYWARD_BIN" root-keys create --data "$data" --name bench 2>/dev/null)
  start_keyward "$data" "$KW_PORT" 1 0
  KW="http://127.0.0.1:$KW_PORT"
  WS=$(api POST "$KW/v1/workspaces" "$ROOT" '{"name":"bench"}' | json_field id)
  created=$(api POST "$KW/v1/api-keys" "$ROOT" \
    "{\"workspace_id\":\"$WS\",\"environment\":\"live\",\"name\":\"bench\"${1:-}}")
  KEY=$(echo "$created" | json_field key)
  KEY_ID=$(echo "$created" | json_field id)
}

# restart_keyward THREADS CPUS: stops the keyward that keyward_with_one_key
# started (KEYWARD_PID) and starts it again on the same data directory
# ($KEYWARD_DATA, default $BENCH_TMP/data: same key) with THREADS serving
# threads, pinned to CPUS (taskset's list, "0" or "0,1"), on a new free
# port. Only one process has the data directory at a time. Sets KW_PORT, KW
# and KEYWARD_PID.
restart_keyward() {
  stop_pid "$KEYWARD_PID"
  KW_PORT=$(free_port)
  start_keyward "${KEYWARD_DATA:-$BENCH_TMP/data}" "$KW_PORT" "$1" "$2"
  KW="http://127.0.0.1:$KW_PORT"
}

# copy_data_for_h2o: stops the keyward that keyward_with_one_key started
# and copies its data (same key) for bench/h2o_auth.cc. Needs H2O_BIN.
copy_data_for_h2o() {
  [ -x "$H2O_BIN" ] || { echo "bench: $H2O_BIN is missing; run make bench" >&2; exit 2; }
  stop_pid "$KEYWARD_PID"
  cp -r "$BENCH_TMP/data" "$BENCH_TMP/data-h2o"
}

# start_h2o CPUS: h2o_auth on that copy, pinned to CPUS, waits until it
# answers; sets H2_PORT and H2_PID.
start_h2o() {
  H2_PORT=$(free_port)
  taskset -c "$1" "$H2O_BIN" --data "$BENCH_TMP/data-h2o" --port "$H2_PORT" \
    > "$BENCH_TMP/h2o.log" 2> "$BENCH_TMP/h2o.err" &
  H2_PID=$!
  BENCH_PIDS+=("$H2_PID")
  wait_http "http://127.0.0.1:$H2_PORT/v1/auth" h2o "$H2_PID"
}

# wait_http URL NAME PID: waits until URL answers at all (any status).
wait_http() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$1" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: $2 did not start; its log:" >&2
  cat "$BENCH_TMP/$2.err" >&2 2>/dev/null || true
  exit 1
}

# wrk_run ARGS...: runs wrk, prints "req_per_s p50_ms p99_ms".
wrk_run() {
  local out
  out=$(taskset -c "${WRK_CPU:-1}" wrk "$@")
  echo "$out" >> "$BENCH_TMP/wrk.log"
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n * 1000 if u == "s" else n
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p50 = ms(re.search(r"\s50%\s+(\S+)", out).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", out).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {non2xx.group(1) if non2xx else 0}")
PY
}
