#!/usr/bin/env bash
# keyward's gateway check (GET /v1/auth) against two servers that answer the
# same key from a static table and return the same headers: nginx (a `map`)
# and HAProxy (a map file read by `map_str`, answered by `http-request
# return`). Same wrk settings for all three, alternated (each round starts
# with the next server), ROUNDS rounds; medians of the rounds.
#
# Two modes (THREADS_MODES, default "1 2"):
#   1  keyward --threads 1, nginx worker_processes 1, HAProxy nbthread 1,
#      each pinned to CPU 0; wrk -t1 pinned to CPU 1.
#   2  keyward --threads 2, nginx worker_processes 2, HAProxy nbthread 2.
#      A 2-core machine has no core left for wrk, so the servers and wrk
#      (-t2) all share CPUs 0 and 1 (taskset -c 0,1): wrk's own work takes
#      from each server, so compare the servers within this mode, not with
#      mode 1's figures.
# keyward is started once with one key; the 2-thread mode restarts it with 2
# threads on the same data directory (one process at a time), so all modes
# check the same key.
#
# In the 1-thread mode a fourth contender, h2o-kw (bench/h2o_auth.cc,
# build-bench/h2o_auth), answers /v1/auth with keyward's own verifier, cache,
# usage counting and access log behind h2o's HTTP/1.1 server instead of
# Beast: what another HTTP engine would give, measured before choosing one.
# It opens a copy of keyward's data directory (taken while keyward is
# stopped), so it checks the same key. H2O_BIN= (empty) leaves it out.
#
# Prints per mode each round's req/s, p50 and p99, the medians, the ratios
# keyward/nginx (of the medians, and the median of the rounds' own ratios,
# which is the target's figure) and keyward/haproxy, and at the end one TARGET line per
# line-rate target measured (keyward/nginx >= 1.0 in each mode; keyward's p99
# < 0.8 ms at 64 connections with one thread), for bench/summary.sh:
#   TARGET<TAB>name<TAB>figure<TAB>target<TAB>met|SHORT<TAB>detail
#
#   KEYWARD_BIN=build-bench/keyward bench/http_vs_nginx.sh
#   ROUNDS=3 DURATION=10s CONNECTIONS=64 THREADS_MODES="1 2" (defaults)
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS_MODES=${THREADS_MODES:-1 2}
require_wrk_and_nginx
require_tool haproxy
for mode in $THREADS_MODES; do
  case $mode in 1 | 2) ;; *) echo "bench: THREADS_MODES takes 1 and/or 2, not '$mode'" >&2; exit 2 ;; esac
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "bench: ROUNDS must be a positive number" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || echo "bench: warning: $(nproc) CPU; wrk and the servers will share it" >&2

# keyward with one workspace and one key (one thread, CPU 0).
keyward_with_one_key ',"scopes":["products:read"]'
KW_THREADS=1
H2O_BIN=${H2O_BIN-$(dirname "$KEYWARD_BIN")/h2o_auth}
if [ -n "$H2O_BIN" ]; then
  copy_data_for_h2o
  restart_keyward 1 0
fi
# A bad key: the last character changed (to one it is not).
BAD_KEY="${KEY%?}x"
[ "$BAD_KEY" != "$KEY" ] || BAD_KEY="${KEY%?}y"

