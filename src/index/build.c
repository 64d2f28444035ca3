/* Building and extending faces.faiss from the database's vectors. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/IndexPreTransform_c.h>
#include <faiss/c_api/VectorTransform_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include "internal.h"

#ifndef FS_FAISS_BUILD
#define FS_FAISS_BUILD "unknown"
#endif

const char *fs_index_auto_factory(uint64_t n, int dim, char *buf, size_t cap)
{
    if (n < 200000) {
        /* Exact search costs < ~2 ms per query up to here: no reason to
         * trade any recall away. */
        snprintf(buf, cap, "IDMap,Flat");
    } else {
        /* FAISS's guideline: nlist ~ 4..16 sqrt(n), a power of two, capped
         * where k-means training on a CPU stays in minutes.  Scalar-quantised
         * 8-bit codes keep recall@10 near exact at a quarter of the memory
         * (128 B/face: 10M faces in 1.3 GB); docs/index.md has the measured
         * alternatives and where they pay. */
        uint64_t nlist = 1;
        while (nlist * nlist < 16 * n && nlist < 16384)
            nlist <<= 1;
        /* Longer descriptors (512-D, 640-D) are first projected on their
         * 192 principal axes: 192 B codes, 205 B per face in RAM with the
         * ids and lists (the goal: <= 256), recall@10 0.95 on the synthetic
         * 1M where 128 axes stop at 0.87 (docs/index.md). */
        snprintf(buf, cap, "%sIVF%llu,SQ8", dim > 128 ? "PCA192," : "",
                 (unsigned long long)nlist);
    }
    return buf;
}

/* faiss_index_factory, except that "PCAn,...,Refine(X)" (or RFlat) refines
 * in the n-D space: FAISS's factory puts a refine stage outermost, which
 * would keep full-length vectors (SQ8 at 512-D: 512 B per face) for it. */
static int factory_index(const char *factory, int dim, FaissMetricType metric, FaissIndex **out)
{
    int d_out = 0, len = 0;
    if (!(strstr(factory, "Refine(") || strstr(factory, "RFlat")) ||
        sscanf(factory, "PCA%d,%n", &d_out, &len) != 1 || len == 0)
        return faiss_index_factory(out, dim, factory, metric);
    FaissIndex *sub;
    FaissPCAMatrix *pca;
    FaissIndexPreTransform *pt;
    if (faiss_index_factory(&sub, d_out, factory + len, metric))
        return -1;
    if (faiss_PCAMatrix_new_with(&pca, dim, d_out, 0.0f, 0)) {
        faiss_Index_free(sub);
        return -1;
    }
    if (faiss_IndexPreTransform_new_with_transform(&pt, (FaissVectorTransform *)pca, sub)) {
        faiss_VectorTransform_free((FaissVectorTransform *)pca);
        faiss_Index_free(sub);
        return -1;
    }
    faiss_IndexPreTransform_set_own_fields(pt, 1);
    *out = (FaissIndex *)pt;
    return 0;
}

/* An index from a factory string, able to take our face ids.  FAISS's IVF
 * indexes take them directly; an index that numbers its vectors itself
 * (Flat, HNSW, PQ, or a refine stage, which the factory always puts
 * outermost) gets an id map around it, or add_with_ids would fail. */
int fs_index_new_faiss(const char *factory, int dim, FaissIndex **out, fs_error *err)
{
    FaissIndex *ix;
    /* Descriptors are unit vectors, so the inner product ranks exactly as the
     * cosine, and so does L2 (|q-x|^2 = 2 - 2 q.x).  Inner product, except
     * behind a PCA: FAISS's PCA subtracts the mean, which preserves
     * distances but not inner products (the search converts either back to
     * the cosine). */
    FaissMetricType metric = strstr(factory, "PCA") ? METRIC_L2 : METRIC_INNER_PRODUCT;
    if (factory_index(factory, dim, metric, &ix))
        return fs_index_faiss_fail(err, factory);
    int own_ids = strncmp(factory, "IDMap", 5) == 0 ||
                  (strstr(factory, "IVF") && !strstr(factory, "RFlat") &&
                   !strstr(factory, "Refine("));
    if (!own_ids) {
        FaissIndexIDMap *map;
        if (faiss_IndexIDMap_new(&map, ix)) {
            faiss_Index_free(ix);
            return fs_index_faiss_fail(err, factory);
        }
        faiss_IndexIDMap_set_own_fields(map, 1);
        ix = (FaissIndex *)map;
    }
    *out = ix;
    return FS_OK;
}

