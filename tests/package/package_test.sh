#!/usr/bin/env bash
# The Debian package (scripts/package), built from an already built build
# directory and checked without installing it into this system:
#   - lintian finds no error and no warning in it;
#   - it holds the stripped binary, the conffile, the unit, the maintainer
#     scripts, the copyright file, the changelog, the man page and a bash
#     completion that completes;
#   - its maintainer scripts, run against stubs, make the keyward user once,
#     enable and start nothing, and remove the state on purge alone;
#   - its unit passes `systemd-analyze verify` (its ExecStart pointed at the
#     unpacked binary, its man page found in the unpacked tree) and has the
#     sandbox of deploy/cluster/keyward.service;
#   - the unpacked binary prints the version and a commit of this tree, and
#     with the packaged configuration (only data_dir and listen changed)
#     makes a root key as README's "Install on Debian" says, then serves
#     /healthz and that root key's calls, prints no root key of its own,
#     and stops on SIGTERM with exit code 0.
#
#   tests/package/package_test.sh BUILD_DIR VERSION   (ctest: package.deb)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: package_test.sh BUILD_DIR VERSION}" && pwd)
version=${2:?usage: package_test.sh BUILD_DIR VERSION}

for tool in dpkg-deb lintian systemd-analyze readelf curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing: run scripts/install-deps" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/keyward-package-test.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok: $*"; }

# ---- build ----
start=$SECONDS
deb=$("$repo/scripts/package" "$build" "$tmp")
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "keyward_${version}_${arch}.deb" ] || fail "package named $(basename "$deb")"
ok "built $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB, in $((SECONDS - start)) s"

# ---- lintian ----
if ! lintian_out=$(lintian --fail-on error,warning --tag-display-limit 0 "$deb" 2>&1); then
  echo "$lintian_out" >&2
  fail "lintian reports errors or warnings"
fi
echo "$lintian_out" | grep -v 'running with root privileges' | sed 's/^/lintian: /' || true
ok "lintian: no error, no warning"

# ---- contents ----
root=$tmp/root
dpkg-deb -x "$deb" "$root"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = keyward ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), CMake says $version"
[[ "$(field Depends)" == *adduser* ]] || fail "Depends lacks adduser (the postinst uses it)"
[[ "$(field Depends)" == *libsqlite3* ]] || fail "Depends lacks the shared libraries: $(field Depends)"
control=$tmp/control
dpkg-deb -e "$deb" "$control"
[ "$(cat "$control/conffiles")" = /etc/keyward/keyward.toml ] \
  || fail "conffiles is not /etc/keyward/keyward.toml alone"
for f in usr/bin/keyward etc/keyward/keyward.toml lib/systemd/system/keyward.service \
  usr/share/doc/keyward/copyright usr/share/doc/keyward/changelog.gz \
  usr/share/man/man1/keyward.1.gz usr/share/bash-completion/completions/keyward; do
  [ -f "$root/$f" ] || fail "/$f is missing"
done
sections=$(readelf -S "$root/usr/bin/keyward")
if grep -qE '\.(debug_|symtab)' <<<"$sections"; then
  fail "/usr/bin/keyward is not stripped"
fi
for s in postinst prerm postrm; do
  [ -x "$control/$s" ] || fail "no $s"
done
ok "contents: binary (stripped, $(du -k "$root/usr/bin/keyward" | cut -f1) KiB), conffile, unit, maintainer scripts, copyright, changelog, man page, bash completion"

# The completion, sourced as bash-completion's loader does (inside a
# function) and asked what a few command lines complete to.
completes() { # EXPECTED WORD...
  local expected=$1 got
  shift
  got=$(bash -c 'load() { source "$1"; }; load "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _keyward; echo "${COMPREPLY[*]}"' \
    _ "$root/usr/share/bash-completion/completions/keyward" "$@")
  [ "$got" = "$expected" ] || fail "completion of '$*': '$got', not '$expected'"
}
completes root-keys keyward ro
completes create keyward root-keys cr
completes --config keyward serve --conf
completes "csv json" keyward usage export --format ""
completes "" keyward serve --config ""
ok "bash completion: commands, subcommands, options, listed values"

# ---- the maintainer scripts, against stubs ----
# Each command they run is a stub that logs its arguments (getent answers
# as $KEYWARD_USER_EXISTS says, dpkg-statoverride --list as
# $KEYWARD_OVERRIDE_EXISTS): what a fresh install, a reinstall, a removal
# and a purge would do, without doing it to this system.
stubs=$tmp/stubs
mkdir -p "$stubs"
for cmd in adduser install dpkg-statoverride deb-systemd-helper deb-systemd-invoke systemctl rm \
  getent; do
  cat >"$stubs/$cmd" <<STUB
