/*
 * build, query and dedup over the ranks of an MPI job, on a sharded database.
 *
 * Rank 0 runs the command (tools/cmd_build.c, cmd_query.c, cmd_dedup.c)
 * with the index_cluster hooks below; each hook broadcasts a request and
 * then takes its own part in it, as every other rank does from serve().  A
 * rank works on the shards s with s % N == rank, as in ingest.  Every
 * collective is posted non-blocking and waited for with naps (wait.c), so
 * a rank waiting for a busy peer does not take its core.
 */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli.h"
#include "../commands.h"
#include "../store_cli.h"
#include "mpi_cmd.h"

enum { REQ_STOP, REQ_BUILD, REQ_OPEN, REQ_SEARCH, REQ_GRAPH };

/* What rank 0 broadcasts; the fields an operation does not use are 0. */
typedef struct request {
    int op;
    int nq, k, dim;         /* SEARCH; GRAPH's k and dim */
    int nprobe, ef_search;  /* OPEN */
    double k_factor;        /* OPEN */
    float threshold;        /* GRAPH: cosine distance */
    int threads, no_merge;  /* BUILD */
    uint64_t train_max, seed;
    char factory[128];
    char dir[4096];         /* BUILD, OPEN */
} request;

typedef struct cluster {
    int rank, size;
    MPI_Comm comm;
    MPI_Op merge;       /* merges two top-k lists (merge_op) */
    fs_index *ix;       /* this rank's shards' indexes (OPEN; rank 0's is the command's) */
    char dir[4096];
} cluster;

/* ---- collectives, waited for politely ----------------------------------- */

static void bcast(cluster *c, void *buf, int n, MPI_Datatype t)
{
    MPI_Request r;
    MPI_Ibcast(buf, n, t, 0, c->comm, &r);
    mpi_wait(&r);
}

static void allreduce(cluster *c, const void *in, void *out, int n, MPI_Datatype t, MPI_Op op)
{
    MPI_Request r;
    MPI_Iallreduce(in, out, n, t, op, c->comm, &r);
    mpi_wait(&r);
}

/* The job's status after a step every rank took: FS_OK when all succeeded,
 * else the code of the first failing rank, with its message on rank 0 (the
 * other ranks get a failure code and no message). */
static int agree(cluster *c, int rc, fs_error *err)
{
    int me = rc != FS_OK ? c->rank : INT_MAX, first;
    allreduce(c, &me, &first, 1, MPI_INT, MPI_MIN);
    if (first == INT_MAX)
        return FS_OK;
    struct {
        int rc;
        char msg[sizeof err->msg];
    } m = {rc, ""};
    if (first != 0 && c->rank == first) {
        snprintf(m.msg, sizeof m.msg, "%s", err ? err->msg : "");
        MPI_Send(&m, (int)sizeof m, MPI_BYTE, 0, 0, c->comm);
    } else if (first != 0 && c->rank == 0) {
        MPI_Request r;
        MPI_Irecv(&m, (int)sizeof m, MPI_BYTE, first, 0, c->comm, &r);
        mpi_wait(&r);
        return fs_fail(err, m.rc, "rank %d: %s", first, m.msg);
    }
    return c->rank == first ? rc : FS_EINTERNAL;
}

/* ---- top-k lists on the wire ----------------------------------------------
 * One query's k results travel as k int64 ids then k floats, padded to 8
 * bytes, so that MPI can reduce them with merge_op. */

static int topk_bytes(int k)
{
    return 12 * k + (k & 1) * 4;
}

static void pack(int k, int nq, const float *dist, const int64_t *ids, uint8_t *out)
{
    for (int q = 0; q < nq; q++) {
        uint8_t *p = out + (size_t)q * topk_bytes(k);
        memcpy(p, ids + (size_t)q * k, 8 * (size_t)k);
        memcpy(p + 8 * k, dist + (size_t)q * k, 4 * (size_t)k);
    }
}

