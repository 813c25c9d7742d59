#!/usr/bin/env bash
# Runs Horae's main job on the bundled example, on a local stack:
#
#   1. validates and tests the pipelines in rules/;
#   2. starts the Google Cloud Pub/Sub emulator, fake-gcs-server (which publishes a real bucket
#      notification to the emulator on every upload) and local stand-ins for BigQuery's jobs API
#      and Elasticsearch (no emulator exists for those), all on free loopback ports;
#   3. creates the topics and subscriptions of the example with `horae pubsub`;
#   4. starts `horae run` on rules/ with examples/local/horae.yaml;
#   5. uploads a customer's GOCC file to bucket ven-cust-sohappy and shows the notification flowing
#      through the rules: unpack (exec) → two BigQuery loads → publish to `bigquery` → export to
#      the key-value store (exec) → publish to `ms-cluster`; then the daemon's log and /status.
#
# Everything it started is stopped when it ends (or is interrupted).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/setup.sh
echo "== building horae"
build_log=$(mktemp)
swift build --product horae >"$build_log" 2>&1 || { cat "$build_log" >&2; exit 1; }
rm -f "$build_log"
horae="$(swift build --show-bin-path)/horae"

echo
echo "== horae validate rules/"
"$horae" validate rules/
echo "== horae test rules/"
"$horae" test rules/

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/horae-demo.XXXXXX)
pids=()
groups=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# Starts a script that prints "ready HOST:PORT [PGID]" once its server answers.
start_peer() {
    local name=$1; shift
    "$@" > "$work/$name.out" 2> "$work/$name.err" &
    pids+=($!)
    for _ in $(seq 1 300); do
        if grep -q '^ready' "$work/$name.out"; then
            local group; group=$(awk '/^ready/ {print $3}' "$work/$name.out")
            [ -n "$group" ] && groups+=("$group")
            return 0
        fi
        if ! kill -0 "${pids[-1]}" 2>/dev/null; then cat "$work/$name.err" >&2; echo "demo: $name did not start" >&2; exit 1; fi
        sleep 0.1
    done
    echo "demo: $name did not start within 30 s" >&2; exit 1
}

project=horae-demo
pubsub_port=$(free_port); gcs_port=$(free_port); standins_port=$(free_port); http_port=$(free_port)
export PUBSUB_EMULATOR_HOST=127.0.0.1:$pubsub_port
export STORAGE_EMULATOR_HOST=http://127.0.0.1:$gcs_port
export HORAE_BIGQUERY_ENDPOINT=http://127.0.0.1:$standins_port
export HORAE_PROJECT=$project

echo
echo "== starting the Pub/Sub emulator on $PUBSUB_EMULATOR_HOST"
start_peer pubsub scripts/pubsub-emulator.sh "$pubsub_port" $$

echo "== creating topics and subscriptions (horae pubsub)"
for topic in bucket-events bigquery ms-cluster horae-dead-letter; do
    "$horae" pubsub topics create "$topic" >/dev/null
    "$horae" pubsub subscriptions create "$topic" --topic "$topic" --ack-deadline 30s >/dev/null
done
"$horae" pubsub subscriptions list

echo "== starting fake-gcs-server on $STORAGE_EMULATOR_HOST (notifications → topic bucket-events)"
start_peer gcs scripts/fake-gcs-server.sh "$gcs_port" $$ \
    -event.pubsub-project-id "$project" -event.pubsub-topic bucket-events -event.list finalize
echo "== starting the BigQuery/Elasticsearch stand-ins on 127.0.0.1:$standins_port"
start_peer standins python3 -u examples/local/standins.py "$standins_port"

echo "== starting horae run (examples/local/horae.yaml, /status on 127.0.0.1:$http_port)"
rm -rf var/demo
"$horae" run --config examples/local/horae.yaml --http "127.0.0.1:$http_port" --log-format text > "$work/horae.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null && break; sleep 0.1; done

echo
echo "== uploading gocc/sohappy_gocc_20190115.tar.gz to gs://ven-cust-sohappy"
mkdir -p "$work/gocc" && printf 'id,name\n1,socks\n' > "$work/gocc/goods.csv" && printf 'id,name\n1,clothing\n' > "$work/gocc/category.csv"
printf 'id,goods_id\n1,1\n' > "$work/gocc/order.csv"
tar -czf "$work/gocc.tar.gz" -C "$work/gocc" goods.csv category.csv order.csv
curl -sf -X POST -H 'Content-Type: application/json' -d '{"name":"ven-cust-sohappy"}' \
    "$STORAGE_EMULATOR_HOST/storage/v1/b?project=$project" >/dev/null
curl -sf -X POST -H 'Content-Type: application/gzip' --data-binary @"$work/gocc.tar.gz" \
    "$STORAGE_EMULATOR_HOST/upload/storage/v1/b/ven-cust-sohappy/o?uploadType=media&name=gocc/sohappy_gocc_20190115.tar.gz" >/dev/null

metric() { curl -sf "http://127.0.0.1:$http_port/metrics" | awk -v m="$1" 'index($0, m) == 1 {print $2}'; }
echo "   waiting for the notification to flow through gocc-to-bigquery and export-goods-to-kv …"
for _ in $(seq 1 300); do
    [ "$(metric 'horae_tasks_total{rule="export-goods-to-kv",outcome="succeeded"}')" = "1" ] && break
    sleep 0.2
done

echo
echo "== what the stand-ins received"
cat "$work/standins.out" | grep -v '^ready' || true
echo
echo "== horae's log"
cat "$work/horae.log"
echo
echo "== horae tasks list (the daemon's store)"
"$horae" tasks list --config examples/local/horae.yaml
echo
echo "== GET /status"
curl -s "http://127.0.0.1:$http_port/status"
echo
echo "== selected /metrics"
curl -s "http://127.0.0.1:$http_port/metrics" | grep -E '^horae_(tasks_total|messages_(pulled|acked)_total)' || true
if [ "$(metric 'horae_tasks_total{rule="export-goods-to-kv",outcome="succeeded"}')" = "1" ]; then
    echo
    echo "demo: the upload went through both pipelines."
else
    echo
    echo "demo: the pipelines did not finish within 60 s; see the log above." >&2
    exit 1
fi
