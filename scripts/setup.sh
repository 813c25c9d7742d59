#!/usr/bin/env bash
# Installs what Horae builds and tests against: the C libraries it links (libyaml, libcurl,
# OpenSSL, SQLite). Safe to run again; does nothing when all is present.
set -euo pipefail

need=()
for pkg in libyaml-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6.1 or later is needed: https://swift.org/install)"; exit 1; }
