#!/usr/bin/env bash
# Runs the official Google Cloud Pub/Sub emulator on 127.0.0.1:PORT in the foreground
# (HORAE_PUBSUB_HOST=0.0.0.0: on every address of this host, for a test's network namespaces;
# bound to one address other than loopback, the emulator's REST front fails with 503 "io
# exception", as it reaches the emulator's gRPC server through localhost).
#
#   scripts/pubsub-emulator.sh PORT [WATCH_PID]
#
# Prints "ready HOST:PORT PGID" on stdout once the emulator answers, then waits. The emulator
# (a Java process tree in its own session, process group PGID) is stopped when this script gets
# SIGTERM/SIGINT, or when WATCH_PID (default: this script's parent) exits, so a killed test run
# leaves nothing behind. A parent that started this script with SIGTERM blocked (signal masks are
# inherited) should kill the group PGID itself.
set -euo pipefail

port="${1:?usage: pubsub-emulator.sh PORT [WATCH_PID]}"
watch="${2:-$PPID}"

find_emulator() {
    if [[ -n "${HORAE_PUBSUB_EMULATOR:-}" ]]; then echo "$HORAE_PUBSUB_EMULATOR"; return; fi
    local candidates=()
    if command -v gcloud >/dev/null 2>&1; then
        local sdk; sdk="$(dirname "$(readlink -f "$(command -v gcloud)")")/.."
        candidates+=("$sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")
    fi
    candidates+=(/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator
                 /google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator)
    for c in "${candidates[@]}"; do [[ -x "$c" ]] && { echo "$c"; return; }; done
    command -v cloud-pubsub-emulator || true
}

emulator="$(find_emulator)"
if [[ -z "$emulator" ]]; then
    cat >&2 <<'MSG'
pubsub-emulator.sh: the Google Cloud Pub/Sub emulator is not installed.
Install it with the Google Cloud SDK:  gcloud components install pubsub-emulator
(or on Debian/Ubuntu: apt-get install google-cloud-cli-pubsub-emulator), and Java 11+.
Or point HORAE_PUBSUB_EMULATOR at its cloud-pubsub-emulator script.
MSG
    exit 3
fi
command -v java >/dev/null 2>&1 || { echo "pubsub-emulator.sh: java is required by the emulator (apt-get install -y default-jre-headless)" >&2; exit 3; }

host="${HORAE_PUBSUB_HOST:-127.0.0.1}"
[[ "$host" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "pubsub-emulator.sh: HORAE_PUBSUB_HOST must be an IPv4 address" >&2; exit 1; }
log="${HORAE_EMULATOR_LOG:-/dev/null}"
setsid "$emulator" --host="$host" --port="$port" >"$log" 2>&1 &
pid=$!
stop() { kill -TERM -- "-$pid" 2>/dev/null || true; sleep 0.3; kill -KILL -- "-$pid" 2>/dev/null || true; }
trap 'stop; exit 0' TERM INT
trap stop EXIT

for _ in $(seq 1 300); do
    if curl -s -o /dev/null "http://$host:$port/"; then
        echo "ready $host:$port $pid"
        break
    fi
    kill -0 "$pid" 2>/dev/null || { echo "pubsub-emulator.sh: the emulator exited; see ${log}" >&2; exit 1; }
    sleep 0.1
done
curl -s -o /dev/null "http://$host:$port/" || { echo "pubsub-emulator.sh: the emulator did not answer within 30 s" >&2; exit 1; }

while kill -0 "$watch" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1 & wait $!; done
