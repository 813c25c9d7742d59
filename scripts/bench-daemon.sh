#!/usr/bin/env bash
# Benchmarks `horae run` against the Pub/Sub emulator, side by side with the system it replaces run
# the way a user would scale it (a fleet of Python google-cloud-pubsub streaming-pull subscriber
# processes), in one run:
#   1. builds release as README.md says (--static-swift-stdlib) into .build-release if the binary
#      is missing (BUILD=1: always), makes a
#      Python venv in .build-bench-venv with google-cloud-pubsub, starts the emulator on a free port;
#      asks the binary (`horae schema config`) which of TRANSPORTS its config accepts: one it does not
#      is reported as "not supported by this binary" and skipped, as is one whose daemon refuses
#      its config or acks nothing in the warm-up (a binary without the `transport` key runs `rest`
#      with no such line: REST is then its only transport);
#   2. warm-up (not counted), the same for every consumer: ONE emulator serves every consumer, and
#      before the first measured drain it is warmed through every path any consumer uses:
#      WARMUP_PYTHON messages through the Python fleet of the largest K (the streaming-pull path),
#      then WARMUP_HORAE through horae on each supported transport; every consumer below is then
#      measured on that same warm emulator (its REST path keeps getting cheaper for ~200 000
#      messages: emulator CPU per 50 000 horae messages in successive runs 15.8, 13.1, 10.9, 9.2,
#      6.7 s; see docs/benchmarks.md);
#   3. throughput, RUNS times, one consumer after the other, each on a fresh backlog of its own of
#      MESSAGES GCS-notification-shaped messages, published to a topic of its own just before it
#      starts (so the emulator holds no one else's backlog while it serves a consumer):
#      - Python: for each K in PYTHON_PROCESSES, K subscriber processes (library defaults, callback
#        = count + ack; scripts/bench/python_subscriber.py) on the one subscription, started
#        together; messages/s = MESSAGES / time from their common start until the fleet has
#        received all MESSAGES; CPU = the K processes' user+sys CPU over that drain, summed;
#      - horae: for each supported transport of TRANSPORTS, `horae run` with `transport: NAME` (rule:
#        a debug log while the daemon logs at info; maxOutstandingMessages 1000); messages/s from
#        the end of its start-up (the first answer of /metrics, as the fleet's clock starts once
#        its clients are made) until horae_messages_acked_total = MESSAGES; CPU = the daemon's
#        user+sys CPU (/proc/PID/stat) over that drain (both also printed from process start);
#      one line per consumer: messages/s, CPU µs per message, the emulator's CPU seconds during
#      its drain; the best K is "best Python", and each horae transport gets horae / best Python;
#   4. idle: a fresh `horae run` with nothing to pull for IDLE_SECONDS: CPU % and RSS;
#   5. checks every throughput subscription is drained (after the ack deadlines ran out);
#   6. 1 000 outstanding: a rule that execs /bin/sleep, 1 500 messages published, RSS of the daemon
#      (not its children) once 1 000 messages are outstanding;
#   7. stores (where the PostgreSQL server is installed): with a rule that also claims a dedup key, a backlog of
#      STORE_MESSAGES drained by one daemon on SQLite, one on PostgreSQL, and FLEET daemons on one
#      PostgreSQL database pulling one subscription, STORE_RUNS times, each on a backlog of its own,
#      same emulator, the binary's default transport: messages/s, horae's CPU µs per message (all
#      daemons together) and the PostgreSQL server's (scripts/postgres-server.sh with
#      HORAE_POSTGRES_DURABLE=1: fsync on).
# Prints every figure with what produced it, then the per-consumer table (means over RUNS) and
# PASS/FAIL against the targets: horae on its best transport >= best Python messages/s, and that
# transport's horae CPU <= 43 µs per message.
# Environment: MESSAGES (50000), RUNS (2), PYTHON_PROCESSES ("1 2 4 8"): the Python fleet sizes K,
# TRANSPORTS ("rest grpc"): horae's transports to measure, IDLE_SECONDS (60), PULLS (4) and
# PER_PULL (250): the concurrentPulls and maxMessagesPerPull of the throughput runs, WARMUP_PYTHON
# (20000) and WARMUP_HORAE (200000): the warm-up above; OUTSTANDING_PULLS (1) and
# OUTSTANDING_PER_PULL (1000),
# BUILD=1 rebuilds the binary even if present, PUBSUB_VERSION (2.44.0),
# BASELINE=PATH: another horae binary (an earlier commit's, say; its default transport) that
# consumes the same backlog in every throughput run, before horae in odd runs and after it in even
# ones; the results then give the daemon CPU per message of both and their ratio against horae on
# the first supported transport, measured minutes apart at most,
# KEEP_WORK=1 keeps the work directory (configs, daemon logs),
# STORES=0 skips the store dimension, ONLY_STORES=1 runs horae's warm-up and the store dimension only
# (no Python, idle or outstanding phases), STORE_MESSAGES (MESSAGES), STORE_RUNS (RUNS), FLEET (3).
# Exit status: 0 all targets met, 1 otherwise, 2 the benchmark could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

