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
    if (rc == FS_ENOTFOUND)
        fs_fail(err, rc, "%s: no index (run facesearch build)", path);
    if (rc == FS_OK && (rc = fs_index_sidecar_read(side, &ix->info, err)) == FS_ENOTFOUND)
        fs_fail(err, FS_EINDEX, "%s: missing (run facesearch build)", side);
    if (rc == FS_OK && (strcmp(fp, ix->info.fingerprint) != 0 || size != ix->info.file_bytes))
        rc = fs_fail(err, FS_EINDEX,
                     "%s does not match its sidecar (an interrupted build?); run facesearch build",
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
    if (nprobe > 0 && strstr(f, "IVF") &&
        faiss_ParameterSpace_set_index_parameter(ps, ix->faiss, "nprobe", nprobe))
        rc = fs_index_faiss_fail(err, "setting nprobe");
    if (rc == FS_OK && ef_search > 0 && strstr(f, "HNSW") &&
        faiss_ParameterSpace_set_index_parameter(ps, ix->faiss, "efSearch", ef_search))
        rc = fs_index_faiss_fail(err, "setting efSearch");
    /* A refine stage (RFlat, Refine(...)) calls its factor "k_factor_rf";
     * plain "k_factor" is IVFPQR's. */
    int refine = strstr(f, "RFlat") || strstr(f, "Refine(");
    if (rc == FS_OK && k_factor > 0 && (refine || strstr(f, "PQR")) &&
        faiss_ParameterSpace_set_index_parameter(ps, ix->faiss,
                                                 refine ? "k_factor_rf" : "k_factor", k_factor))
        rc = fs_index_faiss_fail(err, "setting k_factor");
    faiss_ParameterSpace_free(ps);
    return rc;
}

int fs_index_search(fs_index *ix, const float *q, int nq, int k, float *dist,
                    int64_t *ids, fs_error *err)
{
    if (nq <= 0 || k <= 0)
        return fs_fail(err, FS_EUSAGE, "search needs at least one query and k >= 1");
    /* FAISS splits a batch's queries over threads, so fewer queries than
     * threads leave cores idle: then split each query's lists instead
     * (measured, 10M faces, nprobe 1024, 2 threads: p50 15.9 -> 9.0 ms).
     * Batches keep the per-query split, which needs no merging. */
    fs_index_faiss_parallel_mode(ix->faiss, nq < omp_get_max_threads() ? 1 : 0);
    if (faiss_Index_search(ix->faiss, nq, q, k, dist, (idx_t *)ids))
        return fs_index_faiss_fail(err, "searching");
    /* Report the cosine distance 1 - cos (lower is nearer, as callers
     * sort): an inner product of unit vectors is the cosine, a squared L2
     * distance (PCA indexes, see new_index) is 2 - 2 cos. */
    const int l2 = faiss_Index_metric_type(ix->faiss) == METRIC_L2;
    for (long i = 0; i < (long)nq * k; i++)
        dist[i] = ids[i] < 0 ? INFINITY : l2 ? 0.5f * dist[i] : 1.0f - dist[i];
    return FS_OK;
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
