/* The indexes of a sharded database: one trained empty index, copied and
 * filled per shard, merged into dir/faces.faiss (see facesearch/index.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <faiss/c_api/index_io_c.h>

#include "facesearch/hash.h"
#include "internal.h"

/* Shard s's share of a training sample of cap vectors. */
static uint64_t shard_quota(uint64_t cap, uint64_t shard_faces, uint64_t total_faces)
{
    /* cap <= 1M and a shard holds < 2^40 faces: the product fits. */
    return total_faces ? cap * shard_faces / total_faces : 0;
}

int fs_index_to_bytes(const fs_index *ix, uint8_t **buf, size_t *len, fs_error *err)
{
    char *p = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&p, &n);
    if (!f)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    int bad = faiss_write_index(ix->faiss, f);
    if (fclose(f) != 0 && !bad) {
        free(p);
        return fs_fail(err, FS_ENOMEM, "out of memory for the index's bytes");
    }
    if (bad) {
        free(p);
        return fs_index_faiss_fail(err, "serialising the index");
    }
    *buf = (uint8_t *)p;
    *len = n;
    return FS_OK;
}

static int read_bytes(const uint8_t *buf, size_t len, FaissIndex **out, fs_error *err)
{
    FILE *f = fmemopen((void *)buf, len, "rb");
    if (!f)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    int bad = faiss_read_index(f, 0, out);
    fclose(f);
    return bad ? fs_index_faiss_fail(err, "reading an index from bytes") : FS_OK;
}

/* The trained index's fingerprint: sha256 of its bytes. */
static void bytes_fingerprint(const uint8_t *buf, size_t len, char hex[65])
{
    uint8_t d[32];
    fs_sha256(buf, len, d);
    fs_sha256_hex(d, hex);
}

int fs_index_from_bytes(const uint8_t *buf, size_t len, const char *factory,
                        uint64_t train_size, fs_index **out, fs_error *err)
{
    fs_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    int rc = read_bytes(buf, len, &ix->faiss, err);
    if (rc != FS_OK) {
        free(ix);
        return rc;
    }
    ix->info.dim = faiss_Index_d(ix->faiss);
    ix->info.count = (uint64_t)faiss_Index_ntotal(ix->faiss);
    ix->info.train_size = train_size;
    snprintf(ix->info.factory, sizeof ix->info.factory, "%s", factory);
    bytes_fingerprint(buf, len, ix->info.trained);
    *out = ix;
    return FS_OK;
}

int fs_index_train(const char *factory, int dim, const float *sample, uint64_t n,
                   fs_index **out, fs_error *err)
{
    *out = NULL;
    FaissIndex *f;
    int rc = fs_index_new_faiss(factory, dim, &f, err);
    if (rc != FS_OK)
        return rc;
    if (faiss_Index_is_trained(f)) {
        n = 0;
    } else if (faiss_Index_train(f, (idx_t)n, sample)) {
        faiss_Index_free(f);
        return fs_index_faiss_fail(err, "training");
    }
    /* Round-trip through bytes so that the fingerprint is that of what
     * every process receives. */
    fs_index tmp = {.faiss = f};
    uint8_t *buf;
    size_t len;
    rc = fs_index_to_bytes(&tmp, &buf, &len, err);
    faiss_Index_free(f);
    if (rc != FS_OK)
        return rc;
    rc = fs_index_from_bytes(buf, len, factory, n, out, err);
    free(buf);
    return rc;
}

/* A copy through bytes: faiss_clone_index (FAISS 1.7.3) knows neither
 * refine stages nor fast-scan IVFs. */
static int clone_trained(const fs_index *t, FaissIndex **out, fs_error *err)
{
    uint8_t *buf;
    size_t len;
    int rc = fs_index_to_bytes(t, &buf, &len, err);
    if (rc == FS_OK) {
        rc = read_bytes(buf, len, out, err);
        free(buf);
    }
    return rc;
}

