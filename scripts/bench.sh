#!/usr/bin/env bash
# Benchmarks Horae's rule matching, in process and from the command line:
#   1. builds release: horae into .build-bench (never the default .build), and horae-bench, a
#      package of its own (Benchmarks/), into Benchmarks/.build;
#   2. runs horae-bench (arguments to this script go to it, e.g. --sizes 100,10000);
#   3. writes a 10 000-rule corpus and 1 000 000 messages to a temporary directory;
#   4. times `horae validate DIR` (wall time, peak RSS) and
#      `horae match DIR --messages DIR/messages.jsonl --summary` (messages per second),
#      and checks the summary against the one horae-bench computed in process.
# Prints every figure with the command that produced it, then PASS/FAIL against the targets.
# Environment: CORPUS_RULES (10000), CORPUS_MESSAGES (1000000), RUNS (3 runs of each CLI command,
# best wall time kept), KEEP_CORPUS=1 to keep the temporary directory.
# Exit status: 0 all targets met, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS_RULES=${CORPUS_RULES:-10000}
CORPUS_MESSAGES=${CORPUS_MESSAGES:-1000000}
RUNS=${RUNS:-3}
SCRATCH=.build-bench
SUBSCRIPTION=bucket-events

# Targets for the command line.
VALIDATE_MAX_SECONDS=1
VALIDATE_MAX_MB=200
MATCH_MIN_PER_SECOND=300000

failures=0
verdict() {  # verdict OK|FAIL text
    if [ "$1" = OK ]; then echo "PASS $2"; else echo "FAIL $2"; failures=$((failures + 1)); fi
}
show() { printf '$ %s\n' "$*"; }

if [ ! -x /usr/bin/time ]; then
    echo "bench: installing GNU time (for peak RSS)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
fi

echo "== build"
show swift build -c release --product horae --scratch-path "$SCRATCH"
swift build -c release --product horae --scratch-path "$SCRATCH" 2>&1 | tail -n 3
horae="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/horae"
show swift build -c release --package-path Benchmarks
swift build -c release --package-path Benchmarks 2>&1 | tail -n 3
bench="$(swift build -c release --package-path Benchmarks --show-bin-path)/horae-bench"
echo "cpus: $(nproc), $(swift --version 2>/dev/null | head -n 1)"

echo
echo "== in-process benchmark"
show "$bench" "$@"
set +e
"$bench" "$@"
bench_status=$?
set -e
case $bench_status in
    0) ;;
    3) echo "(horae-bench: a target was missed, exit 3)" ;;
    *) echo "(horae-bench failed with exit status $bench_status)" ;;
esac

corpus=$(mktemp -d "${TMPDIR:-/tmp}/horae-bench-corpus.XXXXXX")
if [ "${KEEP_CORPUS:-0}" != 1 ]; then trap 'rm -rf "$corpus"' EXIT; fi

echo
echo "== corpus"
show "$bench" --write-corpus "$corpus" --corpus-rules "$CORPUS_RULES" --corpus-messages "$CORPUS_MESSAGES"
start=$(date +%s.%N)
"$bench" --write-corpus "$corpus" --corpus-rules "$CORPUS_RULES" --corpus-messages "$CORPUS_MESSAGES"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "corpus written in %.1f s\n", e - s }'
expected=""
[ -f "$corpus/expected-summary.txt" ] && expected=$(cat "$corpus/expected-summary.txt")

# run_timed NAME CMD… : runs CMD with /usr/bin/time -v, stdout to $corpus/NAME.out, stderr to
# $corpus/NAME.err; sets wall (seconds, from date), rss_kb (peak RSS) and status.
run_timed() {
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    set +e
    /usr/bin/time -v -o "$corpus/$name.time" "$@" >"$corpus/$name.out" 2>"$corpus/$name.err"
    status=$?
    set -e
    t1=$(date +%s.%N)
    wall=$(awk -v s="$t0" -v e="$t1" 'BEGIN { printf "%.3f", e - s }')
    rss_kb=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$corpus/$name.time")
}

