#!/usr/bin/env bash
# Checks a Debian package built by scripts/package.sh: the unit passes `systemd-analyze verify`,
# lintian (where installed) finds no error or warning, and the package unpacked into a scratch
# root (`dpkg -x`) runs: `horae --version` names a commit, `horae validate --strict` accepts the
# example rules and their tests pass, and `horae graph --config` reads the example configuration
# as the daemon does.
#
#   scripts/check-package.sh dist/horae_0.1.0_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:?usage: scripts/check-package.sh PACKAGE.deb}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
horae="$root/usr/bin/horae"

echo "== control"
dpkg-deb --field "$deb" Package Version Depends
for dep in libyaml libcurl libssl libsqlite3 tzdata procps; do
    dpkg-deb --field "$deb" Depends | grep -q "$dep" || { echo "check-package: Depends lacks $dep" >&2; exit 1; }
done
# A binary with packed relocations does not load on a glibc older than 2.36.
if readelf -V "$horae" | grep -q GLIBC_ABI_DT_RELR; then
    dpkg-deb --field "$deb" Depends | grep -qF "libc6 (>= 2.36)" \
        || { echo "check-package: the binary needs glibc 2.36 (DT_RELR) and Depends does not say so" >&2; exit 1; }
fi
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
for f in /etc/horae/horae.yaml /etc/horae/rules/gocc.yaml; do
    grep -qx "$f" <<<"$conffiles" || { echo "check-package: $f is not a conffile" >&2; exit 1; }
done

echo "== systemd-analyze verify horae.service"
# verify checks that ExecStart exists on this system: point it at the unpacked binary.
unit="$root/check/horae.service"
mkdir -p "$root/check"
sed "s|/usr/bin/horae|$horae|" "$root/lib/systemd/system/horae.service" > "$unit"
systemd-analyze verify "$unit"
for key in DynamicUser=yes StateDirectory=horae ProtectSystem=strict NoNewPrivileges=yes Restart=on-failure \
    'ExecReload=/bin/kill -HUP $MAINPID'; do
    grep -qxF "$key" "$unit" || { echo "check-package: horae.service lacks $key" >&2; exit 1; }
done
# The daemon takes shutdownGrace plus about 6 s to stop: systemd must not SIGKILL it sooner.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
grace=$(sed -n 's/^shutdownGrace: \([0-9]*\)s$/\1/p' "$root/etc/horae/horae.yaml")
if [ -z "$stop" ] || [ -z "$grace" ] || [ "$stop" -lt $((grace + 6)) ]; then
    echo "check-package: TimeoutStopSec (${stop:-?}s) must be at least shutdownGrace (${grace:-?}s) + 6s" >&2
    exit 1
fi

if command -v lintian >/dev/null; then
    echo "== lintian"
    lintian --fail-on error,warning "$deb"
else
    echo "== lintian: not installed, skipped (apt-get install lintian)"
fi

echo "== the unpacked package runs"
"$horae" --version
"$horae" --version | grep -Eq '^horae [0-9.]+ \(commit [0-9a-f]{40}(-dirty)?\)$' \
    || { echo "check-package: horae --version names no commit" >&2; exit 1; }
"$horae" validate --strict "$root/etc/horae/rules"
"$horae" test "$root/etc/horae/rules" | tail -1
"$horae" graph "$root/etc/horae/rules" --config "$root/etc/horae/horae.yaml" --format dot >/dev/null
echo "check-package: $deb is fine"
