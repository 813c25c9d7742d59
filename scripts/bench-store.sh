#!/usr/bin/env bash
# Benchmarks the state stores without Pub/Sub: whole task lifecycles per second (read, dedup claim,
# attempt started, progress after the first action, succeeded with the dedup key completed: five
# store calls, each a transaction, as the daemon makes them for a two-action rule with `dedup:`),
# against SQLite and against PostgreSQL, with 1, 4 and 16 concurrent clients.
#   1. builds horae-store-bench (Benchmarks/, release) into Benchmarks/.build;
#   2. starts a throwaway PostgreSQL with production durability (scripts/postgres-server.sh with
#      HORAE_POSTGRES_DURABLE=1: fsync, synchronous commit, full page writes) on a free port, its
#      cluster in a temporary directory on the same disk as the SQLite store (.build-bench-work.*,
#      SQLite in WAL mode with synchronous=FULL, as the daemon runs it);
#   3. for each store and client count: lifecycles/s, the client's CPU µs per lifecycle and, for
#      PostgreSQL, the server's (every backend's) CPU µs per lifecycle.
# Environment: CLIENTS (1,4,16), SECONDS_EACH (10), STORES (sqlite,postgres), KEEP_WORK=1.
# Prints every figure with the command that produced it. Exit status 0, or 2 when it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

CLIENTS=${CLIENTS:-1,4,16}
SECONDS_EACH=${SECONDS_EACH:-10}
STORES=${STORES:-sqlite,postgres}

show() { printf '$ %s\n' "$*"; }
die() { echo "bench-store: $*" >&2; exit 2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
clk_tck=$(getconf CLK_TCK)
# group_cpu_ticks PGID: CPU ticks of every process of the process group (the server:
# postgres-server.sh starts it in a session of its own), with the time of the children each has
# reaped (the backends of closed connections, reaped by the postmaster).
group_cpu_ticks() {
    local total=0 pid ticks
    for pid in $(pgrep -g "$1"); do
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
cpu_snapshot() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
busy_percent() { echo "$1 $2" | awk '{ printf "%.0f", ($3 - $1) / ($4 - $2) * 100 }'; }

work=$(mktemp -d "$root/.build-bench-work.XXXXXX")
postgres_script_pid=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$postgres_script_pid" ]; then kill -TERM "$postgres_script_pid" 2>/dev/null || true; wait "$postgres_script_pid" 2>/dev/null || true; fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

echo "== build"
show swift build -c release --package-path Benchmarks --product horae-store-bench
swift build -c release --package-path Benchmarks --product horae-store-bench 2>&1 | tail -n 2
bench="$(swift build -c release --package-path Benchmarks --show-bin-path)/horae-store-bench"
[ -x "$bench" ] || die "no horae-store-bench at $bench"
echo "cpus: $(nproc), $(swift --version 2>/dev/null | sed -n 1p), load average $(cut -d' ' -f1-3 /proc/loadavg)"

postgres_pid=""
if [[ ",$STORES," == *,postgres,* ]]; then
    echo
    echo "== postgres"
    port=$(free_port)
    show HORAE_POSTGRES_DURABLE=1 scripts/postgres-server.sh "$port"
    mkfifo "$work/postgres.fifo"
    HORAE_POSTGRES_DURABLE=1 scripts/postgres-server.sh "$port" $$ >"$work/postgres.fifo" 2>"$work/postgres.err" &
    postgres_script_pid=$!
    read -r ready address postgres_pid <"$work/postgres.fifo" || die "PostgreSQL did not start: $(cat "$work/postgres.err")"
    [ "$ready" = ready ] || die "unexpected postgres-server.sh output: $ready"
    psql_bin=$(postgres_client psql)
    echo "PostgreSQL $("$psql_bin" -X -At -h 127.0.0.1 -p "$port" -U postgres -c 'SHOW server_version') at $address (process group $postgres_pid), fsync on, synchronous_commit on"
fi

results=()
for store in ${STORES//,/ }; do
    for clients in ${CLIENTS//,/ }; do
        case $store in
            sqlite) location="$work/sqlite-$clients" ;;
            postgres)
                "$psql_bin" -X -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE bench_$clients"
                location="postgres://postgres@$address/bench_$clients?sslmode=disable" ;;
            *) die "unknown store $store (sqlite, postgres)" ;;
        esac
        echo
        echo "== $store, $clients client(s)"
        show "$bench" "$location" --clients "$clients" --seconds "$SECONDS_EACH"
        s0=0
        [ -z "$postgres_pid" ] || s0=$(group_cpu_ticks "$postgres_pid")
        m0=$(cpu_snapshot)
        line=$("$bench" "$location" --clients "$clients" --seconds "$SECONDS_EACH" | tail -n 1)
        m1=$(cpu_snapshot)
        server=""
        if [ "$store" = postgres ]; then
            sleep 0.5  # the closed connections' backends exit and are reaped
            s1=$(group_cpu_ticks "$postgres_pid")
            lifecycles=$(sed -n 's/.* lifecycles=\([0-9]*\).*/\1/p' <<<"$line")
            server=" server_cpu_us=$(awk -v a="$s0" -v b="$s1" -v t="$clk_tck" -v n="$lifecycles" 'BEGIN { printf "%.1f", (b - a) / t / n * 1e6 }')"
        fi
        echo "$line$server machine_busy=$(busy_percent "$m0" "$m1")%"
        results+=("$line$server")
    done
done

echo
echo "== results (lifecycles per second; CPU µs per lifecycle: the client process, and PostgreSQL's server processes)"
for line in "${results[@]}"; do echo "$line"; done
