/*
 * tools/cluster.h — what facesearch-mpi (tools/mpi/) plugs into a command
 * that runs across processes.  Plain facesearch passes NULL and links no MPI.
 */
#ifndef FS_TOOLS_CLUSTER_H
#define FS_TOOLS_CLUSTER_H

#include "facesearch/cluster.h"
#include "facesearch/index.h"
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

/*
 * What facesearch-mpi plugs into build, query and dedup on rank 0 of a job
 * over a sharded database (the other ranks serve its requests over their
 * shards).  NULL: one process, on DIR/faces.faiss.
 */
typedef struct index_cluster {
    void *ctx;
    /* fs_index_build across the ranks: each samples and fills its shards,
     * rank 0 trains once and merges. */
    int (*build)(void *ctx, fs_db *db, const char *dir, const fs_index_build_opts *o,
                 fs_index_info *info, fs_error *err);
    /* Opens the shards' indexes on every rank with these search settings;
     * *ix is rank 0's share (its info: the merged index's sidecar). */
    int (*open)(void *ctx, const char *dir, int nprobe, int ef_search, double k_factor,
                fs_index **ix, fs_error *err);
    /* fs_index_search over every rank's share, merged on rank 0. */
    int (*search)(void *ctx, fs_index *ix, const float *q, int nq, int k, float *dist,
                  int64_t *ids, fs_error *err);
    /* dedup's graph: every rank searches its own faces' k nearest over all
     * shards; rank 0 gets every face id (ascending) with its photo id
     * (malloc'ed) and the edges, as fs_knn_graph gives them. */
    int (*graph)(void *ctx, int k, float threshold, uint64_t **ids, uint64_t **photo,
                 size_t *n, fs_edge **edges, size_t *n_edges, fs_error *err);
} index_cluster;

int cmd_build_on(int argc, char **argv, const index_cluster *cl);
int cmd_query_on(int argc, char **argv, const index_cluster *cl);
int cmd_dedup_on(int argc, char **argv, const index_cluster *cl);

/* The index a command searches: the cluster's, or dir/faces.faiss. */
static inline int cluster_index_open(const index_cluster *cl, const char *dir, int nprobe,
                                     int ef_search, double k_factor, fs_index **ix,
                                     fs_error *err)
{
    if (cl)
        return cl->open(cl->ctx, dir, nprobe, ef_search, k_factor, ix, err);
    int rc = fs_index_open(dir, ix, err);
    if (rc == FS_OK && (rc = fs_index_set_search(*ix, nprobe, ef_search, k_factor, err)) != FS_OK) {
        fs_index_close(*ix);
        *ix = NULL;
    }
    return rc;
}

static inline int cluster_index_search(const index_cluster *cl, fs_index *ix, const float *q,
                                       int nq, int k, float *dist, int64_t *ids, fs_error *err)
{
    return cl ? cl->search(cl->ctx, ix, q, nq, k, dist, ids, err)
              : fs_index_search(ix, q, nq, k, dist, ids, err);
}

#endif
