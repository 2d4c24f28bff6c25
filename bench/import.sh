#!/usr/bin/env bash
# Moving existing keys in (issue 16), in one run:
#   1. import throughput: KEYS hashed keys shaped like amser's (amsr_live_ +
#      21 random characters, seed 000), as an operator's export gives them
#      (customer,key_hash,created), through `keyward import` with a column
#      mapping, batches of 1000: on SQLite (the data directory on this
#      machine's /tmp), again on SQLite when every key is already there (a
#      rerun: all unchanged), and on PostgreSQL (scripts/test-postgres);
#   2. memory per imported key: keyward's resident memory grown by
#      verifying each of KEYS legacy keys once (so that all are cached),
#      divided by the keys cached, next to the same for KEYS native keys
#      (amsr_live_ + 40 characters with keyward's checksum), each in a
#      freshly started keyward on the same database.
# The cost of one legacy-format verification next to a native one is
# in-process: verify_bench (BM_VerifyCachedLegacy against
# BM_VerifyCachedNativeOnLegacyDeployment), which `make bench` runs first.
#
#   KEYWARD_BIN=build-bench/keyward bench/import.sh
#   KEYS=100000 BATCH=1000 PG=1 (defaults; PG=0 skips PostgreSQL)
cd "$(dirname "$0")/.."
source bench/lib.sh
KEYS=${KEYS:-100000}
BATCH=${BATCH:-1000}
PG=${PG:-1}
CUSTOMERS=20
for cmd in python3 curl wrk; do
  command -v $cmd >/dev/null || { echo "bench: needs $cmd: scripts/install-deps bench" >&2; exit 2; }
done

cat > "$BENCH_TMP/keyward.toml" <<'TOML'
[keys]
product_prefix = "amsr"

[[keys.legacy]]
pattern = "^amsr_(live|test)_[A-Za-z0-9]{21}$"
environment = "$1"
short_prefix_length = 12
TOML

