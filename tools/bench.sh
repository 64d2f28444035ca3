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

# What a recorded figure needs beside it (docs/benchmarks.md).
echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes'), $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
echo "bench: $(uptime | sed 's/.*load/load/')"

# Sections are added by the modules that own them (engine, ingest, index).
[ -x "$BUILD/bench/bench_engine" ] &&
    section engine "$BUILD/bench/bench_engine" --models "$MODELS"

# --- ingest (issue 4): photos/s and faces/s at 1 and 2 threads, stage
# breakdown, writer share, peak RSS (the --json summary of a real ingest
# into a fresh database each time).
bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench.XXXXXX")
trap 'rm -rf "$bench_tmp"' EXIT

ingest_run() {  # ingest_run LABEL THREADS SOURCE [extra flags]
    local label=$1 threads=$2 src=$3
    shift 3
    rm -rf "$bench_tmp/db"
    printf '%-28s ' "$label"
    "$BIN" ingest --db "$bench_tmp/db" --threads "$threads" --quiet --json "$@" "$src"
}

ingest_samples() {
    ingest_run "samples 1 thread" 1 "$MODELS/demo"
    ingest_run "samples 2 threads" 2 "$MODELS/demo"
}
section ingest-samples ingest_samples

ingest_lfw() {
    have_shared || { echo "skipped: $SHARED/data/lfw_am absent"; return 0; }
    ingest_run "lfw_am 1 thread" 1 "$SHARED/data/lfw_am"
    ingest_run "lfw_am 2 threads tiny" 2 "$SHARED/data/lfw_am" --detector tiny
    ingest_run "lfw_am 2 threads" 2 "$SHARED/data/lfw_am"
    "$BIN" stats --db "$bench_tmp/db" --json
    # Keep this database: the scale run fits its synthetic model to it.
    rm -rf "$bench_tmp/lfw-db" && mv "$bench_tmp/db" "$bench_tmp/lfw-db"
}
section ingest-lfw ingest_lfw

# --- mpi (issue 12): the same ingest as one process and as MPI ranks at equal
# cores, side by side: plain --threads 2, `-n 1 --threads 2`, `-n 2 --threads
# 1`, into a 16-shard database (the overhead must stay under 5 %).  LFW A-M
# (9,377 photos) when present, else the samples ten times over.
ingest_mpi() {
    local src=$SHARED/data/lfw_am mpi=${BIN}-mpi
    command -v mpirun >/dev/null && [ -x "$mpi" ] || { echo "skipped: no mpirun or $mpi"; return 0; }
    if ! have_shared; then
        src=$bench_tmp/mpi-photos
        for i in $(seq 0 9); do mkdir -p "$src/$i" && cp "$MODELS"/demo/sample*.jpg "$src/$i/"; done
    fi
    # warm the page cache first: the first run would otherwise pay the reads
    find "$src" -type f -exec cat {} + >/dev/null
    local run=(mpirun --oversubscribe --bind-to none)
    [ "$(id -u)" = 0 ] && run+=(--allow-run-as-root)
    for mode in plain n1t2 n2t1; do
        rm -rf "$bench_tmp/db"
        "$BIN" init --db "$bench_tmp/db" --shards 16 >/dev/null
        printf '%-28s ' "mpi $mode"
        case $mode in
        plain) "$BIN" ingest --db "$bench_tmp/db" --threads 2 --quiet --json "$src" ;;
        n1t2) "${run[@]}" -n 1 "$mpi" ingest --db "$bench_tmp/db" --threads 2 --quiet --json "$src" ;;
        n2t1) "${run[@]}" -n 2 "$mpi" ingest --db "$bench_tmp/db" --threads 1 --quiet --json "$src" ;;
        esac
    done
}
section mpi ingest_mpi

