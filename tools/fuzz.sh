#!/usr/bin/env bash
# make fuzz: runs each libFuzzer harness for SECONDS over its corpus.
#
#   FUZZ_DIR=build/fuzz tools/fuzz.sh SECONDS NAME...
#
# Per harness NAME: first every saved finding in tests/fuzz/regress/NAME/
# (each must now pass), then SECONDS of fuzzing that starts from the seeds
# (FUZZ_DIR/seeds/NAME, made by fuzz-seeds) and grows the corpus kept in
# FUZZ_DIR/corpus/NAME between runs.  A crash, leak, sanitizer report or a
# run over 10 s on one input is a failure, except a crash inside a library
# facesearch only runs isolated (libheif: see third_party below), which is
# counted and saved as FUZZ_DIR/findings/NAME-third-party-*; its input is saved as
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

# Decoders that crash on hostile files inside Debian's own builds and that
# facesearch therefore runs in a child process (src/image/isolate.c):
# libheif and the codecs it loads.
third_party_libs='lib(heif|de265|dav1d|aom|x265)\.so'

# True when the sanitizer report in log is a crash whose first frame outside
# the sanitizer runtime, the allocator and the C/C++ runtimes lies in one of
# those libraries.
third_party() {
    awk -v re="$third_party_libs" '
        /ERROR: AddressSanitizer|ERROR: UndefinedBehaviorSanitizer|ERROR: libFuzzer/ { inrep = 1 }
        inrep && /^ *#[0-9]+ / {
            if ($0 ~ /sanitizer|__asan|__interceptor|in malloc|in calloc|in realloc|operator new|libstdc\+\+|libc\.so|libfuzzer|LLVMFuzzer/) next
            decided = 1
            exit ($0 ~ re) ? 0 : 1
        }
        END { if (!decided) exit 1 }' "$1"
}

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
    # decoder that believes a forged header.  A crash whose first frame of
    # ours or of a library lies in a decoder facesearch only runs isolated
    # (third_party) is recorded, and fuzzing goes on for the time left.
    start=$(date +%s) cpu=0 runs=0 status=ok third=0
    while :; do
        left=$(( seconds - ($(date +%s) - start) ))
        [ "$left" -gt 0 ] || break
        TIMEFORMAT='%U %S'
        { time "$bin" -max_total_time="$left" -timeout=10 -rss_limit_mb=2560 \
            -print_final_stats=1 -artifact_prefix="$dir/findings/$name-" "$corpus" \
            "$dir/seeds/$name" >"$dir/$name.log" 2>&1; } 2>"$dir/$name.cpu"
        rc=$?
        cpu=$(( cpu + $(awk '{printf "%.0f", $1 + $2}' "$dir/$name.cpu") ))
        n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$name.log" | tail -1)
        runs=$(( runs + ${n:-0} ))
        [ $rc -eq 0 ] && break
        if third_party "$dir/$name.log"; then
            third=$(( third + 1 ))
            unit=$(sed -n 's/.*Test unit written to //p' "$dir/$name.log" | tail -1)
            [ -n "$unit" ] && mv "$unit" "$dir/findings/$name-third-party-$(basename "$unit")"
            grep -m1 -E 'ERROR' "$dir/$name.log" | sed 's/^/      third-party crash (isolated in use): /'
            continue
        fi
        status=FAILED
        failed=1
        break
    done
    took=$(( $(date +%s) - start ))
    [ "$third" -gt 0 ] && status="$status, $third third-party crash(es)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$took" "$cpu" "$runs" \
        "$status" >>"$log"
    printf 'fuzz: %-12s %9s runs in %5s s (%5s s CPU)  %s\n' "$name" "$runs" "$took" "$cpu" \
        "$status"
    if [ "${status%%,*}" = FAILED ]; then
        grep -m3 -E 'ERROR|SUMMARY|Test unit written' "$dir/$name.log" | sed 's/^/      /'
    fi
done
exit $failed