MESSAGES=${MESSAGES:-50000}
RUNS=${RUNS:-2}
WARMUP_HORAE=${WARMUP_HORAE:-200000}
WARMUP_PYTHON=${WARMUP_PYTHON:-20000}
IDLE_SECONDS=${IDLE_SECONDS:-60}
PULLS=${PULLS:-4}
PER_PULL=${PER_PULL:-250}
PUBSUB_VERSION=${PUBSUB_VERSION:-2.44.0}
PYTHON_PROCESSES=${PYTHON_PROCESSES:-1 2 4 8}
TRANSPORTS=${TRANSPORTS:-rest grpc}
OUTSTANDING_PUBLISHED=1500
OUTSTANDING_TARGET=1000
# One pull of up to 1000 at a time: with several pulls in flight, the flow controller pauses when
# its reservations fill the budget, and when the pulls bring back fewer than they reserved it
# stays paused below 1000 until 80 % (see docs/benchmarks.md); one pull reaches 1000 exactly.
OUTSTANDING_PULLS=${OUTSTANDING_PULLS:-1}
OUTSTANDING_PER_PULL=${OUTSTANDING_PER_PULL:-1000}
SLEEP_SECONDS=45
ONLY_STORES=${ONLY_STORES:-0}
# The store dimension runs where scripts/postgres-server.sh finds the PostgreSQL server.
if [ -z "${STORES:-}" ]; then
    STORES=0
    if [ -n "${HORAE_POSTGRES_BIN:-}" ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v pg_config >/dev/null; then
        STORES=1
    fi
fi
[ "$ONLY_STORES" = 1 ] && STORES=1
STORE_MESSAGES=${STORE_MESSAGES:-$MESSAGES}
STORE_RUNS=${STORE_RUNS:-$RUNS}
FLEET=${FLEET:-3}
SCRATCH=.build-release
VENV=.build-bench-venv
PROJECT=horae-bench

# Targets.
MIN_RATIO=1               # horae on its best transport / the best Python fleet, messages/s
MAX_HORAE_CPU_US=43       # horae's CPU per message on that transport
IDLE_MAX_CPU_PERCENT=1
IDLE_MAX_MB=40
OUTSTANDING_MAX_MB=150
POSTGRES_MAX_CPU_RATIO=1.5   # horae's CPU per message on PostgreSQL / on SQLite
FLEET_MIN_RATIO=1            # FLEET daemons' messages/s / one daemon's, both on PostgreSQL

failures=0
verdict() {  # verdict OK|FAIL text
    if [ "$1" = OK ]; then echo "PASS $2"; else echo "FAIL $2"; failures=$((failures + 1)); fi
}
show() { printf '$ %s\n' "$*"; }
die() { echo "bench-daemon: $*" >&2; exit 2; }
now() { date +%s.%N; }
elapsed() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", e - s }'; }
clk_tck=$(getconf CLK_TCK)
# cpu_ticks PID: utime + stime of the process (its own threads, not its children).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# rss_mb PID: VmRSS of the process alone.
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# cpu_snapshot: "busy total" jiffies of the whole machine; busy_percent A B: the machine's busy share
# between two snapshots, every process included (other users of shared cores too).
cpu_snapshot() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
busy_percent() { echo "$1 $2" | awk '{ printf "%.0f", ($3 - $1) / ($4 - $2) * 100 }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

for k in $PYTHON_PROCESSES; do
    [[ "$k" =~ ^[1-9][0-9]*$ ]] || die "PYTHON_PROCESSES: \"$k\" is not a process count"
done
[ -n "${PYTHON_PROCESSES// /}" ] || die "PYTHON_PROCESSES is empty"
for t in $TRANSPORTS; do
    [[ "$t" =~ ^[a-z0-9-]+$ ]] || die "TRANSPORTS: \"$t\" is not a transport name"
done

work=$(mktemp -d "$root/.build-bench-work.XXXXXX")
emulator_script_pid=""
emulator_pgid=""
horae_pid=""
python_pid=""
fleet_pids=()
postgres_script_pid=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$python_pid" ] && kill -0 "$python_pid" 2>/dev/null; then
        # the subscriber processes first (children of python_subscriber.py), then it
        for child in $(cat /proc/"$python_pid"/task/*/children 2>/dev/null || true); do kill -KILL "$child" 2>/dev/null || true; done
        kill -KILL "$python_pid" 2>/dev/null || true
    fi
    if [ -n "$horae_pid" ]; then stop_horae KILL; fi
    for pid in "${fleet_pids[@]}"; do horae_pid=$pid; stop_horae KILL; done
    if [ -n "$postgres_script_pid" ]; then kill -TERM "$postgres_script_pid" 2>/dev/null || true; wait "$postgres_script_pid" 2>/dev/null || true; fi
    if [ -n "$emulator_pgid" ]; then
        kill -TERM -- "-$emulator_pgid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$emulator_pgid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$emulator_pgid" 2>/dev/null || true
    fi
    if [ -n "$emulator_script_pid" ]; then kill -TERM "$emulator_script_pid" 2>/dev/null || true; wait "$emulator_script_pid" 2>/dev/null || true; fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

echo "== build"
horae="$SCRATCH/release/horae"
if [ ! -x "$horae" ] || [ "${BUILD:-0}" = 1 ]; then
    show swift build -c release --product horae --static-swift-stdlib --scratch-path "$SCRATCH"
    swift build -c release --product horae --static-swift-stdlib --scratch-path "$SCRATCH" 2>&1 | tail -n 2
fi
[ -x "$horae" ] || die "no horae binary at $horae"
horae=$(readlink -f "$horae")
newer=$(find Sources Package.swift -newer "$horae" -type f -print -quit)
echo "horae: $horae ($(date -r "$horae" '+%F %T'))"
[ -z "$newer" ] || echo "WARNING: $newer is newer than the binary; BUILD=1 rebuilds it"
if [ -n "${BASELINE:-}" ]; then
    [ -x "$BASELINE" ] || die "BASELINE=$BASELINE is not an executable"
    BASELINE=$(readlink -f "$BASELINE")
    echo "baseline: $BASELINE ($(date -r "$BASELINE" '+%F %T'))"
fi
echo "cpus: $(nproc), $(swift --version 2>/dev/null | sed -n 1p)"
s0=$(cpu_snapshot); sleep 2; s1=$(cpu_snapshot)
echo "machine before the benchmark: $(busy_percent "$s0" "$s1") % busy over 2 s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(the figures below share the cores with whatever else runs; each ratio compares runs made minutes apart)"

if [ "$ONLY_STORES" = 1 ]; then
    python=python3  # pubsub_rest.py needs the standard library only
else
    echo
    echo "== python"
    if [ ! -x "$VENV/bin/python" ]; then
        show python3 -m venv "$VENV"
        python3 -m venv "$VENV"
    fi
    if ! "$VENV/bin/python" -c "from importlib.metadata import version; assert version('google-cloud-pubsub') == '$PUBSUB_VERSION'" 2>/dev/null; then
        show "$VENV/bin/pip" install "google-cloud-pubsub==$PUBSUB_VERSION"
        "$VENV/bin/pip" install -q "google-cloud-pubsub==$PUBSUB_VERSION" || die "pip could not install google-cloud-pubsub"
    fi
    python="$VENV/bin/python"
    echo "$("$python" --version), google-cloud-pubsub $("$python" -c "from importlib.metadata import version; print(version('google-cloud-pubsub'))"), grpcio $("$python" -c "from importlib.metadata import version; print(version('grpcio'))")"
fi

echo
echo "== emulator"
port=$(free_port)
show scripts/pubsub-emulator.sh "$port"
mkfifo "$work/emulator.fifo"
scripts/pubsub-emulator.sh "$port" $$ >"$work/emulator.fifo" 2>"$work/emulator.err" &
emulator_script_pid=$!
read -r ready address emulator_pgid <"$work/emulator.fifo" || die "the emulator did not start: $(cat "$work/emulator.err")"
[ "$ready" = ready ] || die "unexpected emulator output: $ready $address"
echo "emulator at $address (process group $emulator_pgid)"
export PUBSUB_EMULATOR_HOST=$address
ps_rest() { "$python" scripts/bench/pubsub_rest.py "$address" "$PROJECT" "$@"; }

# new_project DIR RULES SUBSCRIPTION PULLS PER_PULL: a horae project directory; sets http_address.
new_project() {
    local dir=$1 rules=$2 subscription=$3 pulls=$4 per_pull=$5
    mkdir -p "$dir/rules"
    http_address="127.0.0.1:$(free_port)"
    sed -e "s|@SLEEP@|$SLEEP_SECONDS|g" "$rules" >"$dir/rules/bench.yaml"
    sed -e "s|@SUBSCRIPTION@|$subscription|" -e "s|@PULLS@|$pulls|" -e "s|@PER_PULL@|$per_pull|" \
        -e "s|@HTTP@|$http_address|" scripts/bench/horae.yaml.in >"$dir/horae.yaml"
}
start_horae() {  # start_horae DIR [BINARY]
    "${2:-$horae}" run --config "$1/horae.yaml" >"$1/horae.log" 2>&1 &
    horae_pid=$!
}
stop_horae() {  # stop_horae [SIGNAL]: stops the daemon, kills what is left of its children; sets horae_status
    local signal=${1:-TERM} children
    horae_status=""
    [ -n "$horae_pid" ] || return 0
    children=$(cat /proc/"$horae_pid"/task/*/children 2>/dev/null || true)
    kill -"$signal" "$horae_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$horae_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$horae_pid" 2>/dev/null || true
    set +e; wait "$horae_pid" 2>/dev/null; horae_status=$?; set -e
    for child in $children; do kill -KILL "$child" 2>/dev/null || true; done
    horae_pid=""
}
metric() { metric_at "$http_address" "$1"; }  # metric NAME: of the daemon at http_address
metric_at() {  # metric_at ADDRESS NAME: the sum of the series NAME, empty if /metrics does not answer (yet)
    { curl -s --max-time 2 "http://$1/metrics" 2>/dev/null || true; } |
        awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2; found = 1 } END { if (found) printf "%d\n", s }'
}
wait_serving() {  # wait_serving TIMEOUT_SECONDS: until /healthz answers (the daemon is up; /readyz waits for a first pull)
    local deadline=$((SECONDS + $1))
    until curl -sf --max-time 1 -o /dev/null "http://$http_address/healthz"; do
        kill -0 "$horae_pid" 2>/dev/null || return 1
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
# longest_pause FILE: the longest time, in lines "SECONDS ACKED", that a non-zero ACKED did not move
# (a run much slower than its CPU explains shows a pause here).
longest_pause() {
    awk '$2 > 0 && $2 == last { next } { if (last > 0 && $1 - since > m) m = $1 - since; since = $1; last = $2 }
         END { printf "%.2f", m }' "$1"
}
log_problems() {  # log_problems LOG: warning-or-worse lines of a JSON daemon log
    grep -cE '"severity":"(WARNING|ERROR|CRITICAL|ALERT|EMERGENCY)"' "$1" || true
}

echo
echo "== setup: topics and subscriptions; every backlog is published just before its consumer starts"
subscriptions=()  # every subscription a throughput consumer (warm-ups included) drains, for the drained check
ps_rest topic bench-idle
ps_rest subscription idle bench-idle 10
ps_rest topic bench-outstanding
ps_rest subscription outstanding bench-outstanding 10
# backlog SUBSCRIPTION COUNT: topic bench-SUBSCRIPTION with the one subscription, COUNT messages on it
# (the same COUNT messages every time: pubsub_rest.py numbers them from 0).
backlog() {
    ps_rest topic "bench-$1"
    ps_rest subscription "$1" "bench-$1" 10
    show "$python" scripts/bench/pubsub_rest.py "$address" "$PROJECT" publish "bench-$1" "$2" 1000 4
    ps_rest publish "bench-$1" "$2" 1000 4
}

emulator_cpu() { cpu_ticks "$emulator_pgid" 2>/dev/null || echo 0; }
cpu_seconds() { awk -v a="$1" -v b="$2" -v t="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / t }'; }

# json_field JSON NAME DEFAULT: field NAME of the JSON object, DEFAULT if it has none.
json_field() { "$python" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2" 2>/dev/null || echo "$3"; }
# consume_python SUBSCRIPTION COUNT LABEL PROCESSES: PROCESSES Python subscriber processes on
# SUBSCRIPTION, started together, until they received COUNT; sets py_rate, py_cpu_us (their CPU over
# the drain, summed, per message) and py_emulator_s (the emulator's CPU seconds over the drain).
consume_python() {
    local subscription=$1 count=$2 label=$3 processes=$4 m0 m1 py_status result py_seconds py_cpu py_startup_cpu
    show "$python" scripts/bench/python_subscriber.py "$PROJECT" "$subscription" "$count" 300 "$processes" "$emulator_pgid"
    m0=$(cpu_snapshot)
    set +e
    "$python" scripts/bench/python_subscriber.py "$PROJECT" "$subscription" "$count" 300 "$processes" "$emulator_pgid" \
        >"$work/$subscription.json" 2>"$work/$subscription.err" &
    python_pid=$!
    wait "$python_pid"
    py_status=$?
    set -e
    m1=$(cpu_snapshot)
    python_pid=""
    result=$(tail -n 1 "$work/$subscription.json")
    [ "$py_status" -eq 0 ] || { echo "python subscribers failed (exit $py_status):"; tail -n 5 "$work/$subscription.err"; }
    echo "$result"
    py_seconds=$(json_field "$result" seconds 0)
    py_cpu=$(json_field "$result" cpu_seconds 0)
    py_startup_cpu=$(json_field "$result" cpu_seconds_with_startup "?")
    py_emulator_s=$(json_field "$result" emulator_cpu_seconds 0)
    if [ "$py_status" -eq 0 ]; then
        py_rate=$(json_field "$result" rate 0)
        py_cpu_us=$(json_field "$result" cpu_us_per_message 0)
    else
        py_rate=0
        py_cpu_us=0
    fi
    echo "$label: $count received in ${py_seconds} s = ${py_rate} messages/s by $processes process(es), from their common start (subscriber CPU over the drain ${py_cpu} s = ${py_cpu_us} µs per message, all $processes together; ${py_startup_cpu} s with their start-up; emulator CPU ${py_emulator_s} s over the drain, machine $(busy_percent "$m0" "$m1") % busy)"
}

# consume_horae SUBSCRIPTION COUNT LABEL [TRANSPORT [BINARY]]: runs `horae run` (or BINARY), with
# `transport: TRANSPORT` in its config unless TRANSPORT is empty, until COUNT are acked; sets h_rate,
# h_cpu_us (daemon CPU microseconds per message), h_emulator_s (the emulator's CPU seconds over the
# drain) and h_exited (the daemon's exit status if it stopped by itself before acking COUNT, else
# empty; h_log: its log).
consume_horae() {
    local subscription=$1 count=$2 label=$3 transport=${4:-} binary=${5:-$horae} dir e0 e1 m0 m1 t0 t1 acked deadline h_cpu h_rss pulled high h_seconds
    local tr="" ar=0 cr=0 answer h_total_seconds h_total_cpu_us
    dir="$work/$subscription"
    new_project "$dir" scripts/bench/rules-noop.yaml "$subscription" "$PULLS" "$PER_PULL"
    [ -z "$transport" ] || echo "transport: $transport" >>"$dir/horae.yaml"
    h_log="$dir/horae.log"
    h_exited=""
    if [ "$binary" != "$horae" ]; then
        # A baseline from before `taskLog` refuses the key; it logged its task lines at debug anyway.
        sed -i '/^ *taskLog:/d' "$dir/rules/bench.yaml"
    fi
    show "$binary" run --config "$dir/horae.yaml"
    e0=$(emulator_cpu)
    m0=$(cpu_snapshot)
    t0=$(now)
    start_horae "$dir" "$binary"
    acked=0
    t1=""
    deadline=$((SECONDS + 300))
    while kill -0 "$horae_pid" 2>/dev/null; do
        answer=$(metric horae_messages_acked_total)
        acked=${answer:-0}
        if [ -z "$tr" ] && [ -n "$answer" ]; then
            # Start-up done (/metrics answers): the clock and the CPU count of the drain start here,
            # as the Python fleet's start once its processes have made their clients.
            tr=$(now)
            ar=$acked
            cr=$(cpu_ticks "$horae_pid" 2>/dev/null || echo 0)
        fi
        echo "$(elapsed "$t0" "$(now)") $acked" >>"$dir/progress.txt"
        if [ "$acked" -ge "$count" ]; then t1=$(now); break; fi
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.05
    done
    kill -0 "$horae_pid" 2>/dev/null || [ -n "$t1" ] || h_exited=stopped
    h_cpu=$(cpu_ticks "$horae_pid" 2>/dev/null || echo 0)
    h_total_cpu_us=$(awk -v c="$h_cpu" -v t="$clk_tck" -v n="$count" 'BEGIN { printf "%.1f", c / t / n * 1e6 }')
    h_cpu_us=$(awk -v c="$h_cpu" -v r="$cr" -v t="$clk_tck" -v n="$count" -v a="$ar" \
        'BEGIN { printf "%.1f", (c - r) / t / (n - a) * 1e6 }')
    h_rss=$(rss_mb "$horae_pid" 2>/dev/null || echo "?")
    e1=$(emulator_cpu)
    m1=$(cpu_snapshot)
    pulled=$(metric horae_messages_pulled_total)
    high=$(metric horae_outstanding_messages_max)
    stop_horae TERM
    [ -z "$h_exited" ] || h_exited=$horae_status
    h_emulator_s=$(cpu_seconds "$e0" "$e1")
    if [ -n "$t1" ]; then
        h_total_seconds=$(elapsed "$t0" "$t1")
        h_seconds=$(elapsed "$tr" "$t1")
        h_rate=$(awk -v n="$count" -v a="$ar" -v s="$h_seconds" 'BEGIN { printf "%.0f", (n - a) / s }')
    else
        h_seconds="timeout"
        [ -z "$h_exited" ] || h_seconds="(stopped by itself)"
        h_rate=0
        echo "horae did not ack $count messages (acked: $acked); log tail:"
        tail -n 5 "$dir/horae.log"
    fi
    echo "$label: $((count - ar)) acked in ${h_seconds} s = ${h_rate} messages/s, from the end of start-up (/metrics answers, $ar acked by then) to horae_messages_acked_total = $count, daemon CPU over that drain ${h_cpu_us} µs per message (from process start: ${h_total_seconds:-?} s, $(cpu_seconds 0 "$h_cpu") s of CPU = ${h_total_cpu_us} µs per message; pulled $pulled, outstanding high-water $high, RSS ${h_rss} MB, emulator CPU ${h_emulator_s} s, machine $(busy_percent "$m0" "$m1") % busy; exit status after SIGTERM $horae_status, warning+ log lines $(log_problems "$dir/horae.log"))"
    echo "$label: longest pause in acks once they had started: $(longest_pause "$dir/progress.txt") s (samples every ~0.05 s: $dir/progress.txt)"
}

# The transports of TRANSPORTS this binary takes: the `transport` key of its config schema, and
# the names it allows there. transport_key[NAME]: the value of the config's `transport:` line, or
# empty (a binary without the key: REST, its only transport, with no line); transport_refused[NAME]:
# why the binary does not support it. The warm-up refuses a transport whose daemon stops by itself
# (it refused its config) or acks nothing.
declare -A transport_key=() transport_refused=()
transports=()
schema_transports=$("$horae" schema config 2>/dev/null | python3 -c '
import json, sys
try:
    properties = json.load(sys.stdin).get("properties", {})
except ValueError:
    print("?"); sys.exit()
if "transport" not in properties:
    print("-")
else:
    node = properties["transport"]
    names = node.get("enum") or [v.get("const") for v in node.get("oneOf", []) + node.get("anyOf", []) if "const" in v]
    print(" ".join(names) if names else "*")
' || echo "?")
for t in $TRANSPORTS; do
    case $schema_transports in
        "-") if [ "$t" = rest ]; then transport_key[$t]=""; transports+=("$t")
             else transport_refused[$t]="its config has no transport key"; fi ;;
        # No list of names (or no schema): the warm-up tells; REST, every binary's, with no line.
        "?") if [ "$t" = rest ]; then transport_key[$t]=""; else transport_key[$t]=$t; fi; transports+=("$t") ;;
        "*") transport_key[$t]=$t; transports+=("$t") ;;
        *) if [[ " $schema_transports " == *" $t "* ]]; then transport_key[$t]=$t; transports+=("$t")
           else transport_refused[$t]="its config's transport takes: $schema_transports"; fi ;;
    esac
