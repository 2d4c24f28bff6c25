#!/usr/bin/env python3
"""What one usage flush costs SQLite, by table layout: the experiment behind
docs/performance.md section 3 ("the usage flush is the cost").

    python3 bench/usage_layouts.py LAYOUT [CACHE_KIB] [FLUSHES] [ROWS]

LAYOUT is one of
  today     usage keyed (key_id, minute, code), indexed by (workspace_id,
            minute) and by minute: migration 1's layout
  no-ws     the same without the (workspace_id, minute) index
  minute    keyed (minute, key_id, code), indexed by (workspace_id, minute)
            and by (key_id, minute): a minute's rows side by side
A table of 300,000 keys (20 a workspace) with five minutes of history is made
on /dev/shm, then FLUSHES (default 6) transactions each upsert ROWS (default
25,000) random keys, sorted by key as keyward sends them, into the current
minute, with the statement keyward uses; CACHE_KIB (default 2000, SQLite's
default) is the page cache. Prints the mean time a flush took. Python's own
cost is in the figure (a few microseconds a row); compare layouts with each
other, not with keyward's flush.
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

LAYOUTS = {
    "today": ("key_id, minute, code",
              ["CREATE INDEX usage_by_workspace ON usage (workspace_id, minute)",
               "CREATE INDEX usage_by_minute ON usage (minute)"]),
    "no-ws": ("key_id, minute, code", ["CREATE INDEX usage_by_minute ON usage (minute)"]),
    "minute": ("minute, key_id, code",
               ["CREATE INDEX usage_by_workspace ON usage (workspace_id, minute)",
                "CREATE INDEX usage_by_key ON usage (key_id, minute)"]),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in LAYOUTS:
        sys.exit(__doc__)
    layout = sys.argv[1]
    cache_kib = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    flushes = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else 25000
    key_cols, indexes = LAYOUTS[layout]
    work = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    db = sqlite3.connect(os.path.join(work, "usage.db"), isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA cache_size=-{cache_kib}")
        db.execute("CREATE TABLE usage (key_id TEXT NOT NULL, workspace_id TEXT NOT NULL, "
                   "minute INTEGER NOT NULL, code TEXT NOT NULL, count INTEGER NOT NULL, "
                   f"credits INTEGER NOT NULL DEFAULT 0, PRIMARY KEY ({key_cols})) WITHOUT ROWID")
        for sql in indexes:
            db.execute(sql)
        upsert = ("INSERT INTO usage (key_id, workspace_id, minute, code, count, credits) "
                  f"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT ({key_cols}) DO UPDATE SET "
                  "count = count + excluded.count, credits = credits + excluded.credits")
        n = 300_000
        keys = [f"key_{random.getrandbits(96):024x}" for _ in range(n)]
        workspaces = [f"ws_{i // 20:020d}" for i in range(n)]
        db.execute("BEGIN")
        for minute in range(5):
            for i in range(n):
                db.execute(upsert, (keys[i], workspaces[i], 1000 + minute, "valid", 3, 0))
        db.execute("COMMIT")
        total = 0.0
        for f in range(flushes):
            batch = sorted(random.sample(range(n), rows), key=lambda i: keys[i])
            started = time.perf_counter()
            db.execute("BEGIN")
            for i in batch:
                db.execute(upsert, (keys[i], workspaces[i], 1005, "valid", 1, 0))
            db.execute("COMMIT")
            total += time.perf_counter() - started
        print(f"{layout}: page cache {cache_kib} KiB, {rows:,} rows a flush: "
              f"{total / flushes * 1000:.0f} ms a flush "
              f"({total / flushes / rows * 1e6:.1f} us a row)")
    finally:
        db.close()
        for name in os.listdir(work):
            os.remove(os.path.join(work, name))
        os.rmdir(work)


if __name__ == "__main__":
    main()