/* ---- passes over the vectors ------------------------------------------- */

/* Reservoir sampling: a uniform sample of `cap` vectors in one pass. */
typedef struct sampler {
    float *buf;
    int dim;
    uint64_t cap, seen;
    uint64_t rng;
} sampler;

static uint64_t next_rand(uint64_t *s)
{
    /* splitmix64: deterministic for a given seed, good enough for sampling */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int sample_cb(void *ctx, uint64_t id, const float *v)
{
    (void)id;
    sampler *s = ctx;
    uint64_t slot = s->seen < s->cap ? s->seen : next_rand(&s->rng) % (s->seen + 1);
    if (slot < s->cap)
        memcpy(s->buf + slot * (uint64_t)s->dim, v, sizeof(float) * (size_t)s->dim);
    s->seen++;
    return 0;
}

static int sample_snap(fs_db_snap *snap, int dim, uint64_t cap, uint64_t seed, float *out,
                       uint64_t *n, fs_error *err)
{
    sampler s = {out, dim, cap, 0, seed};
    int rc = cap ? fs_db_foreach_vector(snap, 0, sample_cb, &s, err) : FS_OK;
    *n = s.seen < cap ? s.seen : cap;
    return rc;
}

int fs_index_sample(fs_db *db, uint64_t cap, uint64_t seed, float *out, uint64_t *n,
                    fs_error *err)
{
    fs_db_snap *snap;
    fs_db_stats st;
    *n = 0;
    int rc = fs_db_snap_begin(db, &snap, err);
    if (rc != FS_OK)
        return rc;
    if ((rc = fs_db_stats_get(snap, &st, err)) == FS_OK)
        rc = sample_snap(snap, st.dim, cap, seed, out, n, err);
    fs_db_snap_end(snap);
    return rc;
}

/* Adds vectors to the index in chunks of CHUNK. */
#define CHUNK 65536

typedef struct adder {
    FaissIndex *ix;
    int dim;
    float *buf;
    idx_t *ids;
    int n;
    fs_error *err;
} adder;

static int flush(adder *a)
{
    if (!a->n)
        return 0;
    if (faiss_Index_add_with_ids(a->ix, a->n, a->buf, a->ids))
        return fs_index_faiss_fail(a->err, "adding vectors");
    a->n = 0;
    return 0;
}

static int add_cb(void *ctx, uint64_t id, const float *v)
{
    adder *a = ctx;
    memcpy(a->buf + (size_t)a->n * a->dim, v, sizeof(float) * (size_t)a->dim);
    a->ids[a->n++] = (idx_t)id;
    return a->n == CHUNK ? flush(a) : 0;
}

int fs_index_add_db(FaissIndex *ix, fs_db_snap *snap, uint64_t from, fs_error *err)
{
    int dim = faiss_Index_d(ix), rc;
    adder a = {ix, dim, malloc(sizeof(float) * CHUNK * (size_t)dim),
               malloc(sizeof(idx_t) * CHUNK), 0, err};
    if (!a.buf || !a.ids)
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
    else if ((rc = fs_db_foreach_vector(snap, from, add_cb, &a, err)) == FS_OK)
        rc = flush(&a);
    free(a.buf);
    free(a.ids);
    return rc;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fs_index_info_finish(fs_index_info *info, FaissIndex *ix, const fs_db_stats *st)
{
    info->count = ix ? (uint64_t)faiss_Index_ntotal(ix) : 0;
    info->dim = st->dim;
    snprintf(info->model_id, sizeof info->model_id, "%s", st->model_id);
    snprintf(info->faiss_build, sizeof info->faiss_build, "%s", FS_FAISS_BUILD);
    info->db_next_face = st->next_face_id;
    info->db_faces_removed = st->faces_removed;
    info->db_generation = st->generation;
    info->built_ns = wall_ns();
}

int fs_index_write(FaissIndex *ix, const char *dir, fs_index_info *info, fs_error *err)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", dir, FS_INDEX_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fs_fail(err, FS_EIO, "%s: %s", tmp, strerror(errno));
    fchmod(fileno(f), 0600); /* derived from biometric data */
    int rc = FS_OK;
    errno = 0;
    if (faiss_write_index(ix, f))
        rc = fs_index_faiss_fail(err, tmp);
    else if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = fs_fail(err, FS_EIO, "%s: %s", tmp, strerror(errno));
    int e = errno;
    long done = ftell(f);
    if (fclose(f) != 0 && rc == FS_OK) {
        e = errno;
        rc = fs_fail(err, FS_EIO, "%s: %s", tmp, strerror(errno));
    }
    /* A full disk: the old index is still in place (the new one goes to a
     * temporary file renamed over it only when complete). */
    if (rc != FS_OK && fs_disk_full(path, e ? e : EIO, 0, done > 0 ? (uint64_t)done : 0,
                                    "writing the index", err) == FS_ENOSPC)
        rc = FS_ENOSPC;
    if (rc == FS_OK)
        rc = fs_index_fingerprint(tmp, &info->file_bytes, info->fingerprint, err);
    if (rc == FS_OK && rename(tmp, path) != 0)
        rc = fs_fail(err, FS_EIO, "%s: %s", path, strerror(errno));
    if (rc != FS_OK) {
        unlink(tmp);
        return rc;
    }
    char side[4200];
    snprintf(side, sizeof side, "%s/%s", dir, FS_INDEX_SIDECAR);
    return fs_index_sidecar_write(side, info, err);
}

/* Decides whether an incremental build is possible; loads the old index. */
static int try_incremental(const char *dir, const fs_db_stats *st, const char *factory,
                           FaissIndex **ix, fs_index_info *old)
{
    char side[4200], path[4200];
    snprintf(side, sizeof side, "%s/%s", dir, FS_INDEX_SIDECAR);
    snprintf(path, sizeof path, "%s/%s", dir, FS_INDEX_FILE);
    fs_error e = {0};
    uint64_t size;
    char fp[65];
    if (fs_index_sidecar_read(side, old, &e) != FS_OK ||
        fs_index_fingerprint(path, &size, fp, &e) != FS_OK || strcmp(fp, old->fingerprint) != 0)
        return 0;
    if (strcmp(old->model_id, st->model_id) != 0 || old->dim != st->dim ||
        old->db_faces_removed != st->faces_removed || old->db_next_face > st->next_face_id ||
        (factory && strcmp(factory, old->factory) != 0))
        return 0;
    return fs_index_read_faiss(path, ix, &e) == FS_OK;
}

int fs_index_plan(const fs_index_build_opts *o, uint64_t n, int dim, char *factory, size_t fcap,
                  uint64_t *train_cap, fs_error *err)
{
    if (o->factory && *o->factory && strcmp(o->factory, "auto") != 0)
        snprintf(factory, fcap, "%s", o->factory);
    else
        fs_index_auto_factory(n, dim, factory, fcap);
    FaissIndex *ix;
    int rc = fs_index_new_faiss(factory, dim, &ix, err);
    if (rc != FS_OK)
        return rc;
    uint64_t cap = 0;
    if (!faiss_Index_is_trained(ix)) {
        /* k-means wants >= 39 points per centroid and FAISS subsamples
         * beyond 256; cap the pass's memory at 1M vectors (2 GB at 512-D). */
        cap = o->train_max;
        if (!cap) {
            uint64_t nlist = fs_index_factory_nlist(factory);
            cap = 256 * (nlist ? nlist : 256);
            if (cap < 65536)
                cap = 65536;
            if (cap > 1000000)
                cap = 1000000;
        }
        if (cap > n)
            cap = n;
    }
    faiss_Index_free(ix);
    *train_cap = cap;
    return FS_OK;
}

int fs_index_buildable(const fs_db_stats *st, const char *dir, fs_error *err)
{
    if (st->reembed_model[0])
        return fs_fail(err, FS_EDB, "%s: a reembed to '%s' is under way; run facesearch "
                       "reembed to finish it before building the index", dir, st->reembed_model);
    if (st->faces == 0)
        return fs_fail(err, FS_EUSAGE, "%s: the database holds no faces yet (run facesearch "
                                       "ingest first)", dir);
    return FS_OK;
}

int fs_index_build(fs_db *db, const char *dir, const fs_index_build_opts *o,
                   fs_index_info *info, fs_error *err)
{
    double t0 = fs_now();
    fs_db_snap *snap;
    fs_db_stats st;
    int rc = fs_db_snap_begin(db, &snap, err);
    if (rc != FS_OK)
        return rc;
    if ((rc = fs_db_stats_get(snap, &st, err)) != FS_OK ||
        (rc = fs_index_buildable(&st, dir, err)) != FS_OK) {
        fs_db_snap_end(snap);
        return rc;
    }
    if (o->threads > 0)
        omp_set_num_threads(o->threads);
    if (st.shards) {
        /* The shards' counters cannot say which faces are new in which
         * shard: a sharded database is always built afresh. */
        fs_db_snap_end(snap);
        return fs_index_build_sharded(db, dir, o, info, err);
    }
    const char *factory = o->factory && *o->factory && strcmp(o->factory, "auto") != 0
                              ? o->factory : NULL;
    memset(info, 0, sizeof *info);
    FaissIndex *ix = NULL;
    fs_index_info old;
    uint64_t from = 0, cap = 0;
    if (o->incremental && try_incremental(dir, &st, factory, &ix, &old)) {
        from = old.db_next_face;
        *info = old;
        info->incremental = 1;
    } else if ((rc = fs_index_plan(o, st.faces, st.dim, info->factory, sizeof info->factory,
                                   &cap, err)) == FS_OK &&
               (rc = fs_index_new_faiss(info->factory, st.dim, &ix, err)) == FS_OK && cap) {
        float *buf = malloc(sizeof(float) * cap * (size_t)st.dim);
        double tt = fs_now();
        if (!buf)
            rc = fs_fail(err, FS_ENOMEM, "out of memory for %llu training vectors",
                         (unsigned long long)cap);
        else if ((rc = sample_snap(snap, st.dim, cap, o->seed ? o->seed : 42, buf,
                                   &info->train_size, err)) == FS_OK &&
                 faiss_Index_train(ix, (idx_t)info->train_size, buf))
            rc = fs_index_faiss_fail(err, "training");
        free(buf);
        info->train_s = fs_now() - tt;
    }
    if (rc == FS_OK) {
        double ta = fs_now();
        rc = fs_index_add_db(ix, snap, from, err);
        info->add_s = fs_now() - ta;
    }
    fs_db_snap_end(snap);
    if (rc == FS_OK) {
        fs_index_info_finish(info, ix, &st);
        info->build_s = fs_now() - t0;
        rc = fs_index_write(ix, dir, info, err);
    }
    if (ix)
        faiss_Index_free(ix);
    return rc;
}

int fs_index_from_vectors(const char *factory, int dim, const float *vecs, const int64_t *ids,
                          size_t n, fs_index **out, fs_error *err)
{
    *out = NULL;
    fs_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    snprintf(ix->info.factory, sizeof ix->info.factory, "%s", factory ? factory : "IDMap,Flat");
    ix->info.dim = dim;
    int rc = fs_index_new_faiss(ix->info.factory, dim, &ix->faiss, err);
    if (rc != FS_OK)
        ;
    else if (!faiss_Index_is_trained(ix->faiss) && faiss_Index_train(ix->faiss, (idx_t)n, vecs))
        rc = fs_index_faiss_fail(err, "training");
    else if (faiss_Index_add_with_ids(ix->faiss, (idx_t)n, vecs, (const idx_t *)ids))
        rc = fs_index_faiss_fail(err, "adding vectors");
    if (rc != FS_OK) {
        fs_index_close(ix);
        return rc;
    }
    ix->info.count = n;
    *out = ix;
    return FS_OK;
}