done
echo
echo "== transports: $TRANSPORTS asked; this binary's config schema says: $(case $schema_transports in
    "-") echo "no transport key (REST only; horae runs with no transport line)" ;;
    "*") echo "a transport key without a list of names" ;;
    "?") echo "nothing (horae schema config did not answer; REST runs with no transport line)" ;;
    *) echo "transport: $schema_transports" ;; esac)"
for t in $TRANSPORTS; do
    if [ -n "${transport_refused[$t]:-}" ]; then echo "$t: not supported by this binary (${transport_refused[$t]})"; fi
done
# refuse_transport NAME REASON: drops NAME from the transports measured.
refuse_transport() {
    local t kept=()
    transport_refused[$1]=$2
    for t in "${transports[@]}"; do [ "$t" = "$1" ] || kept+=("$t"); done
    transports=("${kept[@]}")
    echo "$1: not supported by this binary ($2)"
}

# consumer_line NAME RATE CPU_US EMULATOR_S [RATIO]: the one line of a consumer.
consumer_line() {
    printf '%-16s %8s messages/s  %7s µs CPU per message  emulator CPU %7s s%s\n' "$1" "$2" "$3" "$4" "${5:+  $5}"
}
max_k=$(tr -s ' ' '\n' <<<"$PYTHON_PROCESSES" | sort -n | tail -n 1)
echo
echo "== warm-up (not counted), the same for every consumer: one emulator serves them all, and before the first"
echo "   measured drain it is warmed through every path any of them uses (it is a JVM whose REST path costs over twice"
echo "   the CPU until its JIT has compiled it, and the consumers share the cores with it)"
if [ "$ONLY_STORES" = 1 ]; then
    echo "   $WARMUP_HORAE messages through horae on its default transport (the store runs use it)"
    backlog warmup-horae "$WARMUP_HORAE"
    subscriptions+=(warmup-horae)
    consume_horae warmup-horae "$WARMUP_HORAE" "horae warm-up"
