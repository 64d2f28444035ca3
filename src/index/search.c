/* Opening an index, searching it, and judging its freshness. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/index_io_c.h>

#include "internal.h"

int fs_index_read_faiss(const char *path, FaissIndex **out, fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fs_fail(err, errno == ENOENT ? FS_ENOTFOUND : FS_EIO,
                       "%s: %s%s", path, strerror(errno),
                       errno == ENOENT ? " (run facesearch build)" : "");
    int bad = faiss_read_index(f, 0, out);
    fclose(f);
    return bad ? fs_index_faiss_fail(err, path) : FS_OK;
}

int fs_index_open(const char *dir, fs_index **out, fs_error *err)
{
    *out = NULL;
    char path[4200], side[4200];
    snprintf(path, sizeof path, "%s/%s", dir, FS_INDEX_FILE);
    snprintf(side, sizeof side, "%s/%s", dir, FS_INDEX_SIDECAR);
    fs_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    uint64_t size;
    char fp[65];
    int rc = fs_index_fingerprint(path, &size, fp, err);
    if (rc == FS_ENOTFOUND && fs_index_sidecar_read(side, &ix->info, NULL) == FS_OK &&
        ix->info.trained[0] && !ix->info.fingerprint[0])
        fs_fail(err, rc, "%s: built with --no-merge, so only the shards' indexes exist: search "
                "them with mpirun facesearch-mpi, or run facesearch build", dir);
    else if (rc == FS_ENOTFOUND)
        fs_fail(err, rc, "%s: no index (run facesearch build)", path);
    /* The index is renamed into place before its sidecar is written, so a
     * build killed between the two leaves no sidecar or the old one: no
     * usable index, as if none had been built (exit 2, build again). */
    if (rc == FS_OK && (rc = fs_index_sidecar_read(side, &ix->info, err)) == FS_ENOTFOUND)
        fs_fail(err, rc, "%s: missing (an interrupted build?): run facesearch build", side);
    if (rc == FS_OK && (strcmp(fp, ix->info.fingerprint) != 0 || size != ix->info.file_bytes))
        rc = fs_fail(err, FS_ENOTFOUND,
                     "%s does not match its sidecar (an interrupted build?): run facesearch build",
                     path);
    if (rc == FS_OK)
        rc = fs_index_read_faiss(path, &ix->faiss, err);
    if (rc == FS_OK && faiss_Index_d(ix->faiss) != ix->info.dim)
        rc = fs_fail(err, FS_EINDEX, "%s: dimension %d, sidecar says %d", path,
                     faiss_Index_d(ix->faiss), ix->info.dim);
    if (rc != FS_OK) {
        fs_index_close(ix);
        return rc == FS_ENOTFOUND ? rc : (rc == FS_EIO ? rc : FS_EINDEX);
    }
    *out = ix;
    return FS_OK;
}

void fs_index_close(fs_index *ix)
{
    if (!ix)
        return;
    if (ix->faiss)
        faiss_Index_free(ix->faiss);
    for (int i = 0; i < ix->n_more; i++)
        faiss_Index_free(ix->more[i]);
    free(ix->more);
    free(ix);
}

const fs_index_info *fs_index_get_info(const fs_index *ix)
{
    return &ix->info;
}

uint64_t fs_index_factory_nlist(const char *factory)
{
    const char *p = strstr(factory, "IVF");
    return p ? strtoull(p + 3, NULL, 10) : 0;
}

int fs_index_set_search(fs_index *ix, int nprobe, int ef_search, double k_factor, fs_error *err)
{
    FaissParameterSpace *ps;
    if (faiss_ParameterSpace_new(&ps))
        return fs_index_faiss_fail(err, "parameter space");
    /* set_index_parameter throws for a parameter the index lacks; only set
     * the ones that apply, judged from the factory string. */
    const char *f = ix->info.factory;
    int rc = FS_OK;
    if (nprobe <= 0) {
        /* Measured (docs/benchmarks.md): a sixteenth of the lists keeps
         * recall@10 above ~0.92 at 128-D even on synthetic data harder than
         * real faces; fewer lists lose neighbours fast.  Long descriptors
         * behind a PCA (512-D and up) need four times that share for
         * recall@10 0.95 (synthetic 1M, PCA192,IVF4096,SQ8). */
        uint64_t nlist = fs_index_factory_nlist(f), share = nprobe ? (uint64_t)-nprobe : 16;
        if (strncmp(f, "PCA", 3) == 0 && share >= 16)
            share /= 4;
        nprobe = (int)(nlist / share < 16 ? 16 : nlist / share);
        if ((uint64_t)nprobe > nlist)
            nprobe = (int)nlist;
    }
    /* A refine stage (RFlat, Refine(...)) calls its factor "k_factor_rf";
     * plain "k_factor" is IVFPQR's. */
    int refine = strstr(f, "RFlat") || strstr(f, "Refine(");
    for (int i = -1; rc == FS_OK && i < ix->n_more; i++) {
        FaissIndex *p = i < 0 ? ix->faiss : ix->more[i];
        if (!p)
            continue;
        if (nprobe > 0 && strstr(f, "IVF") &&
            faiss_ParameterSpace_set_index_parameter(ps, p, "nprobe", nprobe))
            rc = fs_index_faiss_fail(err, "setting nprobe");
        if (rc == FS_OK && ef_search > 0 && strstr(f, "HNSW") &&
            faiss_ParameterSpace_set_index_parameter(ps, p, "efSearch", ef_search))
            rc = fs_index_faiss_fail(err, "setting efSearch");
        if (rc == FS_OK && k_factor > 0 && (refine || strstr(f, "PQR")) &&
            faiss_ParameterSpace_set_index_parameter(ps, p, refine ? "k_factor_rf" : "k_factor",
                                                     k_factor))
            rc = fs_index_faiss_fail(err, "setting k_factor");
    }
    faiss_ParameterSpace_free(ps);
    return rc;
}