# Anonymous resident memory (the heap: what the cache allocates), without
# the pages of the binary and libraries that the first requests touch.
rss_kib() { awk '/RssAnon/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

# serve PORT STORE-ARGS...: keyward with the amser configuration; sets
# KEYWARD_PID once it answers.
serve() {
  local port=$1
  shift
  KEYWARD_CACHE_MAX_KEYS=$((KEYS * 3 / 2)) "$KEYWARD_BIN" serve --listen "127.0.0.1:$port" --threads 2 \
    --config "$BENCH_TMP/keyward.toml" "$@" > "$BENCH_TMP/keyward-$port.log" 2> "$BENCH_TMP/keyward-$port.err" &
  KEYWARD_PID=$!
  BENCH_PIDS+=($KEYWARD_PID)
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: keyward did not start" >&2
  cat "$BENCH_TMP/keyward-$port.err" >&2
  exit 1
}
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# The keys (for the benchmark only: a real operator holds only hashes).
python3 - "$KEYS" "$BENCH_TMP" <<'PY'
import random, sys, zlib
n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(16)
alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def checksum(head):
    v, s = zlib.crc32(head.encode()), ""
    for _ in range(6):
        s = b62[v % 62] + s
        v //= 62
    return s
with open(f"{out}/legacy.keys", "w") as f:
    for _ in range(n):
        f.write("amsr_live_" + "".join(rng.choices(alnum, k=21)) + "\n")
with open(f"{out}/more.keys", "w") as f:
    for _ in range(max(n // 10, 1000)):
        f.write("amsr_live_" + "".join(rng.choices(alnum, k=21)) + "\n")
with open(f"{out}/native.keys", "w") as f:
    for _ in range(n):
        head = "amsr_live_" + "".join(rng.choices(b62, k=34))
        f.write(head + checksum(head) + "\n")
PY

# to_csv KEYS_FILE CSV WORKSPACE_ID...: the operator's export of those keys,
# spread over the workspaces: customer,key_hash,created,short_prefix.
to_csv() {
  python3 - "$@" <<'PY'
import hashlib, sys
keys, csv, customers = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(keys) as f, open(csv, "w") as out:
    out.write("customer,key_hash,created,short_prefix\n")
    for i, line in enumerate(f):
        k = line.strip()
        out.write(f"{customers[i % len(customers)]},{hashlib.sha256(k.encode()).hexdigest()},"
                  f"2024-01-{1 + i % 28:02d}T00:00:00Z,{k[:22]}\n")
PY
}

# workspaces URL ROOT: CUSTOMERS workspaces; prints their ids.
workspaces() {
  for i in $(seq 1 $CUSTOMERS); do
    api POST "$1/v1/workspaces" "$2" '{"name":"merchant '"$i"'","max_active_keys":100000}' | json_field id
  done
}

# import_run LABEL URL ROOT CSV: `keyward import` of CSV; prints a row and
# appends "label rows/s" to $BENCH_TMP/rates.
import_run() {
  local label=$1 url=$2 root=$3 csv=$4 t0 t1 code=0
  t0=$(date +%s.%N)
  KEYWARD_URL=$url KEYWARD_ROOT_KEY=$root "$KEYWARD_BIN" import --file "$csv" --batch-size "$BATCH" \
    --map workspace_id=customer --map hash=key_hash --map created_at=created --environment live \
    2> "$BENCH_TMP/import.err" || code=$?
  t1=$(date +%s.%N)
  [ "$code" = 0 ] || { echo "bench: keyward import exited $code" >&2; cat "$BENCH_TMP/import.err" >&2; exit 1; }
  local summary
  summary=$(grep -E 'rows: .* (imported|unchanged)' "$BENCH_TMP/import.err" | tail -1)
  python3 - "$label" "$t0" "$t1" "$summary" "$BENCH_TMP/rates" <<'PY'
import re, sys
label, t0, t1, summary, rates = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
num = lambda s: float(s.replace(",", ""))
rows = num(re.search(r"([\d,]+) rows:", summary).group(1))
imported = num(re.search(r"([\d,]+) imported", summary).group(1))
unchanged = num(re.search(r"([\d,]+) unchanged", summary).group(1))
cli = num(re.search(r"\(([\d,]+) rows/s\)", summary).group(1))
wall = t1 - t0
print(f"{label:<44} {int(rows):>8} {int(imported):>9} {int(unchanged):>9} {wall:>8.1f} {rows / wall:>10.0f} {cli:>10.0f}")
open(rates, "a").write(f"{label}\t{rows / wall}\n")
PY
}

echo "keyward import bench: $KEYS keys shaped like amser's (seed 000), hashed, batches of $BATCH"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); SQLite data on $(df --output=fstype "$BENCH_TMP" | tail -1)"
echo
printf '%-44s %8s %9s %9s %8s %10s %10s\n' run rows imported unchanged wall_s "keys/s" "cli_rows/s"

# SQLite.
mkdir -p "$BENCH_TMP/sqlite"
SQ_ROOT=$("$KEYWARD_BIN" root-keys create --data "$BENCH_TMP/sqlite" --name bench 2>/dev/null)
SQ_PORT=$(free_port)
serve "$SQ_PORT" --data "$BENCH_TMP/sqlite"
SQ="http://127.0.0.1:$SQ_PORT"
mapfile -t SQ_WS < <(workspaces "$SQ" "$SQ_ROOT")
mapfile -t SQ_WS2 < <(workspaces "$SQ" "$SQ_ROOT")
to_csv "$BENCH_TMP/legacy.keys" "$BENCH_TMP/legacy-sqlite.csv" "${SQ_WS[@]}"
to_csv "$BENCH_TMP/native.keys" "$BENCH_TMP/native-sqlite.csv" "${SQ_WS2[@]}"
to_csv "$BENCH_TMP/more.keys" "$BENCH_TMP/more-sqlite.csv" "${SQ_WS[@]}"
import_run "SQLite, legacy keys" "$SQ" "$SQ_ROOT" "$BENCH_TMP/legacy-sqlite.csv"
import_run "SQLite, again (all unchanged)" "$SQ" "$SQ_ROOT" "$BENCH_TMP/legacy-sqlite.csv"
import_run "SQLite, native-format keys" "$SQ" "$SQ_ROOT" "$BENCH_TMP/native-sqlite.csv"
import_run "SQLite, $(wc -l < "$BENCH_TMP/more.keys") more into the full ones" "$SQ" "$SQ_ROOT" "$BENCH_TMP/more-sqlite.csv"
stop "$KEYWARD_PID"

# PostgreSQL.
if [ "$PG" = 1 ]; then
  PG_NAME=bench-import-$$
  if PG_ADMIN=$(scripts/test-postgres start "$PG_NAME" 2> "$BENCH_TMP/pg.err"); then
    trap 'cleanup; scripts/test-postgres stop "$PG_NAME" >/dev/null 2>&1' EXIT
    psql -X -q -d "$PG_ADMIN" -c "CREATE DATABASE keyward_import" >/dev/null
    DB=$(python3 -c 'import re,sys; print(re.sub(r"^(postgres(?:ql)?://[^/?]*)/[^?]*", r"\1/keyward_import", sys.argv[1]))' "$PG_ADMIN")
    PG_ROOT=$("$KEYWARD_BIN" root-keys create --database "$DB" --name bench 2>/dev/null)
    PG_PORT=$(free_port)
    serve "$PG_PORT" --data "$BENCH_TMP/pg-data" --database "$DB"
    PGU="http://127.0.0.1:$PG_PORT"
    mapfile -t PG_WS < <(workspaces "$PGU" "$PG_ROOT")
    to_csv "$BENCH_TMP/legacy.keys" "$BENCH_TMP/legacy-pg.csv" "${PG_WS[@]}"
    import_run "PostgreSQL $(psql -XAtq -d "$PG_ADMIN" -c 'SHOW server_version' | cut -d' ' -f1), legacy keys" "$PGU" "$PG_ROOT" "$BENCH_TMP/legacy-pg.csv"
    import_run "PostgreSQL, again (all unchanged)" "$PGU" "$PG_ROOT" "$BENCH_TMP/legacy-pg.csv"
    to_csv "$BENCH_TMP/more.keys" "$BENCH_TMP/more-pg.csv" "${PG_WS[@]}"
    import_run "PostgreSQL, $(wc -l < "$BENCH_TMP/more.keys") more into the full ones" "$PGU" "$PG_ROOT" "$BENCH_TMP/more-pg.csv"
    stop "$KEYWARD_PID"
  else
    echo "(PostgreSQL skipped: scripts/test-postgres start failed: $(head -1 "$BENCH_TMP/pg.err"))"
  fi
fi
python3 - "$BENCH_TMP/rates" <<'PY'
import sys
rates = dict(line.rstrip("\n").split("\t") for line in open(sys.argv[1]))
rates = {k: float(v) for k, v in rates.items()}
base = rates["SQLite, legacy keys"]
print()
for k, v in rates.items():
    if k != "SQLite, legacy keys":
        print(f"{k} / SQLite legacy import: {v / base:.2f}")
print("keys/s: rows over the wall time of the whole command (reading the file twice, every batch sent")
print("and answered); cli_rows/s: what the command's own summary says. Each import goes into workspaces")
print("of its own (20, the keys spread over them) except the reruns and \"more into the full ones\": those")
print("go into the workspaces of the first import, which then hold its keys.")
PY

# Memory per cached key: a freshly started keyward on the SQLite database
# above (which holds both sets), every key of one set verified once, RSS
# before and after; then the same for the other set.
echo
echo "== memory per cached key: anonymous RSS growth of a fresh keyward after verifying each key once"
printf '%-22s %8s %12s %12s %14s\n' keys cached rss_before rss_after bytes_per_key
warm() { # LABEL KEYS_FILE -> prints a row, appends bytes/key to $BENCH_TMP/mem
  local label=$1 keys=$2 port pid before after entries secs
  port=$(free_port)
  serve "$port" --data "$BENCH_TMP/sqlite"
  pid=$KEYWARD_PID
  local url="http://127.0.0.1:$port"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/auth" -H "Authorization: Bearer $(head -1 "$keys")")
  [ "$code" = 200 ] || { echo "bench: $label: /v1/auth answered $code" >&2; exit 1; }
  sleep 1
  before=$(rss_kib "$pid")
  # One pass over the file, long enough at a cold-cache rate; again until
  # every key is cached (a pass that ran out of time misses the last ones).
  secs=$(python3 -c "import math; print(max(5, math.ceil($KEYS / 15000)))")
  for _ in 1 2 3; do
    MODE=sweep THREADS=2 KEYS_FILE=$keys WRK_CPU=0,1 \
      wrk_run -t2 -c32 -d"${secs}s" --latency -s bench/keys.lua "$url" > /dev/null
    entries=$(metric "$url" keyward_key_cache_entries)
    [ "${entries%.*}" -ge "$KEYS" ] && break
  done
  sleep 1
  after=$(rss_kib "$pid")
  python3 - "$label" "${entries%.*}" "$before" "$after" "$BENCH_TMP/mem" <<'PY'
import sys
label, entries, before, after, mem = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
per = (after - before) * 1024 / max(entries, 1)
print(f"{label:<22} {entries:>8} {before / 1024:>10.1f} MiB {after / 1024:>8.1f} MiB {per:>14.0f}")
open(mem, "a").write(f"{label}\t{per}\n")
PY
  stop "$pid"
}
# Twice each, alternating, each in a fresh process: the spread is the noise.
for round in 1 2; do
  warm "native (amsr_live_+40)" "$BENCH_TMP/native.keys"
  warm "legacy (amsr_live_+21)" "$BENCH_TMP/legacy.keys"
done
python3 - "$BENCH_TMP/mem" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
native = statistics.mean(float(v) for k, v in rows if k.startswith("native"))
legacy = statistics.mean(float(v) for k, v in rows if k.startswith("legacy"))
print(f"mean bytes per cached key: native {native:.0f}, legacy {legacy:.0f}; legacy / native {legacy / native:.2f}")
print("(RssAnon growth over the keys cached: cache entries and what the allocator keeps around them;")
print(" bench/scale.sh measures the same for a million native keys against its target of <= 256 bytes)")
PY
