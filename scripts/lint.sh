#!/usr/bin/env bash
# Checks what needs no build: the Swift sources are formatted as .swift-format says (swift-format
# ships with the toolchain; `swift format format -i -r Package.swift Sources Tests Benchmarks fuzz`
# applies it), and the docs' relative links and anchors resolve inside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

swift format lint --strict --parallel --recursive Package.swift Sources Tests Benchmarks fuzz
scripts/check-docs.sh
# HoraeRules parses untrusted JSON and YAML: no target may turn off overflow and bounds checks.
if grep -n -- '-Ounchecked\|-enforce-exclusivity=unchecked' Package.swift Benchmarks/Package.swift; then
    echo "lint: unchecked optimization in a package manifest; build with -O (checks on)" >&2
    exit 1
fi
echo "lint: formatting and docs links clean"
