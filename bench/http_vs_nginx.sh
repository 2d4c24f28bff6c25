#!/usr/bin/env bash
# keyward's gateway check (GET /v1/auth, threads = 1) against nginx (one
# worker) checking the same key with a static map and returning the same
# headers. Same wrk settings, alternated, three rounds; each server pinned to
# CPU 0 and wrk to CPU 1. Prints req/s, p50 and p99 of each and the ratio.
#
#   KEYWARD_BIN=build-bench/keyward bench/http_vs_nginx.sh
#   ROUNDS=3 DURATION=10s CONNECTIONS=64 (defaults)
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
require_wrk_and_nginx

# keyward with one workspace and one key.
keyward_with_one_key ',"scopes":["products:read"]'

# nginx doing the same job with a static map.
NG_PORT=$(free_port)
mkdir -p "$BENCH_TMP/nginx"
cat > "$BENCH_TMP/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $BENCH_TMP/nginx/nginx.pid;
error_log $BENCH_TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  # Buffered like keyward's access log (64 KiB or 200 ms).
  access_log $BENCH_TMP/nginx/access.log combined buffer=64k flush=200ms;
  client_body_temp_path $BENCH_TMP/nginx;
  proxy_temp_path $BENCH_TMP/nginx;
  fastcgi_temp_path $BENCH_TMP/nginx;
  uwsgi_temp_path $BENCH_TMP/nginx;
  scgi_temp_path $BENCH_TMP/nginx;
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
taskset -c 0 nginx -c "$BENCH_TMP/nginx/nginx.conf" -p "$BENCH_TMP/nginx" &
BENCH_PIDS+=($!)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$NG_PORT/v1/auth" && break; sleep 0.1; done

# Both must answer the key alike before they are timed.
# A bad key: the last character changed (to one it is not).
BAD_KEY="${KEY%?}x"
[ "$BAD_KEY" != "$KEY" ] || BAD_KEY="${KEY%?}y"
for url in "$KW/v1/auth" "http://127.0.0.1:$NG_PORT/v1/auth"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url" -H "Authorization: Bearer $KEY")
  [ "$code" = 200 ] || { echo "bench: $url answered $code for the key" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url" -H "Authorization: Bearer $BAD_KEY")
  [ "$code" = 401 ] || { echo "bench: $url answered $code for a bad key" >&2; exit 1; }
done

echo "GET /v1/auth, one valid key, wrk -t1 -c$CONNECTIONS -d$DURATION, server on CPU 0, wrk on CPU 1"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-7s %-8s %12s %9s %9s %8s\n' round server req/s p50_ms p99_ms non2xx
kw_all=(); ng_all=()
for round in $(seq 1 "$ROUNDS"); do
  for who in keyward nginx; do
    port=$KW_PORT; [ $who = nginx ] && port=$NG_PORT
    read -r rps p50 p99 bad < <(wrk_run -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
      -H "Authorization: Bearer $KEY" "http://127.0.0.1:$port/v1/auth" | tail -1)
    printf '%-7s %-8s %12s %9s %9s %8s\n' "$round" "$who" "$rps" "$p50" "$p99" "$bad"
    if [ $who = keyward ]; then kw_all+=("$rps $p50 $p99"); else ng_all+=("$rps $p50 $p99"); fi
  done
done
python3 - "${kw_all[@]}" -- "${ng_all[@]}" <<'PY'
import statistics, sys
args = sys.argv[1:]
split = args.index("--")
kw = [list(map(float, a.split())) for a in args[:split]]
ng = [list(map(float, a.split())) for a in args[split + 1:]]
med = lambda rows, i: statistics.median(r[i] for r in rows)
print(f"\nmedian  keyward {med(kw,0):.0f} req/s p50 {med(kw,1):.3f} ms p99 {med(kw,2):.3f} ms")
print(f"median  nginx   {med(ng,0):.0f} req/s p50 {med(ng,1):.3f} ms p99 {med(ng,2):.3f} ms")
ratio = med(kw, 0) / med(ng, 0)
print(f"ratio   keyward/nginx throughput {ratio:.2f} (target >= 0.80); keyward p99 "
      f"{med(kw,2):.3f} ms (target < 1 ms at the connections above)")
PY
