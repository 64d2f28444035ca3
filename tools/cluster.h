/*
 * tools/cluster.h — what facesearch-mpi (tools/mpi/) plugs into a command
 * that runs across processes.  Plain facesearch passes NULL and links no MPI.
 */
#ifndef FS_TOOLS_CLUSTER_H
#define FS_TOOLS_CLUSTER_H

#include "facesearch/ingest.h"

typedef struct ingest_cluster {
    int rank, size;
    void *ctx;
    /* Called on every process once its database (of `shards` shards) and
     * engine are ready, or with shards = 0 when they are not: sets this
     * process's share of the sources in o (rank 0 walks o's roots or
     * manifest and hands each path to the process owning its shard).
     * Returns FS_OK when every process is ready, else an error (the same on
     * all). */
    int (*start)(void *ctx, int shards, fs_ingest_opts *o, fs_error *err);
    /* This process's progress (writer thread).  On rank 0, fills *job with
     * the whole job's and returns 1 when a line is due. */
    int (*progress)(void *ctx, const fs_ingest_stats *mine, fs_ingest_stats *job);
    /* After the run, with this process's status: on rank 0, *st becomes the
     * whole job's; returns the job's status (the first failure of any
     * process, its message in *err on rank 0). */
    int (*finish)(void *ctx, fs_ingest_stats *st, int rc, fs_error *err);
} ingest_cluster;

/* `facesearch ingest` with a cluster's hooks (NULL: one process). */
int cmd_ingest_on(int argc, char **argv, const ingest_cluster *cl);

#endif