#!/bin/sh
echo "$cmd \$*" >>"$tmp/calls"
case "$cmd \$1" in
  "getent passwd") [ "\$KEYWARD_USER_EXISTS" = yes ] ;;
  "dpkg-statoverride --list") [ "\$KEYWARD_OVERRIDE_EXISTS" = yes ] ;;
esac
STUB
  chmod +x "$stubs/$cmd"
done
run_script() { # USER_EXISTS OVERRIDE_EXISTS SCRIPT ARGS...
  : >"$tmp/calls"
  KEYWARD_USER_EXISTS=$1 KEYWARD_OVERRIDE_EXISTS=$2 PATH=$stubs /bin/sh "$control/$3" "${@:4}" \
    || fail "$3 ${*:4} exited $?"
}
called() { grep -qxF -- "$1" "$tmp/calls" || { cat "$tmp/calls" >&2; fail "$2: no '$1'"; }; }
not_called() { ! grep -q -- "$1" "$tmp/calls" || { cat "$tmp/calls" >&2; fail "$2: '$1' ran"; }; }
run_script no no postinst configure ""
called "adduser --system --group --quiet --home /var/lib/keyward --no-create-home --shell /usr/sbin/nologin keyward" "fresh install"
called "dpkg-statoverride --update --add root keyward 0640 /etc/keyward/keyward.toml" "fresh install"
called "deb-systemd-helper update-state keyward.service" "fresh install"
not_called "deb-systemd-helper enable" "fresh install"
not_called "deb-systemd-invoke start" "fresh install"
run_script yes yes postinst configure "0.0.9"
not_called adduser "reinstall over an existing keyward user"
not_called "dpkg-statoverride --update" "reinstall over an administrator's statoverride"
run_script yes yes prerm upgrade "$version"
not_called "deb-systemd-invoke stop" "an upgrade's prerm"
run_script yes yes postrm remove
not_called "rm " "remove"
called "deb-systemd-helper mask keyward.service" "remove"
run_script yes yes postrm purge
called "rm -rf /var/lib/keyward" "purge"
called "dpkg-statoverride --remove /etc/keyward/keyward.toml" "purge"
called "deb-systemd-helper purge keyward.service" "purge"
not_called deluser "purge"
ok "maintainer scripts: user made once, conffile 0640 root:keyward, not enabled or started, state removed on purge only"

# ---- the unit ----
unit=$root/lib/systemd/system/keyward.service
grep -qx 'ExecStart=/usr/bin/keyward serve --config /etc/keyward/keyward.toml' "$unit" \
  || fail "ExecStart is not /usr/bin/keyward serve --config /etc/keyward/keyward.toml"
grep -qx 'User=keyward' "$unit" || fail "the unit does not run as keyward"
grep -qx 'StateDirectory=keyward' "$unit" || fail "no StateDirectory=keyward"
# The sandbox (NoNewPrivileges= to DevicePolicy=) is deploy/cluster's.
sandbox() { sed -n '/^NoNewPrivileges=/,/^DevicePolicy=/p' "$1"; }
[ -n "$(sandbox "$unit")" ] || fail "no sandbox in the unit"
if ! diff <(sandbox "$repo/deploy/cluster/keyward.service") <(sandbox "$unit") >&2; then
  fail "the unit's sandbox differs from deploy/cluster/keyward.service's"
fi
mkdir -p "$tmp/unit"
sed "s|^ExecStart=/usr/bin/keyward |ExecStart=$root/usr/bin/keyward |" "$unit" \
  >"$tmp/unit/keyward.service"
# MANPATH: Documentation=man:keyward(1) is looked up in the package.
if ! verify_out=$(MANPATH=$root/usr/share/man systemd-analyze verify "$tmp/unit/keyward.service" 2>&1); then
  echo "$verify_out" >&2
  fail "systemd-analyze verify"
fi
[ -z "$verify_out" ] || { echo "$verify_out" >&2; fail "systemd-analyze verify printed warnings"; }
exposure=$(systemd-analyze security --offline=true "$tmp/unit/keyward.service" 2>/dev/null \
  | sed -n 's/.*Overall exposure level for keyward.service: //p')
ok "systemd-analyze verify: clean; security: exposure $exposure"