/* The sidecar fields an index filled from trained inherits from it. */
static void info_from_trained(fs_index_info *info, const fs_index *t)
{
    snprintf(info->factory, sizeof info->factory, "%s", t->info.factory);
    snprintf(info->trained, sizeof info->trained, "%s", t->info.trained);
    info->train_size = t->info.train_size;
}

/* Fills a copy of trained with every vector of db, written to dir. */
static int build_from(fs_db *db, const char *dir, const fs_index *trained, fs_index_info *info,
                      fs_error *err)
{
    double t0 = fs_now();
    memset(info, 0, sizeof *info);
    info_from_trained(info, trained);
    fs_db_snap *snap;
    fs_db_stats st;
    FaissIndex *ix = NULL;
    int rc = fs_db_snap_begin(db, &snap, err);
    if (rc != FS_OK)
        return rc;
    if ((rc = fs_db_stats_get(snap, &st, err)) == FS_OK && st.dim != trained->info.dim)
        rc = fs_fail(err, FS_EINDEX, "%s: %d-D vectors, the trained index takes %d-D", dir,
                     st.dim, trained->info.dim);
    if (rc == FS_OK && (rc = clone_trained(trained, &ix, err)) == FS_OK)
        rc = fs_index_add_db(ix, snap, 0, err);
    fs_db_snap_end(snap);
    if (rc == FS_OK) {
        fs_index_info_finish(info, ix, &st);
        info->add_s = info->build_s = fs_now() - t0;
        rc = fs_index_write(ix, dir, info, err);
    }
    if (ix)
        faiss_Index_free(ix);
    return rc;
}

/* Opens shard i's index and checks it was filled from the build whose
 * trained fingerprint is `trained`. */
static int open_shard(const char *dir, int i, const char *trained, fs_index **part,
                      fs_error *err)
{
    char sd[4200];
    fs_db_shard_dir(dir, i, sd, sizeof sd);
    int rc = fs_index_open(sd, part, err);
    if (rc == FS_ENOTFOUND)
        return fs_fail(err, FS_EINDEX, "%s: shard %d has no index (run facesearch build)", sd,
                       i);
    if (rc == FS_OK && strcmp((*part)->info.trained, trained) != 0) {
        fs_index_close(*part);
        *part = NULL;
        return fs_fail(err, FS_EINDEX, "%s: this shard's index is not from the last build "
                       "(an interrupted build?); run facesearch build", sd);
    }
    return rc;
}

/* Checks every shard's sidecar (from this build) and sums their counts. */
static int shard_counts(const char *dir, int n, const char *trained, uint64_t *count,
                        fs_error *err)
{
    *count = 0;
    for (int i = 0; i < n; i++) {
        char sd[4200], side[4300];
        fs_index_info si;
        fs_db_shard_dir(dir, i, sd, sizeof sd);
        snprintf(side, sizeof side, "%s/%s", sd, FS_INDEX_SIDECAR);
        int rc = fs_index_sidecar_read(side, &si, err);
        if (rc == FS_OK && strcmp(si.trained, trained) != 0)
            rc = fs_fail(err, FS_EINDEX, "%s: this shard's index is not from the last build "
                         "(an interrupted build?); run facesearch build", sd);
        if (rc != FS_OK)
            return rc == FS_ENOTFOUND ? fs_fail(err, FS_EINDEX, "%s: shard %d has no index "
                                                "(run facesearch build)", sd, i) : rc;
        *count += si.count;
    }
    return FS_OK;
}

