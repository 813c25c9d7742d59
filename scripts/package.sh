#!/usr/bin/env bash
# Builds the Debian package of Horae: the static release binary as /usr/bin/horae, the systemd
# unit, an example /etc/horae/horae.yaml and the example rules in /etc/horae/rules/ (conffiles),
# a man page and docs/deploy.md. Prints the path of the .deb (dist/horae_VERSION_ARCH.deb).
#
#   scripts/package.sh                 # release build in .build-release (several minutes), then package
#   HORAE_BINARY=path scripts/package.sh   # package an already built binary instead
#
# Depends: comes from dpkg-shlibdeps on the binary (libc, libstdc++, libyaml, libcurl, OpenSSL,
# SQLite, as linked), plus tzdata for schedules with a named time zone. Needs dpkg-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v dpkg-shlibdeps >/dev/null || { echo "package.sh: dpkg-shlibdeps is missing (apt-get install dpkg-dev)" >&2; exit 1; }

binary=${HORAE_BINARY:-}
if [ -z "$binary" ]; then
    # The manifest names this commit in `horae --version` (Package.swift, gitCommit).
    commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        commit="$commit-dirty"
    fi
    export HORAE_COMMIT=$commit
    flags=(-c release --product horae --static-swift-stdlib --scratch-path .build-release)
    swift build "${flags[@]}" >&2
    binary=$(swift build "${flags[@]}" --show-bin-path)/horae
fi
[ -x "$binary" ] || { echo "package.sh: no executable at $binary" >&2; exit 1; }

version=$("$binary" --version | awk '{ print $2 }')
arch=$(dpkg --print-architecture)
name="horae_${version}_${arch}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/$name"

install -D -m 0755 "$binary" "$root/usr/bin/horae"
# Symbols only: the binary keeps what the Swift runtime reads (metadata sections, backtraces'
# .eh_frame), at about a third of the size.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/horae"
install -D -m 0644 packaging/horae.service "$root/lib/systemd/system/horae.service"
install -D -m 0644 packaging/horae.yaml "$root/etc/horae/horae.yaml"
for rule in rules/*.yaml; do
    install -D -m 0644 "$rule" "$root/etc/horae/rules/$(basename "$rule")"
done
install -d "$root/usr/share/man/man1"
gzip -9n < packaging/horae.1 > "$root/usr/share/man/man1/horae.1.gz"
doc="$root/usr/share/doc/horae"
# The years of the first and the last commit (or this year outside git).
first=$(git log --reverse --format=%ad --date=format:%Y 2>/dev/null | head -1 || true)
last=$(git log -1 --format=%ad --date=format:%Y 2>/dev/null || true)
first=${first:-$(date +%Y)} last=${last:-$(date +%Y)}
years=$first
[ "$first" = "$last" ] || years="$first-$last"
install -d "$doc"
sed "s/@YEARS@/$years/" packaging/copyright > "$doc/copyright"
chmod 0644 "$doc/copyright"
install -D -m 0644 docs/deploy.md "$doc/deploy.md"
date=$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")
printf 'horae (%s) unstable; urgency=medium\n\n  * Release %s (commit %s).\n\n -- %s  %s\n' \
    "$version" "$version" "$("$binary" --version | sed 's/.*commit \(.*\))/\1/')" \
    "${HORAE_MAINTAINER:-Horae maintainers <horae@example.org>}" "$date" | gzip -9n > "$doc/changelog.gz"

# dpkg-shlibdeps reads a debian/control; a minimal one beside the tree is enough.
mkdir -p "$work/debian"
printf 'Source: horae\n\nPackage: horae\nArchitecture: any\n' > "$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O "$name/usr/bin/horae" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "package.sh: dpkg-shlibdeps found no libraries" >&2; exit 1; }
# Packed relocations (the release link's `-z pack-relative-relocs`) need glibc 2.36, which the
# binary names as the version GLIBC_ABI_DT_RELR; dpkg-shlibdeps knows symbols, not that version.
if readelf -V "$root/usr/bin/horae" | grep -q GLIBC_ABI_DT_RELR; then
    shlibs=$(echo "$shlibs" | sed -E 's/libc6 \(>= [0-9.~]+\)/libc6 (>= 2.36)/')
    case "$shlibs" in *"libc6 (>= 2.36)"*) ;; *) shlibs="libc6 (>= 2.36), $shlibs" ;; esac
fi
rm -rf "$work/debian"

mkdir -p "$root/DEBIAN"
install -m 0755 packaging/postinst packaging/postrm "$root/DEBIAN/"
find "$root/etc" -type f | sed "s|^$root||" | sort > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/control" <<CONTROL
Package: horae
Version: $version
Architecture: $arch
Maintainer: ${HORAE_MAINTAINER:-Horae maintainers <horae@example.org>}
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $shlibs, procps, tzdata
Section: admin
Priority: optional
Description: Cloud Storage events to work: Pub/Sub messages, YAML rules, actions
 Horae pulls Google Cloud Pub/Sub messages (Cloud Storage notifications among
 them), matches them against declarative YAML rules and runs the rules'
 actions (run a program, call HTTP, publish, download from Cloud Storage, load
 into BigQuery, switch an Elasticsearch alias) with deduplication and retries.
 .
 This package holds the horae command and its daemon as a hardened systemd
 service, with an example configuration and example rules in /etc/horae.
CONTROL

mkdir -p dist
dpkg-deb --root-owner-group -Zxz --build "$root" "dist/$name.deb" >&2
echo "dist/$name.deb"