# ---- the binary ----
bin=$root/usr/bin/keyward
version_line=$("$bin" --version)
re="^keyward ${version//./\\.} \(commit ([0-9a-f]{7,}(-dirty)?|unknown)\)$"
[[ $version_line =~ $re ]] || fail "--version printed '$version_line'"
commit=${BASH_REMATCH[1]%-dirty}
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
  # Built from this tree: HEAD or, when a commit landed since the build,
  # one of its ancestors.
  [ "$commit" != unknown ] || fail "--version says commit unknown inside a git checkout"
  git -C "$repo" merge-base --is-ancestor "$commit" HEAD 2>/dev/null \
    || fail "--version's commit $commit is not in this tree's history"
fi
ok "--version: $version_line"

# The packaged configuration with only data_dir and listen changed.
config=$tmp/keyward.toml
sed -e "s|^data_dir = .*|data_dir = \"$tmp/state\"|" -e 's|^listen = .*|listen = "127.0.0.1:0"|' \
  "$root/etc/keyward/keyward.toml" >"$config"
[ "$(diff "$root/etc/keyward/keyward.toml" "$config" | grep -c '^>')" = 2 ] \
  || fail "the packaged configuration lacks an active data_dir or listen line"
grep -qx 'listen = "127.0.0.1:8080"' "$root/etc/keyward/keyward.toml" \
  || fail "the packaged configuration does not listen on 127.0.0.1:8080"
grep -qx 'data_dir = "/var/lib/keyward"' "$root/etc/keyward/keyward.toml" \
  || fail "the packaged configuration does not keep its data in /var/lib/keyward"

# Every option README's table lists is in the file, and every commented
# option is one keyward takes: uncommented all at once (but the GitHub key,
# whose PEM is a placeholder), the file passes the configuration check
# `serve` makes (`keyward scan` loads the configuration as serve does).
python3 "$repo/tests/package/config_coverage.py" "$repo/README.md" "$root/etc/keyward/keyward.toml" \
  || fail "the packaged configuration misses options"
awk '/^#\[\[leaks\.github_keys\]\]/ { skip = 1 } /^$/ { skip = 0 }
     !skip && /^#(\[|[a-z_]+ = )/ { sub(/^#/, "") } { print }' \
  "$root/etc/keyward/keyward.toml" >"$tmp/every-option.toml"
uncommented=$(diff "$root/etc/keyward/keyward.toml" "$tmp/every-option.toml" | grep -c '^>' || true)
[ "$uncommented" -gt 30 ] || fail "only $uncommented commented options found to try"
mkdir -p "$tmp/empty"
"$bin" scan --config "$tmp/every-option.toml" "$tmp/empty" >/dev/null 2>"$tmp/scan.err" \
  || { cat "$tmp/scan.err" >&2; fail "keyward refuses the packaged configuration's commented options"; }
ok "configuration: README's options all in it; its $uncommented commented options, uncommented, are valid"

# README's first root key: made offline before the first start.
root_key=$("$bin" root-keys create --config "$config" --name ops 2>"$tmp/root-keys.err") \
  || { cat "$tmp/root-keys.err" >&2; fail "root-keys create"; }
[[ $root_key =~ ^kw_root_ ]] || fail "root-keys create printed no root key"

"$bin" serve --config "$config" >"$tmp/serve.log" 2>&1 &
server_pid=$!
address=
for _ in $(seq 1 100); do
  address=$(sed -n 's/.*"msg":"listening","address":"\([^"]*\)".*/\1/p' "$tmp/serve.log")
  [ -n "$address" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; fail "keyward serve exited"; }
  sleep 0.1
done
[ -n "$address" ] || { cat "$tmp/serve.log" >&2; fail "keyward serve did not listen within 10 s"; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$address/healthz")" = 200 ] \
  || fail "/healthz did not answer 200"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $root_key" \
  "http://$address/v1/workspaces")" = 200 ] || fail "the root key made offline was refused"
if grep -q 'created the first root key' "$tmp/serve.log"; then
  fail "serve printed a root key of its own (it would land in the journal)"
fi
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
[ "$rc" = 0 ] || { cat "$tmp/serve.log" >&2; fail "keyward serve exited $rc on SIGTERM"; }
grep -q '"msg":"stopped"' "$tmp/serve.log" || fail "no graceful stop in the log"
ok "the packaged binary and configuration: root key, /healthz, graceful stop on SIGTERM"
ok "package test done in $SECONDS s"