else
    echo "   $WARMUP_PYTHON messages through the Python fleet of $max_k processes (streaming pull), then $WARMUP_HORAE through horae on each"
    echo "   transport (${transports[*]:-none}); then every consumer is measured on this warm emulator, each on a fresh backlog of its own"
    backlog warmup-python "$WARMUP_PYTHON"
    subscriptions+=(warmup-python)
    consume_python warmup-python "$WARMUP_PYTHON" "python warm-up, $max_k process(es)" "$max_k"
    for t in "${transports[@]}"; do
        backlog "warmup-horae-$t" "$WARMUP_HORAE"
        consume_horae "warmup-horae-$t" "$WARMUP_HORAE" "horae warm-up, transport $t" "${transport_key[$t]}"
        # (a refused transport's warm-up backlog stays where it is: it is not checked for drained)
        if [ -n "$h_exited" ]; then
            refuse_transport "$t" "horae run stopped by itself with exit status $h_exited: $(grep -m 1 -iE 'error|transport' "$h_log" | sed 's/^[^ ]*:[0-9]*:[0-9]*: //' | cut -c 1-160)"
        elif [ "$(tail -n 1 "$work/warmup-horae-$t/progress.txt" 2>/dev/null | cut -d' ' -f2)" = 0 ]; then
            refuse_transport "$t" "horae run acked nothing in its warm-up"
        else
            subscriptions+=("warmup-horae-$t")
        fi
    done