static void unpack(int k, int nq, const uint8_t *in, float *dist, int64_t *ids)
{
    for (int q = 0; q < nq; q++) {
        const uint8_t *p = in + (size_t)q * topk_bytes(k);
        memcpy(ids + (size_t)q * k, p, 8 * (size_t)k);
        memcpy(dist + (size_t)q * k, p + 8 * k, 4 * (size_t)k);
    }
}

/* The MPI type of one query's k results (free with MPI_Type_free). */
static MPI_Datatype topk_type(int k)
{
    MPI_Datatype t;
    MPI_Type_contiguous(topk_bytes(k), MPI_BYTE, &t);
    MPI_Type_commit(&t);
    return t;
}

static void merge_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    int bytes;
    MPI_Type_size(*type, &bytes);
    int k = bytes / 12; /* topk_bytes(k) / 12, rounded down */
    float d1[k], d2[k];
    int64_t i1[k], i2[k];
    for (int q = 0; q < *len; q++) {
        uint8_t *a = (uint8_t *)in + (size_t)q * bytes, *b = (uint8_t *)inout + (size_t)q * bytes;
        unpack(k, 1, a, d1, i1);
        unpack(k, 1, b, d2, i2);
        fs_index_merge_topk(k, d2, i2, d1, i1);
        pack(k, 1, d2, i2, b);
    }
}

/* Searches this rank's shards for nq queries; on failure, empty results
 * (the reduction still needs this rank's part). */
static int search_local(cluster *c, const float *q, int nq, int k, float *dist, int64_t *ids,
                        fs_error *err)
{
    int rc = c->ix ? fs_index_search(c->ix, q, nq, k, dist, ids, err)
                   : fs_fail(err, FS_EINDEX, "no index open on rank %d", c->rank);
    if (rc != FS_OK)
        for (size_t i = 0; i < (size_t)nq * k; i++) {
            dist[i] = INFINITY;
            ids[i] = -1;
        }
    return rc;
}

/* ---- OPEN, SEARCH -------------------------------------------------------- */

static int do_open(cluster *c, const request *r, fs_error *err)
{
    fs_index_close(c->rank ? c->ix : NULL); /* rank 0's belongs to its command */
    c->ix = NULL;
    snprintf(c->dir, sizeof c->dir, "%s", r->dir);
    int rc = fs_index_open_shards(r->dir, c->size, c->rank, &c->ix, err);
    if (rc == FS_OK)
        rc = fs_index_set_search(c->ix, r->nprobe, r->ef_search, r->k_factor, err);
    rc = agree(c, rc, err);
    if (rc != FS_OK && c->ix) {
        fs_index_close(c->ix);
        c->ix = NULL;
    }
    return rc;
}

/* q, dist, ids: rank 0's (nq queries in, nq * k results out). */
static int do_search(cluster *c, const request *r, const float *q, float *dist, int64_t *ids,
                     fs_error *err)
{
    int dim = r->dim, k = r->k, nq = r->nq;
    size_t n = (size_t)nq * k;
    float *qv = c->rank ? malloc(sizeof(float) * (size_t)nq * dim) : (float *)q;
    float *d = c->rank ? malloc(sizeof(float) * n) : dist;
    int64_t *h = c->rank ? malloc(sizeof(int64_t) * n) : ids;
    uint8_t *mine = malloc((size_t)nq * topk_bytes(k)), *all = malloc((size_t)nq * topk_bytes(k));
    if (!qv || !d || !h || !mine || !all)
        MPI_Abort(MPI_COMM_WORLD, EXIT_INTERNAL); /* out of memory mid-collective */
    bcast(c, qv, nq * dim, MPI_FLOAT);
    int rc = search_local(c, qv, nq, k, d, h, err);
    pack(k, nq, d, h, mine);
    MPI_Datatype t = topk_type(k);
    MPI_Request req;
    MPI_Ireduce(mine, all, nq, t, c->merge, 0, c->comm, &req);
    mpi_wait(&req);
    MPI_Type_free(&t);
    if (c->rank == 0)
        unpack(k, nq, all, dist, ids);
    free(mine);
    free(all);
    if (c->rank) {
        free(qv);
        free(d);
        free(h);
    }
    return agree(c, rc, err);
}