# start_nginx WORKERS CPUS: nginx doing keyward's job with a static map;
# sets NG_PORT and NG_PID.
start_nginx() {
  local workers=$1 cpus=$2 dir="$BENCH_TMP/nginx-$1"
  NG_PORT=$(free_port)
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  # Buffered like keyward's access log (64 KiB or 200 ms).
  access_log $dir/access.log combined buffer=64k flush=200ms;
  client_body_temp_path $dir;
  proxy_temp_path $dir;
  fastcgi_temp_path $dir;
  uwsgi_temp_path $dir;
  scgi_temp_path $dir;
  keepalive_requests 1000000;
  map_hash_bucket_size 256;
  map \$http_authorization \$key_id {
    default "";
    "Bearer $KEY" "$KEY_ID";
  }
  server {
    listen 127.0.0.1:$NG_PORT;
    location = /v1/auth {
      default_type application/json;
      if (\$key_id = "") { return 401 '{"error":"invalid","message":"the API key is not valid"}'; }
      add_header X-Keyward-Key-Id \$key_id;
      add_header X-Keyward-Workspace-Id $WS;
      add_header X-Keyward-Environment live;
      add_header X-Keyward-Scopes products:read;
      add_header Cache-Control no-store;
      return 200;
    }
  }
}
NGINX
  taskset -c "$cpus" nginx -c "$dir/nginx.conf" -p "$dir" > "$BENCH_TMP/nginx.log" 2> "$BENCH_TMP/nginx.err" &
  NG_PID=$!
  BENCH_PIDS+=("$NG_PID")
  wait_http "http://127.0.0.1:$NG_PORT/v1/auth" nginx "$NG_PID"
}

# start_haproxy THREADS CPUS: HAProxy doing keyward's job, set up as tightly
# as nginx: THREADS threads (nbthread) pinned with taskset like nginx,
# keep-alive (HAProxy's default in HTTP mode, no limit of requests per
# connection, like keepalive_requests 1000000), the same headers, the same
# 401 body. The key table is a map file: its keys cannot hold a space, so
# the rule checks the "Bearer " prefix and looks the rest up (bytes(7)),
# which accepts exactly what nginx's map accepts. The 200 carries no
# Content-Type, as keyward's does not (nginx adds one, and Server and Date).
# Sets HA_PORT and HA_PID.
#
# Access log: HAProxy writes logs only to syslog (UDP or a Unix socket), to
# stdout/stderr (one write(2) per line, unbuffered), or into a ring buffer.
# The closest to nginx's buffered file (a line formatted per request, copied
# into a buffer, written out in large pieces) is a ring with a backing file:
# each line is formatted (option httplog, about as long as nginx's combined
# line) and copied into a memory-mapped 1 MiB file, which the kernel writes
# back, with no system call per line. Unlike nginx's log the ring keeps only
# its last 1 MiB of lines.
start_haproxy() {
  local threads=$1 cpus=$2 dir="$BENCH_TMP/haproxy-$1"
  HA_PORT=$(free_port)
  mkdir -p "$dir"
  printf '%s %s\n' "$KEY" "$KEY_ID" > "$dir/keys.map"
  cat > "$dir/haproxy.cfg" <<HAPROXY
global
  nbthread $threads
  maxconn 4096
  log ring@access local0 info

ring access
  format raw
  maxlen 1024
  size 1048576
  backing-file $dir/access.ring

defaults
  mode http
  log global
  option httplog
  timeout client 60s
  timeout http-request 60s
  timeout http-keep-alive 75s
  timeout connect 5s
  timeout server 60s

frontend auth
  bind 127.0.0.1:$HA_PORT
  http-request return status 404 unless { path /v1/auth }
  http-request set-var(txn.key_id) req.fhdr(authorization),bytes(7),map_str($dir/keys.map) if { req.fhdr(authorization) -m beg "Bearer " }
  http-request return status 401 content-type application/json string '{"error":"invalid","message":"the API key is not valid"}' unless { var(txn.key_id) -m found }
  http-request return status 200 hdr X-Keyward-Key-Id "%[var(txn.key_id)]" hdr X-Keyward-Workspace-Id $WS hdr X-Keyward-Environment live hdr X-Keyward-Scopes products:read hdr Cache-Control no-store
HAPROXY
  taskset -c "$cpus" haproxy -db -f "$dir/haproxy.cfg" > "$BENCH_TMP/haproxy.log" 2> "$BENCH_TMP/haproxy.err" &
  HA_PID=$!
  BENCH_PIDS+=("$HA_PID")
  wait_http "http://127.0.0.1:$HA_PORT/v1/auth" haproxy "$HA_PID"
}

