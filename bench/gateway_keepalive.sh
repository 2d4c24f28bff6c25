#!/usr/bin/env bash
# nginx in front of a trivial upstream, asking keyward about every request
# (deploy/nginx/keyward.conf as shipped, addresses changed), with and without
# keep-alive between nginx and keyward. Same keyward, same key, same wrk
# settings, the two nginx instances alternated in one run, three rounds;
# nginx and keyward on CPU 0, wrk on CPU 1. Prints the median req/s of
# each and the ratio.
#
#   KEYWARD_BIN=build-bench/keyward bench/gateway_keepalive.sh
#   ROUNDS=3 DURATION=5s CONNECTIONS=32 (defaults)
#
# Without keep-alive nginx opens a connection to keyward per request, so a
# long DURATION can run out of local ports (TIME_WAIT); keep it short.
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
require_wrk_and_nginx
keyward_with_one_key

# start_nginx NAME KEEPALIVE(yes|no): deploy/nginx/keyward.conf in front of
# a trivial upstream served by the same nginx; sets NGINX_PORT.
start_nginx() {
  local name=$1 keepalive=$2 port api_port dir
  port=$(free_port)
  api_port=$(free_port)
  dir="$BENCH_TMP/nginx-$name"
  mkdir -p "$dir"
  python3 - "$dir/site.conf" "$KW_PORT" "$api_port" "$port" "$keepalive" <<'PY'
import sys
out, kw, api, port, keepalive = sys.argv[1:]
s = open("deploy/nginx/keyward.conf").read()
for a, b in [("server 127.0.0.1:8080;", f"server 127.0.0.1:{kw};"),
             ("server 127.0.0.1:9000;", f"server 127.0.0.1:{api};"),
             ("listen 80;", f"listen 127.0.0.1:{port};")]:
    assert a in s, a
    s = s.replace(a, b)
if keepalive == "no":
    # No pool to keyward, and HTTP/1.0 with Connection: close to it.
    auth = s.index("location = /_keyward_auth")
    head, tail = s[:auth], s[auth:]
    upstream = head.index("upstream keyward {")
    end = head.index("}", upstream)
    block = head[upstream:end].replace("keepalive 32;", "").replace("keepalive_timeout 60s;", "")
    head = head[:upstream] + block + head[end:]
    tail = tail.replace("proxy_http_version 1.1;", "", 1).replace('proxy_set_header Connection "";', "", 1)
    s = head + tail
open(out, "w").write(s)
PY
  cat > "$dir/nginx.conf" <<NGINX
load_module /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so;
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir;
  proxy_temp_path $dir;
  fastcgi_temp_path $dir;
  uwsgi_temp_path $dir;
  scgi_temp_path $dir;
  keepalive_requests 1000000;
  include $dir/site.conf;
  server {
    listen 127.0.0.1:$api_port;
    keepalive_requests 1000000;
    location / { return 200 "ok\n"; }
  }
}
NGINX
  taskset -c 0 nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" > "$dir/out.log" 2>&1 &
  BENCH_PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && { NGINX_PORT=$port; return 0; }
    sleep 0.1
  done
  echo "bench: nginx ($name) did not start" >&2
  cat "$dir/error.log" >&2
  exit 1
}

start_nginx with yes
WITH=$NGINX_PORT
start_nginx without no
WITHOUT=$NGINX_PORT
for p in "$WITH" "$WITHOUT"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$p/v1/products/1")
  [ "$code" = 200 ] || { echo "bench: nginx on $p answered $code, not 200" >&2; exit 1; }
done

echo "nginx -> keyward /v1/auth -> trivial upstream; $ROUNDS rounds of $DURATION, $CONNECTIONS connections"
printf '%-6s %-22s %10s %9s %9s %7s\n' round nginx-to-keyward req/s p50_ms p99_ms non2xx
with=()
without=()
for r in $(seq 1 "$ROUNDS"); do
  for variant in with without; do
    port=$WITH
    [ "$variant" = without ] && port=$WITHOUT
    read -r rps p50 p99 bad < <(wrk_run -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
      -H "Authorization: Bearer $KEY" "http://127.0.0.1:$port/v1/products/1")
    [ "$bad" = 0 ] || echo "bench: $bad answers were not 2xx ($variant keep-alive)" >&2
    printf '%-6s %-22s %10s %9s %9s %7s\n' "$r" "$variant keep-alive" "$rps" "$p50" "$p99" "$bad"
    if [ "$variant" = with ]; then with+=("$rps"); else without+=("$rps"); fi
  done
done
python3 - "${with[*]}" "${without[*]}" <<'PY'
import statistics, sys
w = statistics.median(float(x) for x in sys.argv[1].split())
wo = statistics.median(float(x) for x in sys.argv[2].split())
print(f"median req/s: with keep-alive {w:.0f}, without {wo:.0f}; with/without = {w / wo:.2f}")
PY
