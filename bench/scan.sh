#!/usr/bin/env bash
# `keyward scan` against grep (and rg, when installed) on the same tree in
# the same run: SIZE_MB of source-like text (identifiers, snake_case names
# with the product's own prefix, comments, strings, long base64 runs) in
# files of 2-64 kB, with PLANTED keys of the product "asa" whose checksum
# holds, planted among look-alikes. The tree is read once first, so every
# tool reads from the page cache; each tool runs ROUNDS times and its best
# time counts. One thread each: keyward scan and grep are single-threaded,
# rg runs with -j1 (and once more with its default threads, for reference).
# The peers search for the same token with an equivalent regular
# expression; they cannot check the CRC32, so they also count the
# look-alikes with a bad checksum: their counts are printed beside ours.
#
#   KEYWARD_BIN=build-bench/keyward bench/scan.sh
#   SIZE_MB=200 PLANTED=8 ROUNDS=3 (defaults)
cd "$(dirname "$0")/.."
source bench/lib.sh
SIZE_MB=${SIZE_MB:-200}
PLANTED=${PLANTED:-8}
ROUNDS=${ROUNDS:-3}
command -v python3 >/dev/null || { echo "bench: needs python3" >&2; exit 2; }

TREE="$BENCH_TMP/tree"
python3 - "$TREE" "$SIZE_MB" "$PLANTED" <<'PY'
import os, random, sys, zlib
root, size_mb, planted = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(2024)
b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
b64 = b62 + "+/"
def key(env):
    head = f"asa_{env}_" + "".join(rng.choice(b62) for _ in range(34))
    v, s = zlib.crc32(head.encode()), ""
    for _ in range(6):
        s = b62[v % 62] + s
        v //= 62
    return head + s
words = ["request", "response", "handler", "config", "value", "index", "buffer", "client",
         "server", "status", "result", "error", "count", "items", "token", "session", "user",
         "asa_live_enabled", "asa_test_mode", "asa_client", "max_retries", "HTTP_TIMEOUT"]
def ident():
    return "_".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
def line():
    kind = rng.random()
    if kind < 0.35:
        return f"    {ident()} = {ident()}({ident()}, {rng.randint(0, 9999)});"
    if kind < 0.55:
        return "    // " + " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
    if kind < 0.70:
        return f'    log.info("{ " ".join(rng.choice(words) for _ in range(5)) }: %s", {ident()});'
    if kind < 0.75:
        return '    "integrity": "sha512-' + "".join(rng.choice(b64) for _ in range(86)) + '==",'
    if kind < 0.80:
        return f"  if ({ident()} != nullptr && {ident()}->{ident()}()) {{"
    if kind < 0.802:
        # A look-alike: the right shape and a wrong checksum.
        k = key(rng.choice(["live", "test"]))
        return f'    fake_{ident()} = "{k[:-1]}{"A" if k[-1] != "A" else "B"}";'
    return "  }"
pool = [line() for _ in range(20000)]
total = size_mb * 1000 * 1000
written, files = 0, 0
plant_at = sorted(rng.sample(range(1, max(2, total // 40000)), planted))
os.makedirs(root)
while written < total:
    d = os.path.join(root, f"pkg{files // 200:03d}", f"mod{files % 200 // 20:02d}")
    os.makedirs(d, exist_ok=True)
    target = rng.randint(2000, 64000)
    lines, n = [], 0
    while n < target:
        l = rng.choice(pool)
        lines.append(l)
        n += len(l) + 1
    if plant_at and files >= plant_at[0]:
        plant_at.pop(0)
        lines.insert(rng.randrange(len(lines)), f'    api_key = "{key(rng.choice(["live", "test"]))}";')
    text = "\n".join(lines) + "\n"
    with open(os.path.join(d, f"file{files:05d}.cc"), "w") as f:
        f.write(text)
    written += len(text)
    files += 1
print(f"bench: {files} files, {written / 1e6:.1f} MB, {planted} keys planted", file=sys.stderr)
PY
BYTES=$(du -sb --apparent-size "$TREE" | cut -f1)
find "$TREE" -type f -exec cat {} + > /dev/null  # into the page cache

# best TOOL CMD...: "WALL CPU", the best wall time and the best CPU time
# (user + system) of ROUNDS runs, in seconds; the last run's stdout in
# $BENCH_TMP/TOOL.out. CPU time is the steadier figure on a shared machine.
best() {
  local tool=$1
  shift
  python3 - "$ROUNDS" "$BENCH_TMP/$tool.out" "$@" <<'PY'
import resource, subprocess, sys, time
rounds, out, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
wall = cpu = None
for _ in range(rounds):
    with open(out, "wb") as f:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL)
        took = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in (0, 1):
        sys.exit(f"bench: {' '.join(cmd)} exited {r.returncode}")
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    wall = took if wall is None else min(wall, took)
    cpu = used if cpu is None else min(cpu, used)
print(f"{wall:.4f} {cpu:.4f}")
PY
}
report() {  # NAME "WALL CPU" FOUND
  python3 - "$BYTES" "$1" $2 "$3" $KEYWARD_S <<'PY'
import sys
size, name, wall, cpu, found = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
base_wall, base_cpu = float(sys.argv[6]), float(sys.argv[7])
print(f"  {name:<26} wall {wall:6.3f} s {size / wall / 1e6:6.0f} MB/s {wall / base_wall:5.2f}x"
      f"   CPU {cpu:6.3f} s {size / cpu / 1e6:6.0f} MB/s {cpu / base_cpu:5.2f}x   {found:>5} matches")
PY
}
# The same token for every tool: asa_(live|test)_ and 40 base62 characters,
# between characters that cannot continue a key ([A-Za-z0-9_-]).
REGEX='(^|[^A-Za-z0-9_-])asa_(live|test)_[0-9A-Za-z]{40}($|[^A-Za-z0-9_-])'
echo "bench: $((BYTES / 1000000)) MB in $(find "$TREE" -type f | wc -l) files, page cache warm, best of $ROUNDS;" \
  "x: time relative to keyward scan's"
KEYWARD_S=$(best keyward "$KEYWARD_BIN" scan -q --prefix asa --environments live,test "$TREE")
found=$(wc -l < "$BENCH_TMP/keyward.out")
[ "$found" = "$PLANTED" ] || { echo "bench: keyward scan found $found keys, $PLANTED were planted" >&2; exit 1; }
report "keyward scan" "$KEYWARD_S" "$found"
GREP_S=$(LC_ALL=C best grep grep -rEc "$REGEX" "$TREE")
report "grep -rEc (LC_ALL=C)" "$GREP_S" "$(awk -F: '{n += $NF} END {print n}' "$BENCH_TMP/grep.out")"
if command -v rg >/dev/null; then
  RG_S=$(best rg rg -j1 -uuu -c "$REGEX" "$TREE")
  report "rg -j1 -c" "$RG_S" "$(awk -F: '{n += $NF} END {print n}' "$BENCH_TMP/rg.out")"
  RGN_S=$(best rgn rg -uuu -c "$REGEX" "$TREE")
  report "rg -c ($(nproc) threads)" "$RGN_S" "$(awk -F: '{n += $NF} END {print n}' "$BENCH_TMP/rgn.out")"
else
  echo "  rg is not installed: not compared"
fi
echo "(matches: keyward counts keys whose checksum holds; the peers count every token of the shape," \
  "the planted look-alikes with a bad checksum included)"
