#!/usr/bin/env bash
# Counts the instructions `horae run` executes per message on the no-op benchmark, under
# valgrind's callgrind: a figure that stays the same whatever else the machine runs (CPU seconds
# and messages/s move with the neighbours on shared cores), to compare changes by.
#
#   scripts/bench-instructions.sh [BINARY [BASELINE]]
#
# BINARY defaults to .build-release/release/horae (built as scripts/bench-daemon.sh builds it when
# missing). For each binary, on one Pub/Sub emulator (warmed first by the binary itself, outside
# valgrind), two daemons under callgrind drain a backlog of N and of 2N messages
# (scripts/bench/rules-noop.yaml, scripts/bench/horae.yaml.in, SQLite store; STATE=postgres: a
# PostgreSQL database, scripts/postgres-server.sh); instructions per message = (I(2N) - I(N)) / N,
# so start-up and shutdown cancel out. With BASELINE, both binaries are measured the same way and
# their ratio is printed. Under callgrind a daemon runs ~40× slower (~150 messages/s), so leases
# are renewed more often than at full speed: the figure is for comparing builds, not a CPU time.
# Environment: N (3000), RULES (scripts/bench/rules-noop.yaml), STATE (sqlite | postgres),
# TRANSPORT (unset: the binary's default; else written as `transport:` in the config),
# KEEP_WORK=1 keeps the work directory (callgrind outputs: callgrind_annotate FILE lists the
# functions). valgrind reads no DWARF 5 of the static binary: it runs a copy without debug
# sections (objcopy --strip-debug), whose symbols remain.
# Exit status 0, or 2 when it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

N=${N:-3000}
RULES=${RULES:-scripts/bench/rules-noop.yaml}
STATE=${STATE:-sqlite}
binary=${1:-.build-release/release/horae}
baseline=${2:-}

show() { printf '$ %s\n' "$*"; }
die() { echo "bench-instructions: $*" >&2; exit 2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
command -v valgrind >/dev/null || die "valgrind is not installed (apt-get install -y valgrind)"
command -v objcopy >/dev/null || die "objcopy is not installed (apt-get install -y binutils)"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number"
case $STATE in sqlite | postgres) ;; *) die "STATE is sqlite or postgres, not $STATE" ;; esac

if [ ! -x "$binary" ] && [ "$binary" = .build-release/release/horae ]; then
    show swift build -c release --product horae --static-swift-stdlib --scratch-path .build-release
    swift build -c release --product horae --static-swift-stdlib --scratch-path .build-release 2>&1 | tail -n 2
fi
[ -x "$binary" ] || die "no binary at $binary"
[ -z "$baseline" ] || [ -x "$baseline" ] || die "no baseline binary at $baseline"

work=$(mktemp -d "$root/.build-bench-work.XXXXXX")
pids=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT INT TERM

# start_peer NAME SCRIPT PORT: runs scripts/SCRIPT PORT, waits for its "ready ADDRESS PGID" line;
# sets peer_address.
start_peer() {
    mkfifo "$work/$1.fifo"
    "scripts/$2" "$3" $$ >"$work/$1.fifo" 2>"$work/$1.err" &
    pids+=($!)
    local ready rest
    read -r ready peer_address rest <"$work/$1.fifo" || die "$1 did not start: $(cat "$work/$1.err")"
    [ "$ready" = ready ] || die "$1 printed: $ready $peer_address"
}
start_peer emulator pubsub-emulator.sh "$(free_port)"
emulator=$peer_address
export PUBSUB_EMULATOR_HOST=$emulator
echo "emulator at $emulator"
postgres=""
if [ "$STATE" = postgres ]; then
    HORAE_POSTGRES_DURABLE=1 start_peer postgres postgres-server.sh "$(free_port)"
    postgres=$peer_address
    echo "PostgreSQL at $postgres (durable: fsync and synchronous commit on)"
fi
ps_rest() { python3 scripts/bench/pubsub_rest.py "$emulator" horae-bench "$@" >/dev/null; }