int fs_index_merge_shards(fs_db *db, const char *dir, const fs_index *trained, int merge,
                          fs_index_info *info, fs_error *err)
{
    double t0 = fs_now();
    int n = fs_db_shard_count(db), rc = FS_OK;
    if (n <= 0)
        return fs_fail(err, FS_EUSAGE, "%s: not a sharded database", dir);
    double train_s = info->train_s, add_s = info->add_s, build_s = info->build_s;
    memset(info, 0, sizeof *info);
    info_from_trained(info, trained);
    FaissIndex *merged = NULL;
    char why[512] = "";
    uint64_t count = 0;
    rc = merge ? clone_trained(trained, &merged, err)
               : shard_counts(dir, n, trained->info.trained, &count, err);
    for (int i = 0; merge && rc == FS_OK && i < n && !why[0]; i++) {
        fs_index *part;
        if ((rc = open_shard(dir, i, trained->info.trained, &part, err)) != FS_OK)
            break;
        fs_index_faiss_merge(merged, part->faiss, why, sizeof why);
        fs_index_close(part);
    }
    fs_db_snap *snap = NULL;
    fs_db_stats st;
    if (rc == FS_OK)
        rc = fs_db_snap_begin(db, &snap, err);
    if (rc == FS_OK)
        rc = fs_db_stats_get(snap, &st, err);
    if (rc == FS_OK && why[0]) {
        /* FAISS cannot merge this type (HNSW): fill one copy from every
         * shard's vectors instead. */
        faiss_Index_free(merged);
        merged = NULL;
        if ((rc = clone_trained(trained, &merged, err)) == FS_OK)
            rc = fs_index_add_db(merged, snap, 0, err);
    }
    fs_db_snap_end(snap);
    if (rc != FS_OK) {
        if (merged)
            faiss_Index_free(merged);
        return rc;
    }
    fs_index_info_finish(info, merged, &st);
    info->train_s = train_s;
    info->add_s = add_s;
    info->merge_s = fs_now() - t0;
    info->build_s = build_s + info->merge_s;
    if (merged) {
        rc = fs_index_write(merged, dir, info, err);
        faiss_Index_free(merged);
        return rc;
    }
    /* No merged index: its sidecar alone says what the shards' indexes
     * hold, and an older faces.faiss goes first (it would no longer match). */
    char path[4200], side[4200];
    snprintf(path, sizeof path, "%s/%s", dir, FS_INDEX_FILE);
    snprintf(side, sizeof side, "%s/%s", dir, FS_INDEX_SIDECAR);
    info->count = count;
    if (unlink(path) != 0 && errno != ENOENT)
        return fs_fail(err, FS_EIO, "%s: %s", path, strerror(errno));
    return fs_index_sidecar_write(side, info, err);
}

int fs_index_fill_shards(fs_db *db, const char *dir, const fs_index *trained, fs_error *err)
{
    int rc = FS_OK;
    for (int i = 0; rc == FS_OK && i < fs_db_shard_count(db); i++) {
        char sd[4200];
        fs_index_info si;
        fs_db_shard_dir(dir, i, sd, sizeof sd);
        if (fs_db_shard(db, i))
            rc = build_from(fs_db_shard(db, i), sd, trained, &si, err);
    }
    return rc;
}

int fs_index_shard_sizes(fs_db *db, uint64_t *faces, int *dim, fs_error *err)
{
    int rc = FS_OK;
    for (int i = 0; rc == FS_OK && i < fs_db_shard_count(db); i++) {
        fs_db_snap *snap;
        fs_db_stats st;
        if (!fs_db_shard(db, i))
            continue;
        if ((rc = fs_db_snap_begin(fs_db_shard(db, i), &snap, err)) != FS_OK)
            break;
        if ((rc = fs_db_stats_get(snap, &st, err)) == FS_OK) {
            faces[i] = st.faces;
            *dim = st.dim;
        }
        fs_db_snap_end(snap);
    }
    return rc;
}

int fs_index_sample_shards(fs_db *db, const uint64_t *faces, int dim, uint64_t cap,
                           uint64_t seed, float **out, uint64_t *got, uint64_t *n,
                           fs_error *err)
{
    int shards = fs_db_shard_count(db), rc = FS_OK;
    uint64_t total = 0, want = 0;
    *n = 0;
    for (int i = 0; i < shards; i++)
        total += faces[i];
    for (int i = 0; i < shards; i++)
        if (fs_db_shard(db, i))
            want += shard_quota(cap, faces[i], total);
    const size_t d = dim > 0 ? (size_t)dim : 1;
    if (!(*out = malloc(sizeof(float) * (want ? want : 1) * d)))
        return fs_fail(err, FS_ENOMEM, "out of memory for %llu training vectors",
                       (unsigned long long)want);
    for (int i = 0; rc == FS_OK && i < shards; i++) {
        if (!fs_db_shard(db, i))
            continue;
        rc = fs_index_sample(fs_db_shard(db, i), shard_quota(cap, faces[i], total),
                             seed + (uint64_t)i, *out + *n * d, &got[i], err);
        *n += got[i];
    }
    return rc;
}