/* ---- GRAPH --------------------------------------------------------------- */

/* An edge between two face ids, as gathered on rank 0. */
typedef struct id_edge {
    uint64_t a, b;
    float w;
} id_edge;

/* Appends the edges of one face (this rank's face i) from its merged
 * neighbours, with fs_knn_graph's rules: closer than the threshold, not
 * itself, not a face of the same photo (a photo lives in one shard, so only
 * this rank's faces can share it). */
static int face_edges(const stored_faces *f, size_t i, int k, const float *d,
                      const int64_t *h, float thr, id_edge **e, size_t *n, size_t *cap)
{
    for (int j = 0; j < k; j++) {
        if (h[j] < 0 || !(d[j] < thr) || (uint64_t)h[j] == f->ids[i])
            continue;
        long b = fs_ids_find(f->ids, f->n, (uint64_t)h[j]);
        if (b >= 0 && f->photo[b] == f->photo[i])
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? 2 * *cap : 4096;
            id_edge *p = realloc(*e, nc * sizeof *p);
            if (!p)
                return FS_ENOMEM;
            *e = p;
            *cap = nc;
        }
        (*e)[(*n)++] = (id_edge){f->ids[i], (uint64_t)h[j], 1.0f - d[j] / thr};
    }
    return FS_OK;
}

#define GRAPH_BATCH 1024 /* queries per rank per round */

/* Gathers n_mine items of `bytes` bytes from every rank into rank 0's
 * malloc'ed *all (n_all items). */
static int gather(cluster *c, const void *mine, long n_mine, int bytes, void **all, long *n_all)
{
    int cnt = (int)(n_mine * bytes), *counts = NULL, *displs = NULL;
    if (c->rank == 0) {
        counts = calloc((size_t)c->size, sizeof *counts);
        displs = calloc((size_t)c->size, sizeof *displs);
    }
    MPI_Request r;
    MPI_Igather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, c->comm, &r);
    mpi_wait(&r);
    long total = 0;
    for (int i = 0; c->rank == 0 && i < c->size; i++) {
        displs[i] = (int)total;
        total += counts[i];
    }
    if (total > INT_MAX)
        MPI_Abort(MPI_COMM_WORLD, EXIT_INTERNAL); /* > 2 GB on one rank */
    *all = c->rank == 0 ? malloc((size_t)total + 1) : NULL;
    MPI_Igatherv(mine, cnt, MPI_BYTE, *all, counts, displs, MPI_BYTE, 0, c->comm, &r);
    mpi_wait(&r);
    free(counts);
    free(displs);
    *n_all = total / bytes;
    return c->rank == 0 && !*all ? FS_ENOMEM : FS_OK;
}

typedef struct id_photo {
    uint64_t id, photo;
} id_photo;

static int by_id(const void *a, const void *b)
{
    uint64_t x = ((const id_photo *)a)->id, y = ((const id_photo *)b)->id;
    return (x > y) - (x < y);
}

/* Every rank's faces searched against all shards in rounds of up to
 * GRAPH_BATCH faces per rank: the round's queries are gathered everywhere,
 * each rank searches its shards, and the merged lists go back to each
 * query's rank (reduce-scatter).  Rank 0 then gathers the face ids, photo
 * ids and edges: 16 + 20 bytes per face and edge, never a vector. */