fi

# The throughput runs; per consumer (python-K, horae-TRANSPORT), over the runs: the sums of
# messages/s, CPU µs per message and emulator CPU seconds.
declare -A rate_sum=() cpu_sum=() emulator_sum=()
consumers=()
record() {  # record CONSUMER RATE CPU_US EMULATOR_S
    [ -n "${rate_sum[$1]:-}" ] || consumers+=("$1")
    rate_sum[$1]=$(awk -v a="${rate_sum[$1]:-0}" -v b="$2" 'BEGIN { print a + b }')
    cpu_sum[$1]=$(awk -v a="${cpu_sum[$1]:-0}" -v b="$3" 'BEGIN { print a + b }')
    emulator_sum[$1]=$(awk -v a="${emulator_sum[$1]:-0}" -v b="$4" 'BEGIN { print a + b }')
}
ratio_of() { awk -v h="$1" -v p="$2" 'BEGIN { if (p > 0) printf "%.2f", h / p; else print "0" }'; }
horae_cpu_us=()     # of the first transport measured, per run (against BASELINE)
baseline_cpu_us=()
consume_baseline() {  # consume_baseline RUN: the BASELINE binary on a backlog of its own
    echo
    echo "== throughput run $1: baseline $BASELINE, its default transport (subscription baseline-$1)"
    backlog "baseline-$1" "$MESSAGES"
    subscriptions+=("baseline-$1")
    consume_horae "baseline-$1" "$MESSAGES" "baseline run $1" "" "$BASELINE"
    baseline_cpu_us+=("$h_cpu_us")
}
if [ "$ONLY_STORES" != 1 ]; then
    for run in $(seq 1 "$RUNS"); do
        run_lines=()
        best_py=0
        for k in $PYTHON_PROCESSES; do
            echo
            echo "== throughput run $run: Python google-cloud-pubsub subscribers, $k process(es) on one subscription (python-$k-$run)"
            backlog "python-$k-$run" "$MESSAGES"
            subscriptions+=("python-$k-$run")
            consume_python "python-$k-$run" "$MESSAGES" "python run $run, $k process(es)" "$k"
            record "python-$k" "$py_rate" "$py_cpu_us" "$py_emulator_s"
            run_lines+=("$(consumer_line "python-$k" "$py_rate" "$py_cpu_us" "$py_emulator_s")")
            best_py=$(awk -v a="$best_py" -v b="$py_rate" 'BEGIN { print (b > a) ? b : a }')
        done
        if [ -n "${BASELINE:-}" ] && [ $((run % 2)) -eq 1 ]; then consume_baseline "$run"; fi
        for t in "${transports[@]}"; do
            echo
            echo "== throughput run $run: horae run, transport $t (subscription horae-$t-$run, concurrentPulls $PULLS, maxMessagesPerPull $PER_PULL)"
            backlog "horae-$t-$run" "$MESSAGES"
            subscriptions+=("horae-$t-$run")
            consume_horae "horae-$t-$run" "$MESSAGES" "horae run $run, transport $t" "${transport_key[$t]}"
            record "horae-$t" "$h_rate" "$h_cpu_us" "$h_emulator_s"
            run_lines+=("$(consumer_line "horae-$t" "$h_rate" "$h_cpu_us" "$h_emulator_s" "horae / best Python $(ratio_of "$h_rate" "$best_py")x")")
            [ "$t" != "${transports[0]}" ] || horae_cpu_us+=("$h_cpu_us")
        done
        if [ -n "${BASELINE:-}" ] && [ $((run % 2)) -eq 0 ]; then consume_baseline "$run"; fi
        echo
        echo "== throughput run $run, one line per consumer (best Python: $best_py messages/s)"
        printf '%s\n' "${run_lines[@]}"
    done