/* One FAISS index's k nearest, as cosine distances. */
static int search_one(FaissIndex *f, const float *q, int nq, int k, float *dist, int64_t *ids,
                      fs_error *err)
{
    /* FAISS splits a batch's queries over threads, so fewer queries than
     * threads leave cores idle: then split each query's lists instead
     * (measured, 10M faces, nprobe 1024, 2 threads: p50 15.9 -> 9.0 ms).
     * Batches keep the per-query split, which needs no merging. */
    fs_index_faiss_parallel_mode(f, nq < omp_get_max_threads() ? 1 : 0);
    if (faiss_Index_search(f, nq, q, k, dist, (idx_t *)ids))
        return fs_index_faiss_fail(err, "searching");
    /* Report the cosine distance 1 - cos (lower is nearer, as callers
     * sort): an inner product of unit vectors is the cosine, a squared L2
     * distance (PCA indexes, see fs_index_new_faiss) is 2 - 2 cos. */
    const int l2 = faiss_Index_metric_type(f) == METRIC_L2;
    for (long i = 0; i < (long)nq * k; i++)
        dist[i] = ids[i] < 0 ? INFINITY : l2 ? 0.5f * dist[i] : 1.0f - dist[i];
    return FS_OK;
}

/* (d, id) before (d2, id2): nearer first, then the smaller id, an empty
 * slot (-1) last. */
static int before(float d, int64_t id, float d2, int64_t id2)
{
    if ((id < 0) != (id2 < 0))
        return id2 < 0;
    return d < d2 || (d == d2 && id < id2);
}

void fs_index_merge_topk(int k, float *dist, int64_t *ids, const float *dist2,
                         const int64_t *ids2)
{
    float d[k > 0 ? k : 1];
    int64_t id[k > 0 ? k : 1];
    for (int o = 0, a = 0, b = 0; o < k; o++) {
        if (before(dist[a], ids[a], dist2[b], ids2[b])) {
            d[o] = dist[a];
            id[o] = ids[a++];
        } else {
            d[o] = dist2[b];
            id[o] = ids2[b++];
        }
    }
    memcpy(dist, d, sizeof(float) * (size_t)k);
    memcpy(ids, id, sizeof(int64_t) * (size_t)k);
}

int fs_index_search(fs_index *ix, const float *q, int nq, int k, float *dist,
                    int64_t *ids, fs_error *err)
{
    if (nq <= 0 || k <= 0)
        return fs_fail(err, FS_EUSAGE, "search needs at least one query and k >= 1");
    size_t n = (size_t)nq * (size_t)k;
    if (!ix->faiss) { /* an empty set of shards */
        for (size_t i = 0; i < n; i++) {
            dist[i] = INFINITY;
            ids[i] = -1;
        }
        return FS_OK;
    }
    int rc = search_one(ix->faiss, q, nq, k, dist, ids, err);
    if (rc != FS_OK || !ix->n_more)
        return rc;
    float *d2 = malloc(sizeof(float) * n);
    int64_t *i2 = malloc(sizeof(int64_t) * n);
    if (!d2 || !i2)
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
    for (int p = 0; rc == FS_OK && p < ix->n_more; p++) {
        if ((rc = search_one(ix->more[p], q, nq, k, d2, i2, err)) != FS_OK)
            break;
        for (int j = 0; j < nq; j++)
            fs_index_merge_topk(k, dist + (size_t)j * k, ids + (size_t)j * k,
                                d2 + (size_t)j * k, i2 + (size_t)j * k);
    }
    free(d2);
    free(i2);
    return rc;
}

int fs_index_staleness(const fs_index_info *info, const fs_db_stats *st)
{
    if (strcmp(info->model_id, st->model_id) != 0 || info->dim != st->dim)
        return 3;
    if (info->db_faces_removed != st->faces_removed)
        return 2;
    if (info->db_next_face != st->next_face_id)
        return 1;
    return 0;
}
