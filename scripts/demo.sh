#!/usr/bin/env bash
# Runs Horae's main job on the bundled example: validate and test the pipelines in rules/, then
# match a real Cloud Storage notification against them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build -c release --product horae >/dev/null
horae=$(swift build -c release --show-bin-path)/horae

echo "== horae validate rules/"
"$horae" validate rules/
echo
echo "== horae test rules/"
"$horae" test rules/
echo
echo "== horae match rules/ --message examples/messages/gocc-upload.json --subscription bucket-events"
"$horae" match rules/ --message examples/messages/gocc-upload.json --subscription bucket-events