int fs_index_build_sharded(fs_db *db, const char *dir, const fs_index_build_opts *o,
                           fs_index_info *info, fs_error *err)
{
    double t0 = fs_now();
    int n = fs_db_shard_count(db), dim = 0;
    uint64_t *faces = calloc((size_t)n, sizeof *faces), *got = calloc((size_t)n, sizeof *got);
    uint64_t total = 0, cap = 0, n_sample = 0;
    int rc = faces && got ? fs_index_shard_sizes(db, faces, &dim, err)
                          : fs_fail(err, FS_ENOMEM, "out of memory");
    for (int i = 0; i < n && faces; i++)
        total += faces[i];
    char factory[128];
    float *sample = NULL;
    fs_index *trained = NULL;
    if (rc == FS_OK)
        rc = fs_index_plan(o, total, dim, factory, sizeof factory, &cap, err);
    double tt = fs_now(); /* sampling and training, as for a plain database */
    if (rc == FS_OK)
        rc = fs_index_sample_shards(db, faces, dim, cap, o->seed ? o->seed : 42, &sample,
                                    got, &n_sample, err);
    if (rc == FS_OK)
        rc = fs_index_train(factory, dim, sample, n_sample, &trained, err);
    free(sample);
    info->train_s = fs_now() - tt;
    double ta = fs_now();
    if (rc == FS_OK)
        rc = fs_index_fill_shards(db, dir, trained, err);
    info->add_s = fs_now() - ta;
    info->build_s = fs_now() - t0;
    if (rc == FS_OK)
        rc = fs_index_merge_shards(db, dir, trained, !o->no_merge, info, err);
    fs_index_close(trained);
    free(faces);
    free(got);
    return rc;
}

int fs_index_open_shards(const char *dir, int stride, int offset, fs_index **out,
                         fs_error *err)
{
    *out = NULL;
    int n, rc = fs_db_shards_in(dir, &n, err);
    if (rc != FS_OK)
        return rc;
    if (n == 0)
        return fs_fail(err, FS_EUSAGE, "%s: not a sharded database", dir);
    fs_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    char side[4200];
    snprintf(side, sizeof side, "%s/%s", dir, FS_INDEX_SIDECAR);
    rc = fs_index_sidecar_read(side, &ix->info, err);
    if (rc == FS_ENOTFOUND)
        rc = fs_fail(err, FS_ENOTFOUND, "%s: no index (run facesearch build)", side);
    else if (rc == FS_OK && !ix->info.trained[0])
        rc = fs_fail(err, FS_EINDEX, "%s: no per-shard indexes; run facesearch build", side);
    for (int i = offset; rc == FS_OK && i < n; i += stride) {
        fs_index *part;
        if ((rc = open_shard(dir, i, ix->info.trained, &part, err)) != FS_OK)
            break;
        char why[512] = "";
        if (!ix->faiss) {
            ix->faiss = part->faiss;
            part->faiss = NULL;
        } else if (fs_index_faiss_merge(ix->faiss, part->faiss, why, sizeof why) != 0) {
            FaissIndex **m = realloc(ix->more, sizeof *m * (size_t)(ix->n_more + 1));
            if (!m) {
                rc = fs_fail(err, FS_ENOMEM, "out of memory");
            } else {
                ix->more = m;
                ix->more[ix->n_more++] = part->faiss;
                part->faiss = NULL;
            }
        }
        fs_index_close(part);
    }
    if (rc != FS_OK) {
        fs_index_close(ix);
        return rc;
    }
    *out = ix;
    return FS_OK;
}