echo
echo "== horae validate ($CORPUS_RULES rules)"
show /usr/bin/time -v "$horae" validate "$corpus"
best_validate=""
max_validate_kb=0
validate_ok=1
for run in $(seq 1 "$RUNS"); do
    run_timed validate "$horae" validate "$corpus"
    mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
    echo "run $run: wall ${wall} s, peak RSS ${mb} MB, exit $status; stderr: $(tail -n 1 "$corpus/validate.err")"
    [ "$status" -eq 0 ] || validate_ok=0
    if [ -z "$best_validate" ] || awk -v a="$wall" -v b="$best_validate" 'BEGIN { exit !(a < b) }'; then best_validate=$wall; fi
    [ "$rss_kb" -gt "$max_validate_kb" ] && max_validate_kb=$rss_kb
done
if [ "$validate_ok" -ne 1 ]; then
    echo "horae validate reported problems:"
    head -n 20 "$corpus/validate.err"
fi
validate_mb=$(awk -v k="$max_validate_kb" 'BEGIN { printf "%.1f", k / 1024 }')

echo
echo "== horae match --summary ($CORPUS_MESSAGES messages)"
show /usr/bin/time -v "$horae" match "$corpus" --messages "$corpus/messages.jsonl" --summary --subscription "$SUBSCRIPTION"
best_match=""
match_ok=1
summary=""
for run in $(seq 1 "$RUNS"); do
    run_timed match "$horae" match "$corpus" --messages "$corpus/messages.jsonl" --summary --subscription "$SUBSCRIPTION"
    summary=$(tail -n 1 "$corpus/match.out")
    rate=$(awk -v n="$CORPUS_MESSAGES" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
    mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
    echo "run $run: wall ${wall} s = ${rate} messages/s, peak RSS ${mb} MB, exit $status; stdout: $summary"
    if [ "$status" -gt 1 ]; then match_ok=0; head -n 5 "$corpus/match.err"; fi
    if [ -z "$best_match" ] || awk -v a="$wall" -v b="$best_match" 'BEGIN { exit !(a < b) }'; then best_match=$wall; fi
done
match_rate=$(awk -v n="$CORPUS_MESSAGES" -v w="$best_match" 'BEGIN { printf "%.0f", n / w }')

echo
echo "== results"
echo "horae validate: best wall ${best_validate} s, peak RSS ${validate_mb} MB   ($horae validate $corpus)"
echo "horae match --summary: best ${match_rate} messages/s (${best_match} s for $CORPUS_MESSAGES)   ($horae match $corpus --messages $corpus/messages.jsonl --summary --subscription $SUBSCRIPTION)"
verdict "$([ "$validate_ok" -eq 1 ] && echo OK || echo FAIL)" "horae validate exits 0 on the generated rules"
verdict "$(awk -v w="$best_validate" -v t="$VALIDATE_MAX_SECONDS" 'BEGIN { print (w < t) ? "OK" : "FAIL" }')" "horae validate wall time: ${best_validate} s (target < ${VALIDATE_MAX_SECONDS} s)"
verdict "$(awk -v m="$validate_mb" -v t="$VALIDATE_MAX_MB" 'BEGIN { print (m < t) ? "OK" : "FAIL" }')" "horae validate peak RSS: ${validate_mb} MB (target < ${VALIDATE_MAX_MB} MB)"
verdict "$(awk -v r="$match_rate" -v t="$MATCH_MIN_PER_SECOND" 'BEGIN { print (r >= t) ? "OK" : "FAIL" }')" "horae match throughput: ${match_rate} messages/s (target >= ${MATCH_MIN_PER_SECOND})"
if [ -n "$expected" ]; then
    verdict "$([ "$match_ok" -eq 1 ] && [ "$summary" = "$expected" ] && echo OK || echo FAIL)" "horae match summary \`$summary\` equals the in-process one \`$expected\`"
else
    verdict FAIL "no in-process expected summary (the generated rules did not load in horae-bench)"
fi
verdict "$([ "$bench_status" -eq 0 ] && echo OK || echo FAIL)" "horae-bench (exit status $bench_status)"
[ "${KEEP_CORPUS:-0}" = 1 ] && echo "corpus kept in $corpus"
if [ "$failures" -gt 0 ]; then
    echo "bench: $failures check(s) failed"
    exit 1
fi
echo "bench: all checks passed"