static int do_graph(cluster *c, const request *r, uint64_t **ids_out, uint64_t **photo_out,
                    size_t *n_out, fs_edge **edges_out, size_t *n_edges, fs_error *err)
{
    int k = r->k, dim = r->dim;
    fs_db *db = NULL;
    fs_db_snap *snap = NULL;
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    stored_faces f = {0};
    int rc = fs_db_open_shards(c->dir, &ro, c->size, c->rank, &db, err);
    if (rc == FS_OK && (rc = fs_db_snap_begin(db, &snap, err)) == FS_OK)
        rc = store_cli_load_faces(snap, dim, &f, err);
    fs_db_snap_end(snap);
    fs_db_close(db);
    if ((rc = agree(c, rc, err)) != FS_OK) {
        store_cli_free_faces(&f);
        return rc;
    }
    long rounds = (long)((f.n + GRAPH_BATCH - 1) / GRAPH_BATCH);
    allreduce(c, MPI_IN_PLACE, &rounds, 1, MPI_LONG, MPI_MAX);
    int *counts = malloc(sizeof(int) * (size_t)c->size), *displs = malloc(sizeof(int) * (size_t)c->size);
    float *q = malloc(sizeof(float) * (size_t)GRAPH_BATCH * c->size * dim);
    size_t nres = (size_t)GRAPH_BATCH * c->size * k;
    float *d = malloc(sizeof(float) * nres);
    int64_t *h = malloc(sizeof(int64_t) * nres);
    uint8_t *packed = malloc((size_t)GRAPH_BATCH * c->size * topk_bytes(k));
    uint8_t *mine = malloc((size_t)GRAPH_BATCH * topk_bytes(k));
    if (!counts || !displs || !q || !d || !h || !packed || !mine)
        MPI_Abort(MPI_COMM_WORLD, EXIT_INTERNAL); /* out of memory mid-collective */
    MPI_Datatype t = topk_type(k);
    id_edge *e = NULL;
    size_t ne = 0, ecap = 0;
    for (long round = 0; round < rounds; round++) {
        size_t from = (size_t)round * GRAPH_BATCH;
        int cnt = from < f.n ? (int)(f.n - from < GRAPH_BATCH ? f.n - from : GRAPH_BATCH) : 0;
        MPI_Request req;
        MPI_Iallgather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, c->comm, &req);
        mpi_wait(&req);
        int total = 0;
        for (int i = 0; i < c->size; i++) {
            counts[i] *= dim;
            displs[i] = total * dim;
            total += counts[i] / dim;
        }
        MPI_Iallgatherv(cnt ? f.v + from * dim : f.v, cnt * dim, MPI_FLOAT, q, counts, displs, MPI_FLOAT,
                        c->comm, &req);
        mpi_wait(&req);
        int src = total ? search_local(c, q, total, k, d, h, err) : FS_OK;
        if (src != FS_OK && rc == FS_OK)
            rc = src;
        pack(k, total, d, h, packed);
        for (int i = 0; i < c->size; i++)
            counts[i] /= dim;
        MPI_Ireduce_scatter(packed, mine, counts, t, c->merge, c->comm, &req);
        mpi_wait(&req);
        unpack(k, cnt, mine, d, h);
        for (int i = 0; rc == FS_OK && i < cnt; i++)
            if (face_edges(&f, from + i, k, d + (size_t)i * k, h + (size_t)i * k, r->threshold,
                           &e, &ne, &ecap) != FS_OK)
                rc = fs_fail(err, FS_ENOMEM, "out of memory for the k-NN graph");
    }
    MPI_Type_free(&t);
    free(counts);
    free(displs);
    free(q);
    free(d);
    free(h);
    free(packed);
    free(mine);
    /* Nodes: every face id with its photo, then the edges. */
    id_photo *np = malloc(sizeof *np * (f.n + 1));
    if (!np)
        MPI_Abort(MPI_COMM_WORLD, EXIT_INTERNAL);
    size_t n_mine = f.n;
    for (size_t i = 0; i < n_mine; i++)
        np[i] = (id_photo){f.ids[i], f.photo[i]};
    store_cli_free_faces(&f);
    void *all_nodes = NULL, *all_edges = NULL;
    long n_nodes = 0, n_e = 0;
    int grc = gather(c, np, (long)n_mine, (int)sizeof *np, &all_nodes, &n_nodes);
    free(np);
    if (grc == FS_OK)
        grc = gather(c, e, (long)ne, (int)sizeof *e, &all_edges, &n_e);
    free(e);
    if (rc == FS_OK && grc != FS_OK)
        rc = fs_fail(err, grc, "out of memory gathering the k-NN graph");
    if ((rc = agree(c, rc, err)) != FS_OK || c->rank != 0) {
        free(all_nodes);
        free(all_edges);
        return rc;
    }
    /* Rank 0: nodes in id order, edges between node numbers. */
    id_photo *nodes = all_nodes;
    id_edge *ie = all_edges;
    qsort(nodes, (size_t)n_nodes, sizeof *nodes, by_id);
    uint64_t *ids = malloc(sizeof *ids * ((size_t)n_nodes + 1));
    uint64_t *photo = malloc(sizeof *photo * ((size_t)n_nodes + 1));
    fs_edge *edges = malloc(sizeof *edges * ((size_t)n_e + 1));
    if (!ids || !photo || !edges) {
        free(ids);
        free(photo);
        free(edges);
        free(all_nodes);
        free(all_edges);
        return fs_fail(err, FS_ENOMEM, "out of memory for the k-NN graph");
    }
    for (long i = 0; i < n_nodes; i++) {
        ids[i] = nodes[i].id;
        photo[i] = nodes[i].photo;
    }
    size_t m = 0;
    for (long i = 0; i < n_e; i++) {
        long a = fs_ids_find(ids, (size_t)n_nodes, ie[i].a), b = fs_ids_find(ids, (size_t)n_nodes, ie[i].b);
        if (a < 0 || b < 0) /* a face the index holds but the database no longer does */
            continue;
        edges[m++] = (fs_edge){(uint32_t)(a < b ? a : b), (uint32_t)(a < b ? b : a), ie[i].w};
    }
    free(all_nodes);
    free(all_edges);
    *ids_out = ids;
    *photo_out = photo;
    *n_out = (size_t)n_nodes;
    *edges_out = edges;
    *n_edges = fs_edges_unique(edges, m);
    return FS_OK;
}