fi
throughput_done=$(now)

# The store dimension: PostgreSQL with production durability beside the emulator, then, per run,
# one daemon on SQLite, one on PostgreSQL and FLEET on PostgreSQL, each on a backlog of its own.
# consume_store SUBSCRIPTION COUNT LABEL STATE DAEMONS: DAEMONS `horae run` with `state: STATE`
# (sqlite: a data directory of each daemon's own) pull SUBSCRIPTION until together they acked
# COUNT; sets s_rate, s_cpu_us (all daemons' CPU µs per message) and s_pg_us (the server's).
consume_store() {
    local subscription=$1 count=$2 label=$3 state=$4 daemons=$5 i dir daemon_address pid addresses=() acked t0 t1 p0 p1 e0 e1 m0 m1 cpu=0 deadline s_seconds statuses="" problems=0
    for i in $(seq 1 "$daemons"); do
        dir="$work/$subscription-$i"
        new_project "$dir" scripts/bench/rules-dedup.yaml "$subscription" "$PULLS" "$PER_PULL"
        [ "$state" = sqlite ] || sed -i "s|^state: .*|state: $state|" "$dir/horae.yaml"
        addresses+=("$http_address")
        show "$horae" run --config "$dir/horae.yaml"
    done
    p0=$(postgres_cpu)
    e0=$(emulator_cpu)
    m0=$(cpu_snapshot)
    t0=$(now)
    fleet_pids=()
    for i in $(seq 1 "$daemons"); do
        dir="$work/$subscription-$i"
        "$horae" run --config "$dir/horae.yaml" >"$dir/horae.log" 2>&1 &
        fleet_pids+=($!)
    done
    t1=""
    acked=0
    deadline=$((SECONDS + 300))
    while [ "$SECONDS" -lt "$deadline" ]; do
        acked=0
        for daemon_address in "${addresses[@]}"; do
            i=$(metric_at "$daemon_address" horae_messages_acked_total)
            acked=$((acked + ${i:-0}))
        done
        echo "$(elapsed "$t0" "$(now)") $acked" >>"$work/$subscription-1/progress.txt"
        if [ "$acked" -ge "$count" ]; then t1=$(now); break; fi
        sleep 0.05
    done
    for pid in "${fleet_pids[@]}"; do cpu=$((cpu + $(cpu_ticks "$pid" 2>/dev/null || echo 0))); done
    e1=$(emulator_cpu)
    m1=$(cpu_snapshot)
    for pid in "${fleet_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${fleet_pids[@]}"; do horae_pid=$pid; stop_horae TERM; statuses="$statuses $horae_status"; done
    fleet_pids=()
    sleep 0.5  # the daemons' closed connections: their backends exit and are reaped
    p1=$(postgres_cpu)
    for i in $(seq 1 "$daemons"); do problems=$((problems + $(log_problems "$work/$subscription-$i/horae.log"))); done
    s_cpu_us=$(awk -v c="$cpu" -v t="$clk_tck" -v n="$count" 'BEGIN { printf "%.1f", c / t / n * 1e6 }')
    s_pg_us=$(awk -v a="$p0" -v b="$p1" -v t="$clk_tck" -v n="$count" 'BEGIN { printf "%.1f", (b - a) / t / n * 1e6 }')
    if [ -n "$t1" ]; then
        s_seconds=$(elapsed "$t0" "$t1")
        s_rate=$(awk -v n="$count" -v s="$s_seconds" 'BEGIN { printf "%.0f", n / s }')
    else
        s_seconds="timeout"
        s_rate=0
        echo "$label: did not ack $count messages (acked: $acked); log tail:"
        tail -n 5 "$work/$subscription-1/horae.log"
    fi
    echo "$label: $count acked in ${s_seconds} s = ${s_rate} messages/s, from the processes' start to their horae_messages_acked_total summing to $count (horae CPU $(cpu_seconds 0 "$cpu") s = ${s_cpu_us} µs per message, all $daemons daemon(s) together; PostgreSQL server CPU $(cpu_seconds "$p0" "$p1") s = ${s_pg_us} µs per message; emulator CPU $(cpu_seconds "$e0" "$e1") s, machine $(busy_percent "$m0" "$m1") % busy; exit statuses after SIGTERM$statuses, warning+ log lines $problems)"
}
# postgres_cpu: CPU ticks of the PostgreSQL server so far (0 without one): every process of its
# process group (postgres-server.sh starts it in a session of its own), with the time of the
# children each has reaped (the backends of closed connections, reaped by the postmaster).
postgres_cpu() {
    local total=0 pid ticks
    [ -n "$postgres_pid" ] || { echo 0; return; }
    for pid in $(pgrep -g "$postgres_pid"); do
        ticks=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }')
        total=$((total + ${ticks:-0}))
    done
    echo "$total"
}
# postgres_client NAME: a PostgreSQL client program where scripts/postgres-server.sh finds the server.
postgres_client() {
    local dir
    for dir in ${HORAE_POSTGRES_BIN:-} $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$dir/$1" ] && { echo "$dir/$1"; return; }
    done
    command -v "$1"
}
postgres_pid=""
store_sqlite_cpu=()
store_sqlite_rates=()
store_pg_cpu=()
store_pg_rates=()
store_fleet_cpu=()
store_fleet_rates=()
if [ "$STORES" = 1 ]; then
    echo
    echo "== stores: PostgreSQL with production durability (fsync on), same emulator"
    pg_port=$(free_port)
    show HORAE_POSTGRES_DURABLE=1 scripts/postgres-server.sh "$pg_port"
    mkfifo "$work/postgres.fifo"
    HORAE_POSTGRES_DURABLE=1 scripts/postgres-server.sh "$pg_port" $$ >"$work/postgres.fifo" 2>"$work/postgres.err" &
    postgres_script_pid=$!
    read -r ready pg_address postgres_pid <"$work/postgres.fifo" || die "PostgreSQL did not start (STORES=0 skips the store dimension): $(cat "$work/postgres.err")"
    [ "$ready" = ready ] || die "unexpected postgres-server.sh output: $ready"
    psql_bin=$(postgres_client psql)
    echo "PostgreSQL $("$psql_bin" -X -At -h 127.0.0.1 -p "$pg_port" -U postgres -c 'SHOW server_version') at $pg_address (process group $postgres_pid)"
    for run in $(seq 1 "$STORE_RUNS"); do
        for variant in sqlite postgres fleet; do
            case $variant in
                sqlite) state=sqlite; daemons=1; what="one daemon, SQLite" ;;
                postgres) state=postgres; daemons=1; what="one daemon, PostgreSQL" ;;
                fleet) state=postgres; daemons=$FLEET; what="$FLEET daemons, one PostgreSQL database, one subscription" ;;
            esac
            echo
            echo "== store run $run: $what (subscription store-$variant-$run, rules-dedup.yaml)"
            if [ "$state" = postgres ]; then
                "$psql_bin" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE DATABASE store_${variant}_$run"
                state="postgres://postgres@$pg_address/store_${variant}_$run?sslmode=disable"
            fi
            backlog "store-$variant-$run" "$STORE_MESSAGES"
            subscriptions+=("store-$variant-$run")
            consume_store "store-$variant-$run" "$STORE_MESSAGES" "store run $run, $what" "$state" "$daemons"
            case $variant in
                sqlite) store_sqlite_cpu+=("$s_cpu_us"); store_sqlite_rates+=("$s_rate") ;;
                postgres) store_pg_cpu+=("$s_cpu_us"); store_pg_rates+=("$s_rate") ;;
                fleet) store_fleet_cpu+=("$s_cpu_us"); store_fleet_rates+=("$s_rate") ;;
            esac
        done
    done
    throughput_done=$(now)