# Distributed build and query (issue 12) over a sharded synthetic database
# of MPI_INDEX_PHOTOS faces (1M; 10M takes ~30 min to make and ~20 min per
# build here): build time (train, add, merge) for one process x 2 threads,
# 1 rank x 2 threads and 2 ranks x 1 thread, then single-query latency
# (200 stored faces searched one at a time, auto nprobe) on the merged
# index in one process against the shards' indexes spread over the ranks.
# MPI_INDEX_BUILDS picks build layouts (at 10M: n2t1 alone saves ~40 min);
# SYNTH_MODEL_DB fits the synthetic vectors to a database of real faces
# when this run has no lfw_am ingest.
index_mpi() {
    local mpi=${BIN}-mpi n=${MPI_INDEX_PHOTOS:-1000000} db=$bench_tmp/mpi-synth
    command -v mpirun >/dev/null && [ -x "$mpi" ] || { echo "skipped: no mpirun or $mpi"; return 0; }
    local run=(mpirun --oversubscribe --bind-to none) model=() q=()
    [ "$(id -u)" = 0 ] && run+=(--allow-run-as-root)
    [ -d "$bench_tmp/lfw-db" ] && model=(--model-db "$bench_tmp/lfw-db")
    [ -n "${SYNTH_MODEL_DB:-}" ] && model=(--model-db "$SYNTH_MODEL_DB")
    rm -rf "$db"
    "$BUILD/bench/synth_db" --out "$db" --photos "$n" --shards 16 --report "$n" "${model[@]}" |
        tail -n 1
    local times='s/.*"factory": "\([^"]*\)".*"count": \([0-9]*\).*"build_s": \([0-9.]*\).*"train_s": \([0-9.]*\).*"add_s": \([0-9.]*\).*"merge_s": \([0-9.]*\).*/\1 \2 faces: build \3 s (train \4, add \5, merge \6)/p'
    for mode in ${MPI_INDEX_BUILDS:-plain n1t2 n2t1}; do
        printf '%-28s ' "build $mode"
        case $mode in
        plain) "$BIN" build --db "$db" --threads 2 --json ;;
        n1t2) "${run[@]}" -n 1 "$mpi" build --db "$db" --threads 2 --json ;;
        n2t1) "${run[@]}" -n 2 "$mpi" build --db "$db" --threads 1 --json ;;
        esac | tr -d '\n' | sed -n "$times"; echo
    done
    for i in $(seq 0 199); do q+=(--face-id $(( ((i % 16) << 40) + i * 97 ))); done
    local p50='s/.*"search_ms_p50":\([0-9.]*\),"search_ms_p99":\([0-9.]*\).*/p50 \1 ms, p99 \2 ms/p'
    for mode in merged-t2 merged-t1 n2t1 n1t2; do
        printf '%-28s ' "query $mode"
        case $mode in
        merged-t2) OMP_NUM_THREADS=2 "$BIN" query --db "$db" --each --json "${q[@]}" ;;
        merged-t1) OMP_NUM_THREADS=1 "$BIN" query --db "$db" --each --json "${q[@]}" ;;
        n2t1) OMP_NUM_THREADS=1 "${run[@]}" -x OMP_NUM_THREADS -n 2 "$mpi" query --db "$db" \
                  --each --json "${q[@]}" ;;
        n1t2) OMP_NUM_THREADS=2 "${run[@]}" -x OMP_NUM_THREADS -n 1 "$mpi" query --db "$db" \
                  --each --json "${q[@]}" ;;
        esac | sed -n "$p50"
    done
    rm -rf "$db"
}
section shards index_mpi

# Bookkeeping at scale: >= 1M photo records with vectors, written through the
# same batch commits as an ingest but without decoding or networks
# (tests/bench/synth_db.c; descriptors from a Gaussian model fitted to the
# lfw_am ingest when available).  SCALE_PHOTOS overrides the size.
ingest_scale() {
    local model=()
    [ -d "$bench_tmp/lfw-db" ] && model=(--model-db "$bench_tmp/lfw-db")
    "$BUILD/bench/synth_db" --out "$bench_tmp/synth" --photos "${SCALE_PHOTOS:-1000000}" \
        --report 200000 "${model[@]}"
    rm -rf "$bench_tmp/synth"
}
section ingest-scale ingest_scale

# --- index (issue 5): per index type, build time, bytes per face, single-query
# p50/p99, batched QPS, recall@10 against exact search; AVX2 FAISS and
# Debian's side by side.  Real vectors (the lfw_am ingest, queries = stored
# faces), then synthetic ones (tests/bench/synth.c: a Gaussian model fitted to
# the lfw_am descriptors; queries = new faces of stored identities) at 1M, and
# at 10M when INDEX_10M=1 (128-D: ~20 min and ~16 GB of disk here; 512-D:
# ~23 GB and over an hour, mostly k-means over 16,384 lists).
index_lfw() {
    [ -d "$bench_tmp/lfw-db" ] || { echo "skipped: run with the ingest-lfw section"; return 0; }
    for b in bench_index bench_index_debian; do
        "$BUILD/bench/$b" --db "$bench_tmp/lfw-db" --sample-queries 1000 \
            --factory auto --factory "IVF64,SQ8" --nprobe 4,8,16
    done
}
section index-lfw index_lfw

index_synth() {  # index_synth PHOTOS FACTORY...  (auto last: query and dedup use it)
    local n=$1
    shift
    local model=() facts=()
    [ -d "$bench_tmp/lfw-db" ] && model=(--model-db "$bench_tmp/lfw-db")
    for f in "$@"; do facts+=(--factory "$f"); done
    rm -rf "$bench_tmp/synth"
    "$BUILD/bench/synth_db" --out "$bench_tmp/synth" --photos "$n" --queries 1000 \
        --report "$n" "${model[@]}" | tail -n 3
    "$BUILD/bench/bench_index" --db "$bench_tmp/synth" "${facts[@]}" --nprobe 16,64,256,1024 \
        --ef 64,128,256 --k-factor 10
    "$BUILD/bench/bench_index_debian" --db "$bench_tmp/synth" --no-build --nprobe 64,256
    # dedup of the whole collection through the auto index (its summary
    # line; 1M only: 10M takes hours on two cores)
    [ "$n" -le 1000000 ] && "$BIN" dedup --db "$bench_tmp/synth" | head -n 1
    rm -rf "$bench_tmp/synth"
}
# INDEX_ALT=1 adds the measured alternatives (HNSW32 takes ~8 min to build at 1M).
alt=()
[ "${INDEX_ALT:-0}" = 1 ] && alt=("HNSW32" "IVF4096,PQ32x4fs,RFlat")
section index-1M index_synth 1000000 "${alt[@]}" auto
[ "${INDEX_10M:-0}" = 1 ] && section index-10M index_synth 10000000 auto

exit $status
