#!/usr/bin/env bash
# make fuzz: runs each libFuzzer harness for SECONDS over its corpus.
#
#   FUZZ_DIR=build/fuzz tools/fuzz.sh SECONDS NAME...
#
# Per harness NAME: first every saved finding in tests/fuzz/regress/NAME/
# (each must now pass), then SECONDS of fuzzing that starts from the seeds
# (FUZZ_DIR/seeds/NAME, made by fuzz-seeds) and grows the corpus kept in
# FUZZ_DIR/corpus/NAME between runs.  A crash, leak, sanitizer report or a
# run over 10 s on one input is a failure; its input is saved as
# FUZZ_DIR/findings/NAME-* (copy it into tests/fuzz/regress/NAME/ with the
# fix).  Prints a line per harness (runs, wall and CPU seconds) and exits 1
# if any failed.  FUZZ_LOG (default FUZZ_DIR/fuzz-log.tsv) gets a line per
# run: date, harness, wall seconds, CPU seconds, executions, status, for the
# record in docs/operations.md (CPU, not wall: a shared host steals time).
set -uo pipefail
seconds=$1
shift
dir=${FUZZ_DIR:-build/fuzz}
log=${FUZZ_LOG:-$dir/fuzz-log.tsv}
mkdir -p "$dir/findings"
# Third-party leaks we cannot fix (each named with its finding there).
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=0
for name in "$@"; do
    bin="$dir/fuzz_$name"
    corpus="$dir/corpus/$name"
    mkdir -p "$corpus"
    regress="tests/fuzz/regress/$name"
    if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
        if ! "$bin" -runs=1 "$regress"/* >"$dir/$name-regress.log" 2>&1; then
            echo "fuzz: $name: a saved finding fails again (see $dir/$name-regress.log)"
            failed=1
            continue
        fi
    fi
    # -timeout: an input taking over 10 s is a hang; -rss_limit_mb bounds a
    # decoder that believes a forged header.
    start=$(date +%s)
    TIMEFORMAT='%U %S'
    { time "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
        -print_final_stats=1 -artifact_prefix="$dir/findings/$name-" "$corpus" \
        "$dir/seeds/$name" >"$dir/$name.log" 2>&1; } 2>"$dir/$name.cpu"
    rc=$?
    cpu=$(awk '{printf "%.0f", $1 + $2}' "$dir/$name.cpu")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$name.log" | tail -1)
    took=$(( $(date +%s) - start ))
    status=ok
    if [ $rc -ne 0 ]; then
        status=FAILED
        failed=1
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$took" "$cpu" "${runs:-0}" \
        "$status" >>"$log"
    printf 'fuzz: %-12s %9s runs in %5s s (%5s s CPU)  %s\n' "$name" "${runs:-0}" "$took" "$cpu" \
        "$status"
    if [ $rc -ne 0 ]; then
        grep -m3 -E 'ERROR|SUMMARY|Test unit written' "$dir/$name.log" | sed 's/^/      /'
    fi
done
exit $failed
