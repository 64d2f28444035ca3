#!/usr/bin/env bash
# make bench: runs the benchmarks in build/bench/ in a fixed order and prints
# their figures.  Each benchmark is a section below; `make bench BENCH=name`
# runs only the sections whose name contains `name`.
# Figures depend on the machine and on what else runs: see docs/benchmarks.md
# for recorded runs and the commands behind them.
set -uo pipefail
BIN=${BIN:-build/facesearch}
BUILD=${BUILD:-build}
MODELS=${MODELS:-models}
SHARED=${FS_SHARED:-../shared}
only=${1:-}
status=0

section() {  # section NAME COMMAND...
    local name=$1
    shift
    [ -n "$only" ] && [[ "$name" != *"$only"* ]] && return 0
    echo
    echo "=== bench: $name"
    "$@" || { echo "bench $name: FAILED (exit $?)"; status=1; }
}

have_shared() { [ -d "$SHARED/data/lfw_am" ]; }

# Sections are added by the modules that own them (engine, ingest, index).
[ -x "$BUILD/bench/bench_engine" ] &&
    section engine "$BUILD/bench/bench_engine" --models "$MODELS"

exit $status
