#!/usr/bin/env bash
# Runs a throwaway PostgreSQL server on 127.0.0.1:PORT (HORAE_POSTGRES_HOST: another local IPv4
# address) in the foreground, for the tests.
#
#   scripts/postgres-server.sh PORT [WATCH_PID [DATA_DIR]]
#
# Creates a cluster with initdb in a new temporary directory (superuser `postgres`, trust
# authentication on loopback TCP only, no Unix socket, fsync and synchronous commit off: nothing
# here outlives the test run), starts `postgres` on it and prints "ready HOST:PORT PGID" on
# stdout once it accepts connections, then waits. The server (its own session, process group
# PGID) is stopped and its directory removed when this script gets SIGTERM/SIGINT, or when
# WATCH_PID (default: this script's parent) exits. With DATA_DIR, the cluster is
# DATA_DIR/cluster instead, created only if missing and kept when the server stops, so that a
# test can stop the server and start it again with its data (the caller removes DATA_DIR);
# commits are then synchronous, so that a server killed at once keeps them. PostgreSQL refuses to
# run as root: as root, the cluster belongs to and the server runs as `nobody`.
# HORAE_POSTGRES_HOST=ADDRESS listens on that address of this host instead of loopback (a
# test's network namespaces reach the server through it), trusting its /24 network too.
# HORAE_POSTGRES_DURABLE=1 runs the server as production does (fsync, synchronous commit and full
# page writes on), for benchmarks that compare it with SQLite's `synchronous=FULL`.
#
# The binaries are found with HORAE_POSTGRES_BIN (a directory), `pg_config --bindir`, or the
# newest /usr/lib/postgresql/*/bin (Debian and Ubuntu's `postgresql` package).
set -euo pipefail

port="${1:?usage: postgres-server.sh PORT [WATCH_PID [DATA_DIR]]}"
watch="${2:-$PPID}"
keep="${3:-}"

find_bin() {
    if [[ -n "${HORAE_POSTGRES_BIN:-}" ]]; then echo "$HORAE_POSTGRES_BIN"; return; fi
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$dir/postgres" && -x "$dir/initdb" ]] && { echo "$dir"; return; }
    done
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir)"
        [[ -x "$dir/postgres" && -x "$dir/initdb" ]] && { echo "$dir"; return; }
    fi
    dir="$(dirname "$(command -v postgres 2>/dev/null || echo /nonexistent/postgres)")"
    [[ -x "$dir/postgres" && -x "$dir/initdb" ]] && echo "$dir"
}

bin="$(find_bin)"
if [[ -z "$bin" ]]; then
    cat >&2 <<'MSG'
postgres-server.sh: the PostgreSQL server is not installed (initdb and postgres are needed).
On Debian/Ubuntu: apt-get install postgresql (scripts/setup.sh does), or point HORAE_POSTGRES_BIN
at the directory holding initdb and postgres.
MSG
    exit 3
fi

commit=off
if [[ -n "$keep" ]]; then
    commit=on
    mkdir -p "$keep"
    data="$(cd "$keep" && pwd)"
    cleanup_data() { :; }
else
    data="$(mktemp -d "${TMPDIR:-/tmp}/horae-postgres-XXXXXX")"
    cleanup_data() { rm -rf "$data"; }
fi
run=()
if [[ "$(id -u)" -eq 0 ]]; then
    chown nobody: "$data"
    run=(runuser -u nobody --)
fi

if [[ ! -f "$data/cluster/PG_VERSION" ]] && ! (cd "$data" && "${run[@]}" "$bin/initdb" -D "$data/cluster" -U postgres --auth=trust --no-sync \
        --encoding=UTF8 --locale=C.UTF-8 >"$data/initdb.log" 2>&1); then
    echo "postgres-server.sh: initdb failed:" >&2
    cat "$data/initdb.log" >&2
    cleanup_data
    exit 1
fi

# A server of this cluster that was just killed may not be gone yet: wait for it. Once it is dead
# its lock file is stale, but a new server would still refuse it while the dead one lingers as a
# zombie (killed with its parent, it waits for a reaper that a container's init may not be), so
# the lock file goes.
if [[ -f "$data/cluster/postmaster.pid" ]]; then
    old="$(head -n 1 "$data/cluster/postmaster.pid")"
    alive() { [[ -n "$old" ]] && kill -0 "$old" 2>/dev/null && [[ "$(ps -o stat= -p "$old" 2>/dev/null)" != Z* ]]; }
    for _ in $(seq 1 100); do alive || break; sleep 0.1; done
    alive || rm -f "$data/cluster/postmaster.pid"
fi

host="${HORAE_POSTGRES_HOST:-127.0.0.1}"
[[ "$host" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "postgres-server.sh: HORAE_POSTGRES_HOST must be an IPv4 address" >&2; exit 1; }
if [[ "$host" != 127.0.0.1 ]]; then
    network="${host%.*}.0/24"
    grep -q "^host all all $network trust" "$data/cluster/pg_hba.conf" \
        || echo "host all all $network trust" >>"$data/cluster/pg_hba.conf"
fi

fsync=off
page_writes=off
if [[ "${HORAE_POSTGRES_DURABLE:-0}" = 1 ]]; then
    fsync=on
    commit=on
    page_writes=on
fi
log="${HORAE_POSTGRES_LOG:-$data/server.log}"
(cd "$data" && exec setsid "${run[@]}" "$bin/postgres" -D "$data/cluster" -h "$host" -p "$port" \
    -k "" -c fsync=$fsync -c synchronous_commit=$commit -c full_page_writes=$page_writes \
    -c max_connections=300 -c shared_buffers=32MB) >"$log" 2>&1 &
pid=$!
stop() {
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    cleanup_data
}
trap 'stop; exit 0' TERM INT
trap stop EXIT

ready=""
for _ in $(seq 1 300); do
    if "$bin/pg_isready" -q -h "$host" -p "$port" -U postgres; then
        ready=1
        echo "ready $host:$port $pid"
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z "$ready" ]]; then
    echo "postgres-server.sh: the server did not start:" >&2
    cat "$log" >&2 || true
    exit 1
fi

while kill -0 "$watch" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1 & wait $!; done
