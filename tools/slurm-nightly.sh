#!/usr/bin/env bash
# The nightly job on a Slurm cluster: ingest what changed, then rebuild the
# index across the same ranks (each fills its shards' indexes; rank 0 trains
# once and merges), with facesearch-mpi under mpirun inside the job's
# allocation, over a sharded database on a filesystem every node mounts.
#
#   sbatch --nodes=4 --ntasks-per-node=1 --cpus-per-task=32 \
#          tools/slurm-nightly.sh /shared/facesearch-db /archive
#
# One rank per node with --threads = its cores works best (ranks x threads =
# cores; docs/operations.md).  The database must exist: once,
#   facesearch init --db /shared/facesearch-db --shards 64
# (shards >= ranks; a shard count several times the largest rank count you
# expect keeps ranks balanced).  A failed run is simply submitted again: every
# shard is crash-safe and the next ingest finishes the job.
#SBATCH --job-name=facesearch-nightly
#SBATCH --output=facesearch-nightly-%j.log
set -euo pipefail
db=${1:?usage: sbatch tools/slurm-nightly.sh DB_DIR ARCHIVE_DIR...}
shift
[ $# -gt 0 ] || { echo "usage: sbatch tools/slurm-nightly.sh DB_DIR ARCHIVE_DIR..." >&2; exit 1; }
bin=${FACESEARCH_MPI:-facesearch-mpi}
threads=${SLURM_CPUS_PER_TASK:-$(nproc)}
# Open MPI's mpirun reads the allocation from Slurm (ranks = tasks, placed on
# the allocated nodes) and needs no PMI plugin in Slurm; --bind-to none lets
# each rank's threads use all its cores.
launch=(mpirun --bind-to none)
[ "$(id -u)" = 0 ] && launch+=(--allow-run-as-root)
# --prune only when every root is there: a missing mount must not look like
# a deleted archive (ingest checks it too).
prune=()
for r in "$@"; do [ -e "$r" ] || { echo "missing root $r: no --prune" >&2; prune=(); break; }; prune=(--prune); done
"${launch[@]}" "$bin" ingest --db "$db" --threads "$threads" "${prune[@]}" "$@"
"${launch[@]}" "$bin" build --db "$db" --threads "$threads"