/* ---- BUILD --------------------------------------------------------------- */

/* Rank 0 puts the ranks' parts of the training sample (gathered rank by
 * rank, each in its shards' order) back in shard order, as one process
 * draws them, and trains on it.  got[s]: shard s's count. */
static int train_on_gathered(cluster *c, const float *all, const uint64_t *got, int n, int dim,
                             const char *factory, fs_index **trained, fs_error *err)
{
    uint64_t *start = calloc((size_t)n + 1, sizeof *start), src = 0;
    if (!start)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        start[i + 1] = start[i] + got[i];
    float *ordered = malloc(sizeof(float) * (start[n] + 1) * (size_t)dim);
    int rc = ordered ? FS_OK : fs_fail(err, FS_ENOMEM, "out of memory for the training sample");
    for (int rk = 0; ordered && rk < c->size; rk++)
        for (int i = rk; i < n; i += c->size) {
            memcpy(ordered + start[i] * dim, all + src * dim,
                   sizeof(float) * got[i] * (size_t)dim);
            src += got[i];
        }
    if (rc == FS_OK)
        rc = fs_index_train(factory, dim, ordered, start[n], trained, err);
    free(ordered);
    free(start);
    return rc;
}

/* The steps of fs_index_build on a sharded database, each rank on its
 * shards; info: rank 0's sidecar of the merged index. */
