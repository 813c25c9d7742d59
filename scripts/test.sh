#!/usr/bin/env bash
# Sets up and runs Horae's whole test suite: installs the system libraries, builds, runs every
# test (unit, fixture, differential and CLI tests), then validates and tests the bundled rules.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# Adds the executables only tests run (the store's crash child) to the package; a plain
# `swift build` leaves them out (Package.swift, testHelpers).
export HORAE_TEST_HELPERS=1
swift build
# Serially: several tests check that timeouts fire on time, which a saturated 2-core
# cooperative pool (CPU-heavy differential tests beside them) would delay.
# The suite takes about 4 minutes on 2 cores; a hung test ends it at HORAE_TEST_TIMEOUT (40 min)
# instead of holding CI until its own limit.
status=0
timeout --kill-after=30s "${HORAE_TEST_TIMEOUT:-40m}" swift test --no-parallel || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "test.sh: swift test ran over ${HORAE_TEST_TIMEOUT:-40m}: a test hangs (the suite started last above)" >&2
fi
[ "$status" -eq 0 ] || exit "$status"
horae=$(swift build --show-bin-path)/horae
# The daemon's idle-memory target rests on linking FoundationEssentials only (docs/benchmarks.md,
# finding 6): one `import Foundation` in a target horae links would bring ~9 MB of libFoundation
# and ICU back.
if ldd "$horae" | grep -E 'libFoundation\.so|libFoundationInternationalization|_FoundationICU'; then
    echo "test.sh: horae links full Foundation; import FoundationEssentials instead" >&2
    exit 1
fi
"$horae" validate --strict rules/
"$horae" test rules/
