#!/usr/bin/env bash
# The line-rate targets in one table, collected from the benchmarks' logs
# (make bench writes them to build-bench/logs/ through bench/logged.sh).
#
#   bench/summary.sh [LOG_DIR]     (default build-bench/logs)
#
# A benchmark states a target by printing one line
#   TARGET<TAB>name<TAB>figure<TAB>target<TAB>met|SHORT<TAB>detail
# (detail optional). Every target of the line-rate issue is listed, measured
# or not: one whose benchmark did not run, failed or left it out shows so.
# When build-bench/verify_bench prints no TARGET lines (builds before it
# did), its one-thread targets are read from its summary line
# ("threads:1: verify N/s, bare SHA-256 N/s, ...") and marked with a *.
#
# Exits 1 when a benchmark's log ends with a non-zero EXIT line (it failed),
# 0 otherwise: a target still short is a figure, not a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_DIR=${1:-build-bench/logs}
[ -d "$LOG_DIR" ] || { echo "bench: no logs in $LOG_DIR; run make bench" >&2; exit 2; }
exec python3 - "$LOG_DIR" <<'PY'
import glob, os, re, sys

log_dir = sys.argv[1]
# The targets of the line-rate issue, in the order shown, with the log that
# should state each.
EXPECTED = [  # (name, log, goal shown when it was not measured)
    ("in-process verifications per second, 1 thread", "verify_bench", ">= 1000000"),
    ("in-process verify / bare SHA-256, 1 thread", "verify_bench", ">= 0.50"),
    ("in-process verify, 2 threads / 1 thread", "verify_bench", ">= 1.80"),
    ("/v1/auth 1 thread vs nginx 1 worker", "http_vs_nginx", ">= 1.0"),
    ("/v1/auth 2 threads vs nginx 2 workers", "http_vs_nginx", ">= 1.0"),
    ("p99 at 64 connections, 1 thread", "http_vs_nginx", "< 0.8 ms"),
    ("memory per cached key", "scale", "<= 256 B"),
    ("1M random keys, warm p99", "scale", "< 2 ms"),
    ("1M random keys, cold p99", "scale", "< 5 ms"),
]

found = {}      # name -> (figure, goal, status, detail, source)
failed = []     # (source, status, command)
ran = set()
for path in sorted(glob.glob(os.path.join(log_dir, "*.log"))):
    source = os.path.basename(path)[:-4]
    ran.add(source)
    has_targets = False
    verify_line = None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("TARGET\t"):
            f = line.split("\t")
            if len(f) < 5:
                print(f"bench: {path}: malformed TARGET line: {line!r}", file=sys.stderr)
                continue
            found[f[1]] = (f[2], f[3], f[4], f[5] if len(f) > 5 else "", source)
            has_targets = True
        elif line.startswith("EXIT\t"):
            f = line.split("\t", 2)
            if f[1] != "0":
                failed.append((source, f[1], f[2] if len(f) > 2 else ""))
        elif line.startswith("threads:1: verify "):
            verify_line = line
    if verify_line and not has_targets:
        m = re.match(r"threads:1: verify ([\d.]+)/s, bare SHA-256 ([\d.]+)/s", verify_line)
        if m:
            v, sha = float(m.group(1)), float(m.group(2))
            found.setdefault("in-process verifications per second, 1 thread", (
                f"{v:.0f}", ">= 1000000", "met" if v >= 1e6 else "SHORT",
                f"{1e9 / v:.0f} ns per verification", source + "*"))
            found.setdefault("in-process verify / bare SHA-256, 1 thread", (
                f"{v / sha:.2f}", ">= 0.50", "met" if v / sha >= 0.5 else "SHORT",
                f"verify {v:.0f}/s, bare SHA-256 {sha:.0f}/s", source + "*"))

rows = []
for name, source, goal in EXPECTED:
    if name in found:
        rows.append((name,) + found.pop(name))
    else:
        why = "failed" if any(s == source for s, _, _ in failed) else \
              "not run" if source not in ran else "not measured"
        rows.append((name, "-", goal, why, "", source))
for name, v in found.items():  # targets stated beyond the issue's list
    rows.append((name,) + v)

w = [max(len(r[i]) for r in rows + [("target", "figure", "goal", "status", "", "from")])
     for i in range(6)]
print(f"\n== line-rate targets (from {log_dir}/*.log)")
print(f"{'target':<{w[0]}}  {'figure':>{w[1]}}  {'goal':<{w[2]}}  {'status':<{w[3]}}  from")
for name, figure, goal, status, detail, source in rows:
    print(f"{name:<{w[0]}}  {figure:>{w[1]}}  {goal:<{w[2]}}  {status:<{w[3]}}  {source}")
    if detail:
        print(f"{'':<{w[0]}}    ({detail})")
met = sum(1 for r in rows if r[3] == "met")
short = sum(1 for r in rows if r[3] == "SHORT")
print(f"\n{met} met, {short} short, {len(rows) - met - short} not measured")
if any(r[5].endswith("*") for r in rows):
    print("* read from verify_bench's summary line (it printed no TARGET lines)")
for source, status, command in failed:
    print(f"FAILED: {command or source} (exit {status}); see {log_dir}/{source}.log")
sys.exit(1 if failed else 0)
PY