static int do_build(cluster *c, const request *r, fs_index_info *info, fs_error *err)
{
    double t0 = fs_now();
    if (r->threads > 0)
        omp_set_num_threads(r->threads);
    fs_db *db = NULL;
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    int rc = fs_db_open_shards(r->dir, &ro, c->size, c->rank, &db, err);
    int n = rc == FS_OK ? fs_db_shard_count(db) : 0, dim = 0;
    allreduce(c, MPI_IN_PLACE, &n, 1, MPI_INT, MPI_MAX);
    uint64_t *faces = calloc((size_t)n + 1, sizeof *faces), *got = calloc((size_t)n + 1, sizeof *got);
    if (!faces || !got)
        MPI_Abort(MPI_COMM_WORLD, EXIT_INTERNAL);
    if (rc == FS_OK)
        rc = fs_index_shard_sizes(db, faces, &dim, err);
    allreduce(c, MPI_IN_PLACE, faces, n, MPI_UINT64_T, MPI_SUM);
    allreduce(c, MPI_IN_PLACE, &dim, 1, MPI_INT, MPI_MAX);
    uint64_t total = 0, cap = 0, mine = 0, n_sample = 0;
    for (int i = 0; i < n; i++)
        total += faces[i];
    char factory[128];
    fs_index_build_opts o = {.factory = r->factory, .train_max = r->train_max,
                             .threads = r->threads, .seed = r->seed};
    float *sample = NULL;
    double tt = fs_now();
    if (rc == FS_OK)
        rc = fs_index_plan(&o, total, dim, factory, sizeof factory, &cap, err);
    if (rc == FS_OK)
        rc = fs_index_sample_shards(db, faces, dim, cap, r->seed ? r->seed : 42, &sample, got,
                                    &mine, err);
    fs_index *trained = NULL;
    uint8_t *bytes = NULL;
    uint64_t len = 0;
    if ((rc = agree(c, rc, err)) == FS_OK) {
        allreduce(c, MPI_IN_PLACE, got, n, MPI_UINT64_T, MPI_SUM);
        for (int i = 0; i < n; i++)
            n_sample += got[i];
        void *all = NULL;
        long n_all = 0;
        rc = gather(c, sample, (long)mine, (int)sizeof(float) * dim, &all, &n_all);
        if (c->rank == 0 && rc == FS_OK)
            rc = train_on_gathered(c, all, got, n, dim, factory, &trained, err);
        else if (rc != FS_OK)
            rc = fs_fail(err, rc, "out of memory gathering the training sample");
        size_t blen = 0;
        if (c->rank == 0 && rc == FS_OK)
            rc = fs_index_to_bytes(trained, &bytes, &blen, err);
        len = blen;
        free(all);
        rc = agree(c, rc, err);
    }
    free(sample);
    double train_s = fs_now() - tt, ta = fs_now();
    if (rc == FS_OK) {
        /* The trained empty index, from rank 0 to all. */
        bcast(c, &len, 1, MPI_UINT64_T);
        if (len > INT_MAX || (c->rank && !(bytes = malloc(len))))
            MPI_Abort(MPI_COMM_WORLD, EXIT_INTERNAL);
        bcast(c, bytes, (int)len, MPI_BYTE);
        if (c->rank)
            rc = fs_index_from_bytes(bytes, len, factory, n_sample, &trained, err);
        if (rc == FS_OK)
            rc = fs_index_fill_shards(db, r->dir, trained, err);
        rc = agree(c, rc, err);
    }
    double add_s = fs_now() - ta;
    allreduce(c, MPI_IN_PLACE, &add_s, 1, MPI_DOUBLE, MPI_MAX);
    fs_db_close(db);
    if (rc == FS_OK && c->rank == 0) {
        /* Rank 0 merges the shards' indexes into dir/faces.faiss (or with
         * --no-merge writes its sidecar alone). */
        fs_db *all = NULL;
        if ((rc = fs_db_open(r->dir, &ro, &all, err)) == FS_OK) {
            info->train_s = train_s;
            info->add_s = add_s;
            info->build_s = fs_now() - t0;
            rc = fs_index_merge_shards(all, r->dir, trained, !r->no_merge, info, err);
        }
        fs_db_close(all);
    }
    fs_index_close(trained);
    free(bytes);
    free(faces);
    free(got);
    return rc;
}

/* ---- rank 0's hooks and the other ranks' loop ------------------------------- */

static void post(cluster *c, request *r)
{
    bcast(c, r, (int)sizeof *r, MPI_BYTE);
}

