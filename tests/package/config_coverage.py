#!/usr/bin/env python3
"""Every option in README's configuration table is in the packaged
configuration (deploy/debian/keyward.toml), set or commented out, in its
table: an option added to keyward and to README but not to the file an
operator edits fails tests/package/.

    config_coverage.py README.md keyward.toml
"""
import re
import sys

readme, conf = open(sys.argv[1]).read(), open(sys.argv[2]).read().split("\n")
section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
rows = re.findall(r"^\| `([^`]+)` \|", section, re.M)
# The file's options by table: {"": {...}, "keys": {...}}; commented or not.
tables, table = {"": set()}, ""
for line in conf:
    m = re.match(r"^#?\[\[?([a-z_.<>]+)\]\]?\s*$", line)
    if m:
        table = m.group(1)
        tables.setdefault(table, set())
        continue
    m = re.match(r"^#?([a-z_]+) = ", line)
    if m:
        tables[table].add(m.group(1))
missing = []
for row in rows:
    m = re.match(r"^\[\[?([a-z_.<>]+)\]\]?(?: ([a-z_]+))?$", row)
    table, key = (m.group(1), m.group(2)) if m else ("", row)
    if table.endswith(".<name>"):  # [plans.<name>]: any plan table
        ok = any(t.startswith(table[:-6]) for t in tables)
    elif key is None:
        ok = table in tables
    else:
        ok = key in tables.get(table, set())
    if not ok:
        missing.append(row)
if not rows:
    sys.exit("README.md's configuration table has no options: has its format changed?")
if missing:
    sys.exit("in README's configuration table, not in the packaged configuration: "
             + ", ".join(missing))
print("%d options of README's table, all in the packaged configuration" % len(rows))