fi

if [ "$ONLY_STORES" != 1 ]; then
    echo
    echo "== idle: horae run with nothing to pull for ${IDLE_SECONDS} s (subscription idle)"
    dir="$work/idle"
    new_project "$dir" scripts/bench/rules-noop.yaml idle "$PULLS" "$PER_PULL"
    show "$horae" run --config "$dir/horae.yaml"
    start_horae "$dir"
    wait_serving 30 || die "the idle daemon did not become ready; $(tail -n 3 "$dir/horae.log")"
    sleep 2
    c0=$(cpu_ticks "$horae_pid")
    m0=$(cpu_snapshot)
    i0=$(now)
    sleep "$IDLE_SECONDS"
    c1=$(cpu_ticks "$horae_pid")
    m1=$(cpu_snapshot)
    i1=$(now)
    idle_rss=$(rss_mb "$horae_pid")
    idle_cpu=$(awk -v a="$c0" -v b="$c1" -v t="$clk_tck" -v s="$(elapsed "$i0" "$i1")" 'BEGIN { printf "%.2f", (b - a) / t / s * 100 }')
    idle_threads=$(awk '/^Threads:/ { print $2 }' "/proc/$horae_pid/status")
    stop_horae TERM
    echo "idle: CPU ${idle_cpu} % of one core over $(elapsed "$i0" "$i1") s (utime+stime $(cpu_seconds "$c0" "$c1") s, /proc/PID/stat), RSS ${idle_rss} MB (VmRSS), $idle_threads threads, machine $(busy_percent "$m0" "$m1") % busy; exit status after SIGTERM $horae_status"

    # The Python library leases with a 60 s stream ack deadline: only once that has run out does a
    # pull show a message whose ack was lost.
    since=$(awk -v s="$throughput_done" -v n="$(now)" 'BEGIN { printf "%d", n - s }')
    [ "$since" -ge 65 ] || sleep $((65 - since))
    echo
    echo "== drained: every throughput subscription, pulled once (past the ack deadlines: $(elapsed "$throughput_done" "$(now)") s after the last consumer)"
    show "$python" scripts/bench/pubsub_rest.py "$address" "$PROJECT" drained "${subscriptions[@]}"
    set +e
    ps_rest drained "${subscriptions[@]}"
    drained_status=$?
    set -e

    echo
    echo "== ${OUTSTANDING_TARGET} outstanding: exec /bin/sleep $SLEEP_SECONDS per message, $OUTSTANDING_PUBLISHED published (subscription outstanding, concurrentPulls $OUTSTANDING_PULLS, maxMessagesPerPull $OUTSTANDING_PER_PULL)"
    dir="$work/outstanding"
    new_project "$dir" scripts/bench/rules-sleep.yaml outstanding "$OUTSTANDING_PULLS" "$OUTSTANDING_PER_PULL"
    show "$horae" run --config "$dir/horae.yaml"
    start_horae "$dir"
    wait_serving 30 || die "the daemon did not become ready; $(tail -n 3 "$dir/horae.log")"
    ps_rest publish bench-outstanding "$OUTSTANDING_PUBLISHED" 500 1
    o0=$(now)
    outstanding=0
    running=0
    deadline=$((SECONDS + 40))
    until [ "$outstanding" -ge "$OUTSTANDING_TARGET" ] && [ "$running" -ge "$OUTSTANDING_TARGET" ]; do
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.2
        outstanding=$(metric horae_outstanding_messages); outstanding=${outstanding:-0}
        running=$(metric horae_running_tasks); running=${running:-0}
    done
    sleep 1  # let the last children start
    outstanding=$(metric horae_outstanding_messages); outstanding=${outstanding:-0}
    running=$(metric horae_running_tasks); running=${running:-0}
    outstanding_rss=$(rss_mb "$horae_pid")
    outstanding_threads=$(awk '/^Threads:/ { print $2 }' "/proc/$horae_pid/status")
    outstanding_fds=$(ls "/proc/$horae_pid/fd" | wc -l)
    children=$({ cat /proc/"$horae_pid"/task/*/children 2>/dev/null || true; } | wc -w)
    reached=$(elapsed "$o0" "$(now)")
    stop_horae TERM
    echo "outstanding: horae_outstanding_messages $outstanding, horae_running_tasks $running, $children child processes, after ${reached} s; daemon RSS ${outstanding_rss} MB (VmRSS of the daemon alone), $outstanding_threads threads, $outstanding_fds fds; exit status after SIGTERM $horae_status"
fi

echo
echo "== results"
if [ "$ONLY_STORES" != 1 ]; then
    echo "one line per consumer, the mean of $RUNS run(s), each consumer on a fresh backlog of $MESSAGES of its own, all on one"
    echo "emulator given the same warm-up before the first measured drain (CPU: the Python processes' summed over the drain;"
    echo "the daemon's from the end of its start-up to the last ack; emulator CPU: over the consumer's drain)"
    best_py=0
    best_py_name=""
    for c in "${consumers[@]}"; do
        [[ "$c" == python-* ]] || continue
        rate=$(awk -v s="${rate_sum[$c]}" -v n="$RUNS" 'BEGIN { printf "%.0f", s / n }')
        consumer_line "$c" "$rate" "$(awk -v s="${cpu_sum[$c]}" -v n="$RUNS" 'BEGIN { printf "%.1f", s / n }')" \
            "$(awk -v s="${emulator_sum[$c]}" -v n="$RUNS" 'BEGIN { printf "%.2f", s / n }')"
        if awk -v a="$rate" -v b="$best_py" 'BEGIN { exit !(a > b) }'; then best_py=$rate; best_py_name=$c; fi
    done
    echo "best Python: ${best_py_name:-none} (K = ${best_py_name#python-}), $best_py messages/s"
    best_h=0
    best_h_name=""
    best_h_cpu=""
    for c in "${consumers[@]}"; do
        [[ "$c" == horae-* ]] || continue
        rate=$(awk -v s="${rate_sum[$c]}" -v n="$RUNS" 'BEGIN { printf "%.0f", s / n }')
        cpu=$(awk -v s="${cpu_sum[$c]}" -v n="$RUNS" 'BEGIN { printf "%.1f", s / n }')
        consumer_line "$c" "$rate" "$cpu" "$(awk -v s="${emulator_sum[$c]}" -v n="$RUNS" 'BEGIN { printf "%.2f", s / n }')" \
            "horae / best Python $(ratio_of "$rate" "$best_py")x"
        if [ -z "$best_h_name" ] || awk -v a="$rate" -v b="$best_h" 'BEGIN { exit !(a > b) }'; then
            best_h=$rate; best_h_name=$c; best_h_cpu=$cpu
        fi
    done
    for t in $TRANSPORTS; do
        if [ -n "${transport_refused[$t]:-}" ]; then echo "$t: not supported by this binary (${transport_refused[$t]})"; fi
    done
    if [ -n "$best_h_name" ]; then
        ratio=$(ratio_of "$best_h" "$best_py")
        verdict "$(awk -v r="$ratio" -v t="$MIN_RATIO" 'BEGIN { print (r >= t) ? "OK" : "FAIL" }')" \
            "throughput: horae on its best transport (${best_h_name#horae-}) $best_h messages/s, best Python ($best_py_name) $best_py messages/s: ${ratio}x (target >= ${MIN_RATIO}x)"
        verdict "$(awk -v c="$best_h_cpu" -v t="$MAX_HORAE_CPU_US" 'BEGIN { print (c > 0 && c <= t) ? "OK" : "FAIL" }')" \
            "horae CPU per message on ${best_h_name#horae-}: $best_h_cpu µs (target <= $MAX_HORAE_CPU_US µs)"
    else
        verdict FAIL "throughput: no transport of \"$TRANSPORTS\" that this binary supports"
    fi
    if [ -n "${BASELINE:-}" ]; then
        for run in $(seq 1 "$RUNS"); do
            i=$((run - 1))
            echo "CPU per message, run $run: horae (${transports[0]:-none}) ${horae_cpu_us[$i]:-?} µs, baseline ${baseline_cpu_us[$i]} µs: $(awk -v h="${horae_cpu_us[$i]:-0}" -v b="${baseline_cpu_us[$i]}" 'BEGIN { if (b > 0) printf "%.2f", h / b; else print "n/a" }')x the baseline's"
        done
    fi
    verdict "$([ "$drained_status" -eq 0 ] && echo OK || echo FAIL)" "every throughput subscription drained (nothing left unacknowledged)"
    verdict "$(awk -v c="$idle_cpu" -v t="$IDLE_MAX_CPU_PERCENT" 'BEGIN { print (c < t) ? "OK" : "FAIL" }')" "idle CPU: ${idle_cpu} % (target < ${IDLE_MAX_CPU_PERCENT} %)"
    verdict "$(awk -v m="$idle_rss" -v t="$IDLE_MAX_MB" 'BEGIN { print (m < t) ? "OK" : "FAIL" }')" "idle RSS: ${idle_rss} MB (target < ${IDLE_MAX_MB} MB)"
    verdict "$([ "$outstanding" -ge "$OUTSTANDING_TARGET" ] && echo OK || echo FAIL)" "${outstanding} messages outstanding (wanted ${OUTSTANDING_TARGET})"
    verdict "$(awk -v m="$outstanding_rss" -v t="$OUTSTANDING_MAX_MB" 'BEGIN { print (m < t) ? "OK" : "FAIL" }')" "RSS with ${outstanding} outstanding: ${outstanding_rss} MB (target < ${OUTSTANDING_MAX_MB} MB)"
fi
for run in $(seq 1 "$STORE_RUNS"); do
    [ "$STORES" = 1 ] || break
    i=$((run - 1))
    cpu_ratio=$(awk -v p="${store_pg_cpu[$i]}" -v s="${store_sqlite_cpu[$i]}" 'BEGIN { if (s > 0) printf "%.2f", p / s; else print "99" }')
    verdict "$(awk -v r="$cpu_ratio" -v t="$POSTGRES_MAX_CPU_RATIO" 'BEGIN { print (r <= t) ? "OK" : "FAIL" }')" \
        "store run $run: horae CPU per message on PostgreSQL ${store_pg_cpu[$i]} µs, on SQLite ${store_sqlite_cpu[$i]} µs: ${cpu_ratio}x (target <= ${POSTGRES_MAX_CPU_RATIO}x)"
    fleet_ratio=$(awk -v f="${store_fleet_rates[$i]}" -v o="${store_pg_rates[$i]}" 'BEGIN { if (o > 0) printf "%.2f", f / o; else print "0" }')
    verdict "$(awk -v r="$fleet_ratio" -v t="$FLEET_MIN_RATIO" 'BEGIN { print (r >= t) ? "OK" : "FAIL" }')" \
        "store run $run: $FLEET daemons on PostgreSQL ${store_fleet_rates[$i]} messages/s (${store_fleet_cpu[$i]} µs CPU per message together), one ${store_pg_rates[$i]} messages/s: ${fleet_ratio}x (target >= ${FLEET_MIN_RATIO}x; one on SQLite: ${store_sqlite_rates[$i]} messages/s)"
done
if [ "$failures" -gt 0 ]; then
    echo "bench-daemon: $failures check(s) failed"
    exit 1
fi
echo "bench-daemon: all checks passed"