static int hook_build(void *ctx, fs_db *db, const char *dir, const fs_index_build_opts *o,
                      fs_index_info *info, fs_error *err)
{
    cluster *c = ctx;
    /* What fs_index_build checks first, on the whole database. */
    fs_db_snap *snap = NULL;
    fs_db_stats st;
    int rc = fs_db_snap_begin(db, &snap, err);
    if (rc == FS_OK && (rc = fs_db_stats_get(snap, &st, err)) == FS_OK)
        rc = fs_index_buildable(&st, dir, err);
    fs_db_snap_end(snap);
    if (rc != FS_OK)
        return rc;
    request r = {.op = REQ_BUILD, .threads = o->threads, .no_merge = o->no_merge,
                 .train_max = o->train_max, .seed = o->seed};
    snprintf(r.factory, sizeof r.factory, "%s", o->factory ? o->factory : "auto");
    snprintf(r.dir, sizeof r.dir, "%s", dir);
    post(c, &r);
    memset(info, 0, sizeof *info);
    return do_build(c, &r, info, err);
}

static int hook_open(void *ctx, const char *dir, int nprobe, int ef_search, double k_factor,
                     fs_index **ix, fs_error *err)
{
    cluster *c = ctx;
    request r = {.op = REQ_OPEN, .nprobe = nprobe, .ef_search = ef_search, .k_factor = k_factor};
    snprintf(r.dir, sizeof r.dir, "%s", dir);
    post(c, &r);
    int rc = do_open(c, &r, err);
    *ix = rc == FS_OK ? c->ix : NULL;
    return rc;
}

static int hook_search(void *ctx, fs_index *ix, const float *q, int nq, int k, float *dist,
                       int64_t *ids, fs_error *err)
{
    cluster *c = ctx;
    request r = {.op = REQ_SEARCH, .nq = nq, .k = k, .dim = fs_index_get_info(ix)->dim};
    c->ix = ix;
    post(c, &r);
    return do_search(c, &r, q, dist, ids, err);
}

static int hook_graph(void *ctx, int k, float threshold, uint64_t **ids, uint64_t **photo,
                      size_t *n, fs_edge **edges, size_t *n_edges, fs_error *err)
{
    cluster *c = ctx;
    request r = {.op = REQ_GRAPH, .k = k, .dim = fs_index_get_info(c->ix)->dim,
                 .threshold = threshold};
    post(c, &r);
    return do_graph(c, &r, ids, photo, n, edges, n_edges, err);
}

/* Ranks other than 0: carry out rank 0's requests until it stops. */
static void serve(cluster *c)
{
    for (;;) {
        request r;
        post(c, &r);
        fs_error e = {0};
        if (r.op == REQ_STOP)
            break;
        if (r.op == REQ_BUILD)
            do_build(c, &r, NULL, &e);
        else if (r.op == REQ_OPEN)
            do_open(c, &r, &e);
        else if (r.op == REQ_SEARCH)
            do_search(c, &r, NULL, NULL, NULL, &e);
        else if (r.op == REQ_GRAPH)
            do_graph(c, &r, NULL, NULL, NULL, NULL, NULL, &e);
    }
    fs_index_close(c->ix);
}

int mpi_cmd_index(const char *name, int argc, char **argv, int rank, int size)
{
    cluster c = {rank, size, MPI_COMM_NULL, MPI_OP_NULL, NULL, ""};
    MPI_Comm_dup(MPI_COMM_WORLD, &c.comm);
    MPI_Op_create(merge_op, 1, &c.merge);
    int rc = EXIT_OK;
    if (rank == 0) {
        index_cluster cl = {&c, hook_build, hook_open, hook_search, hook_graph};
        if (strcmp(name, "build") == 0)
            rc = cmd_build_on(argc, argv, &cl);
        else if (strcmp(name, "query") == 0)
            rc = cmd_query_on(argc, argv, &cl);
        else
            rc = cmd_dedup_on(argc, argv, &cl);
        request stop = {.op = REQ_STOP};
        post(&c, &stop);
    } else {
        serve(&c);
    }
    MPI_Op_free(&c.merge);
    MPI_Comm_free(&c.comm);
    return rc;
}
