#!/usr/bin/env bash
# Runs one benchmark with its output (stdout and stderr) shown and copied to
# a log, for bench/summary.sh to collect the TARGET lines from.
#
#   bench/logged.sh LOG COMMAND [ARGS...]
#
# The log ends with "EXIT<TAB>status<TAB>command". A failing command does not
# stop `make bench`: this exits 0 and the summary names the failure (and
# exits non-zero for it), so one broken benchmark does not hide the others'
# figures.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: bench/logged.sh LOG COMMAND [ARGS...]" >&2; exit 2; }
log=$1
shift
mkdir -p "$(dirname "$log")"
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
printf 'EXIT\t%s\t%s\n' "$status" "$*" >> "$log"
[ "$status" = 0 ] || echo "bench: '$*' failed (exit $status); going on; its output is in $log" >&2
exit 0
