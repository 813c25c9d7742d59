#!/usr/bin/env bash
# Builds the libFuzzer target over Horae's loader, compiler and matcher (fuzz/FuzzRules.swift)
# and runs it for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]        default 600
#
# The harness is compiled together with every file of Sources/HoraeRules by one `swiftc` call
# (a SwiftPM executable cannot be linked with -sanitize=fuzzer), into .build-fuzz/. It runs on a
# working copy of fuzz/corpus/ plus fuzz/regressions/ in fuzz/corpus-run/, two processes in
# libFuzzer's fork mode, which keeps going after a crash so one run reports every finding.
# Crash, timeout and out-of-memory inputs go to fuzz/out/. The exit status is 1 when this run
# wrote any of them, 0 otherwise (2 when the build fails).
#
# Environment: FUZZ_JOBS (parallel processes, default 2), FUZZ_FLAGS (extra libFuzzer flags),
# FUZZ_REBUILD=1 (rebuild even when the sources did not change). HORAE_FUZZ_VERBOSE=1 makes the
# harness say what each input reached (rules loaded, messages matched, cron ticks).
#
# Reproduce or minimize one finding:
#   SWIFT_BACKTRACE=enable=no .build-fuzz/horae-fuzz fuzz/out/crash-…
#   SWIFT_BACKTRACE=enable=no .build-fuzz/horae-fuzz -minimize_crash=1 -runs=20000 \
#       -exact_artifact_path=fuzz/regressions/NAME fuzz/out/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-600}
case "$duration" in
    ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
jobs=${FUZZ_JOBS:-2}

build=.build-fuzz
binary=$build/horae-fuzz
out=fuzz/out
run_corpus=fuzz/corpus-run
mkdir -p "$build" "$out" "$run_corpus" fuzz/regressions

# Swift's backtracer would catch the crash signal and hang instead of letting libFuzzer write the
# crashing input.
export SWIFT_BACKTRACE=enable=no
# Fail hard on memory errors; leaks in the Swift runtime's caches are not findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:symbolize=1}

swiftc=$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)
mapfile -t sources < <(find Sources/HoraeRules -name '*.swift' | LC_ALL=C sort)
sources+=(fuzz/FuzzRules.swift)

# Rebuild only when a source, the module map or this script changed.
stamp=$(cat "${sources[@]}" Sources/CYAML/* "$0" | sha256sum | cut -c1-16)
if [ "${FUZZ_REBUILD:-0}" = 1 ] || [ ! -x "$binary" ] || [ "$(cat "$build/stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "fuzz: building $binary (${#sources[@]} files; takes a few minutes)"
    rm -f "$build/stamp"
    # Others may be editing Sources/ meanwhile: a file changed under the compiler is retried.
    for attempt in 1 2 3; do
        if "$swiftc" -parse-as-library -module-name HoraeFuzz -package-name Horae -swift-version 6 \
                -O -g -wmo -num-threads 2 -sanitize=fuzzer,address \
                -I Sources/CYAML -lyaml \
                -module-cache-path "$build/module-cache" \
                "${sources[@]}" -o "$binary" >"$build/build.log" 2>&1; then
            built=1
            break
        fi
        built=0
        grep -q 'was modified during the build' "$build/build.log" || break
        sleep 20
        mapfile -t sources < <(find Sources/HoraeRules -name '*.swift' | LC_ALL=C sort)
        sources+=(fuzz/FuzzRules.swift)
        stamp=$(cat "${sources[@]}" Sources/CYAML/* "$0" | sha256sum | cut -c1-16)
    done
    if [ "$built" != 1 ]; then
        rm -f "$binary"
        grep -E 'error:' "$build/build.log" | head -20 >&2 || tail -20 "$build/build.log" >&2
        echo "fuzz: build failed (full log: $build/build.log)" >&2
        exit 2
    fi
    echo "$stamp" >"$build/stamp"
fi

# The seeds and the committed regressions, plus whatever earlier runs found (kept across runs).
cp -f fuzz/corpus/* "$run_corpus"/
if compgen -G 'fuzz/regressions/*' >/dev/null; then cp -f fuzz/regressions/* "$run_corpus"/; fi

marker=$(mktemp)
trap 'rm -f "$marker"' EXIT
log=$build/fuzz.log

echo "fuzz: running $binary for ${duration}s with $jobs processes (log: $log)"
set +e
"$binary" \
    -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$duration" -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
    -dict=fuzz/yaml.dict -artifact_prefix="$out/" -print_final_stats=1 \
    ${FUZZ_FLAGS:-} \
    "$run_corpus" >"$log" 2>&1
status=$?
set -e

# Fork mode reports progress as `#N: cov: … exec/s: … oom/timeout/crash: a/b/c time: Ts …`;
# the last such line holds the totals (N executions in all; its exec/s is the last job's only,
# so the overall rate is N / T).
last=$(grep -E '^#[0-9]+: ' "$log" | tail -1 || true)
if [ -n "$last" ]; then
    execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    elapsed=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last")
    cov=$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' <<<"$last")
    corp=$(sed -nE 's/.* corp: ([0-9]+) .*/\1/p' <<<"$last")
    problems=$(sed -nE 's/.*oom\/timeout\/crash: ([0-9\/]+).*/\1/p' <<<"$last")
    echo "$last"
    echo "#$execs DONE cov: $cov corp: $corp exec/s: $(( execs / (elapsed > 0 ? elapsed : 1) )) time: ${elapsed}s oom/timeout/crash: $problems (fork=$jobs)"
else
    grep -E '^#[0-9]+ +DONE' "$log" | tail -1 || true
    tail -5 "$log"
fi

mapfile -t found < <(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) -newer "$marker" | sort)
if [ ${#found[@]} -gt 0 ]; then
    echo "fuzz: ${#found[@]} finding(s) in $out/:"
    for f in "${found[@]}"; do
        echo "  $f"
    done
    echo "fuzz: the invariant messages are in $log (grep 'HORAE FUZZ\\|ERROR:')"
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "fuzz: libFuzzer exited with status $status (see $log)" >&2
    exit 1
fi
echo "fuzz: no findings"