# drain LABEL COUNT COMMAND...: a fresh subscription with COUNT messages, drained by `COMMAND run`
# (its project directory: $work/LABEL); waits until /metrics counts COUNT acks, then SIGTERM.
drain() {
    local label=$1 count=$2 dir=$work/$1 http acked pid deadline
    shift 2
    mkdir -p "$dir/rules"
    cp "$RULES" "$dir/rules/bench.yaml"
    http=127.0.0.1:$(free_port)
    sed -e "s|@SUBSCRIPTION@|$label|" -e "s|@PULLS@|4|" -e "s|@PER_PULL@|250|" -e "s|@HTTP@|$http|" \
        scripts/bench/horae.yaml.in >"$dir/horae.yaml"
    if [ -n "${TRANSPORT:-}" ]; then echo "transport: $TRANSPORT" >>"$dir/horae.yaml"; fi
    if [ -n "$postgres" ]; then
        python3 - "$postgres" "$label" <<'PY' || die "cannot create the database for $label"
import socket, struct, sys
# CREATE DATABASE over the wire protocol (trust authentication): no psql needed.
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
def msg(kind, body): s.sendall(kind + struct.pack("!I", len(body) + 4) + body)
params = b"user\0postgres\0database\0postgres\0\0"
s.sendall(struct.pack("!II", len(params) + 8, 196608) + params)
def until(kind):
    while True:
        k = s.recv(1); n = struct.unpack("!I", s.recv(4))[0]; body = b""
        while len(body) < n - 4: body += s.recv(n - 4 - len(body))
        if k == b"E": sys.exit(body.decode(errors="replace"))
        if k == kind: return
until(b"Z")
msg(b"Q", ("CREATE DATABASE b_" + sys.argv[2].replace("-", "_") + "\0").encode())
until(b"Z")
PY
        sed -i "s|^state: .*|state: postgres://postgres@$postgres/b_${label//-/_}|" "$dir/horae.yaml"
    fi
    ps_rest topic "bench-$label"
    ps_rest subscription "$label" "bench-$label" 10
    ps_rest publish "bench-$label" "$count" 1000 4
    "$@" run --config "$dir/horae.yaml" >"$dir/horae.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    deadline=$((SECONDS + 600 + count / 20))
    while true; do
        acked=$({ curl -s --max-time 2 "http://$http/metrics" 2>/dev/null || true; } |
            awk '$1 == "horae_messages_acked_total" || index($1, "horae_messages_acked_total{") == 1 { s += $2 } END { printf "%d", s }')
        [ "${acked:-0}" -ge "$count" ] && break
        kill -0 "$pid" 2>/dev/null || die "$label: the daemon exited: $(tail -n 3 "$dir/horae.log")"
        [ "$SECONDS" -lt "$deadline" ] || die "$label: $acked of $count acked before the deadline"
        sleep 0.2
    done
    kill -TERM "$pid"
    wait "$pid" || true
}

# instructions LABEL: the total of the callgrind output of the run LABEL.
instructions() { awk '/^summary:/ { print $2 }' "$work/$1.callgrind"; }

# measure NAME BINARY: sets per_message (instructions per message) for BINARY.
measure() {
    local name=$1 bin=$2 stripped=$work/$1-nodebug small large
    objcopy --strip-debug "$bin" "$stripped"
    echo
    echo "== $name: $bin ($("$bin" --version 2>/dev/null || echo "no --version"))"
    drain "$name-warm" "$N" "$bin"
    for count in "$N" $((2 * N)); do
        show valgrind --tool=callgrind "$stripped" run "   # $count messages"
        drain "$name-$count" "$count" valgrind --tool=callgrind --callgrind-out-file="$work/$name-$count.callgrind" "$stripped"
    done
    small=$(instructions "$name-$N")
    large=$(instructions "$name-$((2 * N))")
    per_message=$(awk -v a="$small" -v b="$large" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n }')
    echo "$name: $small instructions for $N messages, $large for $((2 * N)): $per_message per message"
}

echo "rules: $RULES; store: $STATE; transport: ${TRANSPORT:-default}; N = $N"
measure horae "$binary"
head=$per_message
if [ -n "$baseline" ]; then
    measure baseline "$baseline"
    awk -v h="$head" -v b="$per_message" 'BEGIN { printf "\nhorae / baseline: %d / %d instructions per message = %.3f\n", h, b, h / b }'
fi