# check_answers NAME URL: the server must answer 200 with the key's id for
# the key and 401 for a bad key before it is timed.
check_answers() {
  local name=$1 url=$2 code headers
  headers=$(curl -s -D - -o /dev/null "$url" -H "Authorization: Bearer $KEY")
  code=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' <<<"$headers")
  [ "$code" = 200 ] || { echo "bench: $name ($url) answered $code for the key" >&2; exit 1; }
  grep -qi "^x-keyward-key-id: $KEY_ID" <<<"$headers" ||
    { echo "bench: $name answered without X-Keyward-Key-Id: $KEY_ID" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url" -H "Authorization: Bearer $BAD_KEY")
  [ "$code" = 401 ] || { echo "bench: $name ($url) answered $code for a bad key" >&2; exit 1; }
}

echo "GET /v1/auth, one valid key, wrk -c$CONNECTIONS -d$DURATION --latency, $ROUNDS round(s) alternated, medians"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
     "$(nginx -v 2>&1 | sed 's/.*: //'), HAProxy $(haproxy -v | awk 'NR==1 {print $3}'), $(wrk -v 2>&1 | awk 'NR==1 {print $1, $2}')"
RESULTS=$BENCH_TMP/results.tsv
: > "$RESULTS"
for mode in $THREADS_MODES; do
  servers=(keyward nginx haproxy)
  [ "$mode" = 1 ] && [ -n "$H2O_BIN" ] && servers+=(h2o-kw)
  if [ "$mode" = 1 ]; then
    cpus=0 wrk_cpus=1 wrk_threads=1
    setup="servers on CPU 0 (keyward --threads 1, nginx 1 worker, HAProxy nbthread 1), wrk -t1 on CPU 1"
  else
    cpus=0,1 wrk_cpus=0,1 wrk_threads=2
    setup="servers AND wrk -t2 share CPUs 0,1 (keyward --threads 2, nginx 2 workers, HAProxy nbthread 2): no free core for wrk on this machine"
  fi
  [ "$KW_THREADS" = "$mode" ] || { restart_keyward "$mode" "$cpus"; KW_THREADS=$mode; }
  start_nginx "$mode" "$cpus"
  start_haproxy "$mode" "$cpus"
  check_answers keyward "$KW/v1/auth"
  check_answers nginx "http://127.0.0.1:$NG_PORT/v1/auth"
  check_answers haproxy "http://127.0.0.1:$HA_PORT/v1/auth"
  if [[ " ${servers[*]} " == *" h2o-kw "* ]]; then
    start_h2o "$cpus"
    check_answers h2o-kw "http://127.0.0.1:$H2_PORT/v1/auth"
  fi
  # HAProxy's log must be on, as nginx's and keyward's are.
  grep -qa 'GET /v1/auth' "$BENCH_TMP/haproxy-$mode/access.ring" ||
    { echo "bench: HAProxy wrote no access-log line" >&2; exit 1; }

  echo
  echo "== $mode thread(s): $setup"
  printf '%-7s %-8s %12s %9s %9s %8s\n' round server req/s p50_ms p99_ms non2xx
  for round in $(seq 1 "$ROUNDS"); do
    for i in $(seq 0 $((${#servers[@]} - 1))); do
      who=${servers[$(((round - 1 + i) % ${#servers[@]}))]}
      case $who in
        keyward) port=$KW_PORT ;; nginx) port=$NG_PORT ;; haproxy) port=$HA_PORT ;; h2o-kw) port=$H2_PORT ;;
      esac
      read -r rps p50 p99 bad < <(WRK_CPU=$wrk_cpus wrk_run -t"$wrk_threads" -c"$CONNECTIONS" -d"$DURATION" \
        --latency -H "Authorization: Bearer $KEY" "http://127.0.0.1:$port/v1/auth" | tail -1) ||
        { echo "bench: wrk against $who gave no figures" >&2; exit 1; }
      printf '%-7s %-8s %12s %9s %9s %8s\n' "$round" "$who" "$rps" "$p50" "$p99" "$bad"
      [ "$bad" = 0 ] || { echo "bench: $who gave $bad answers other than 2xx under load" >&2; exit 1; }
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$round" "$who" "$rps" "$p50" "$p99" >> "$RESULTS"
    done
  done
  stop_pid "$NG_PID"
  stop_pid "$HA_PID"
  [ -n "${H2_PID:-}" ] && { stop_pid "$H2_PID"; H2_PID=; }
done

python3 - "$RESULTS" "$CONNECTIONS" "$ROUNDS" <<'PY'
import collections, statistics, sys
path, conns, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = collections.defaultdict(list)  # (mode, server) -> [(rps, p50, p99)]
for line in open(path):
    mode, _, who, rps, p50, p99 = line.split("\t")
    rows[(mode, who)].append((float(rps), float(p50), float(p99)))
modes = sorted({m for m, _ in rows})
med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in rows.items()}
targets = []
for mode in modes:
    kw, ng, ha = med[(mode, "keyward")], med[(mode, "nginx")], med[(mode, "haproxy")]
    print(f"\nmedians, {mode} thread(s), {rounds} round(s):")
    h2 = med.get((mode, "h2o-kw"))
    for name, m in (("keyward", kw), ("nginx", ng), ("haproxy", ha), ("h2o-kw", h2)):
        if m:
            print(f"  {name:8} {m[0]:9.0f} req/s  p50 {m[1]:.3f} ms  p99 {m[2]:.3f} ms")
    print(f"  keyward/nginx   {kw[0] / ng[0]:.3f} ({kw[0]:.0f} / {ng[0]:.0f} req/s)")
    print(f"  keyward/haproxy {kw[0] / ha[0]:.3f} ({kw[0]:.0f} / {ha[0]:.0f} req/s)")
    if h2:
        print(f"  h2o-kw/nginx    {h2[0] / ng[0]:.3f} (keyward's verifier behind h2o; not the shipped server)")
        print(f"  h2o-kw/keyward  {h2[0] / kw[0]:.3f}")
    workers = "1 worker" if mode == "1" else f"{mode} workers"
    threads = "1 thread" if mode == "1" else f"{mode} threads"
    # The target's figure: the median of the rounds' own ratios (each
    # round's keyward against the same round's nginx, measured minutes
    # apart), which the machine's drift between rounds moves less than the
    # ratio of the two medians printed above; the target needs both.
    per_round = [k[0] / n[0] for k, n in zip(rows[(mode, "keyward")], rows[(mode, "nginx")])]
    ratio = statistics.median(per_round)
    print(f"  keyward/nginx round by round: {', '.join(f'{r:.3f}' for r in per_round)};"
          f" median {ratio:.3f}")
    met = ratio >= 1.0 and kw[0] / ng[0] >= 1.0
    targets.append((f"/v1/auth {threads} vs nginx {workers}", f"{ratio:.3f}", ">= 1.0", met,
                    f"median of the rounds' ratios; ratio of the medians {kw[0] / ng[0]:.3f}"
                    f" (keyward {kw[0]:.0f} req/s, nginx {ng[0]:.0f} req/s, haproxy {ha[0]:.0f} req/s;"
                    f" keyward/haproxy {kw[0] / ha[0]:.3f}); {rounds} round(s)"))
    if mode == "1":
        targets.append((f"p99 at {conns} connections, 1 thread", f"{kw[2]:.3f} ms", "< 0.8 ms", kw[2] < 0.8,
                        f"keyward p50 {kw[1]:.3f} ms; nginx p99 {ng[2]:.3f} ms, haproxy p99 {ha[2]:.3f} ms;"
                        f" medians of {rounds} round(s)"))
print()
for name, figure, target, met, detail in targets:
    print("\t".join(("TARGET", name, figure, target, "met" if met else "SHORT", detail)))
PY
