#!/usr/bin/env bash
# make test-slurm: the nightly Slurm job for real, on a one-node Slurm cluster
# started here (Debian's slurm-wlm: munged + slurmctld + slurmd on localhost,
# as root, state in a scratch directory), then stopped again.  Submits
# tools/slurm-nightly.sh with sbatch over the sample photos and checks that
# the sharded database holds every photo and face and that the index was
# built.  Ends with "N passed, N failed" like the main suite.
set -uo pipefail
BIN=${BIN:-build/facesearch}
MODELS=${MODELS:-models}
[ "$(id -u)" = 0 ] || { echo "test-slurm: needs root (it starts Slurm's daemons)"; echo "0 passed, 0 failed"; exit 0; }
pass=0 fail=0
check() {  # check NAME COMMAND...
    if "${@:2}"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi
}
work=$(mktemp -d /tmp/fs-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    sleep 1
    rm -rf "$work"
}
trap cleanup EXIT

# munge: one key, a daemon with its socket in the scratch dir
mkdir -p "$work/munge" && chown munge: "$work/munge" 2>/dev/null
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chown munge: "$work/munge/munge.key" && chmod 400 "$work/munge/munge.key"
runuser -u munge -- munged --key-file="$work/munge/munge.key" \
    --socket="$work/munge/munge.socket" --pid-file="$work/munge/munged.pid" \
    --log-file="$work/munge/munged.log" --seed-file="$work/munge/seed" --force ||
    { echo "test-slurm: munged would not start"; cat "$work/munge/munged.log"; exit 1; }
pids+=("$(cat "$work/munge/munged.pid")")

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=facesearch-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -i || { echo "test-slurm: slurmctld would not start"; cat "$work/slurmctld.log"; exit 1; }
sleep 1
pids+=("$(cat "$work/slurmctld.pid")")
slurmd || { echo "test-slurm: slurmd would not start"; cat "$work/slurmd.log"; exit 1; }
sleep 1
pids+=("$(cat "$work/slurmd.pid")")
for _ in $(seq 30); do
    sinfo -h -o %t 2>/dev/null | grep -q idle && break
    sleep 1
done
check slurm_node_is_idle sh -c 'sinfo -h -o %t | grep -q idle'

db=$work/db
"$BIN" init --db "$db" --shards 4 --models "$MODELS" >/dev/null
photos=$(cd "$MODELS/demo" && pwd)
bindir=$(cd "$(dirname "$BIN")" && pwd)
# Two ranks of one CPU each; the job writes its log next to the database.
sbatch --wait --ntasks=2 --cpus-per-task=1 --output="$work/job.log" \
    --export=ALL,PATH="$bindir:$PATH",FACESEARCH_MPI="$bindir/facesearch-mpi" \
    tools/slurm-nightly.sh "$db" "$photos" >/dev/null 2>&1
rc=$?
check sbatch_job_succeeded test "$rc" = 0
[ "$rc" = 0 ] || cat "$work/job.log"
stats=$("$BIN" stats --db "$db" --json 2>&1)
check job_ingested_every_photo sh -c "echo '$stats' | grep -q '\"images\":6,'"
check job_ingested_every_face sh -c "echo '$stats' | grep -q '\"faces\":22,'"
check job_built_the_index test -s "$db/faces.faiss"
check job_log_has_one_summary sh -c "[ \$(grep -c '^ingest complete' '$work/job.log') = 1 ]"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
