#!/usr/bin/env bash
# Sets up and runs Horae's whole test suite: installs the system libraries, builds, runs every
# test (unit, fixture, differential and CLI tests), then validates and tests the bundled rules.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build
# Serially: several tests check that timeouts fire on time, which a saturated 2-core
# cooperative pool (CPU-heavy differential tests beside them) would delay.
swift test --no-parallel
horae=$(swift build --show-bin-path)/horae
"$horae" validate --strict rules/
"$horae" test rules/
