/* Read snapshots: look-ups, iteration and statistics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

int fs_db_snap_begin(fs_db *db, fs_db_snap **out, fs_error *err)
{
    *out = NULL;
    fs_db_snap *s = calloc(1, sizeof *s);
    if (!s)
        return fs_fail(err, FS_ENOMEM, "%s: out of memory", db->path);
    s->db = db;
    if (db->parts) {
        int rc = fs_shards_snap_begin(db, s, err);
        if (rc != FS_OK)
            fs_db_snap_end(s);
        else
            *out = s;
        return rc;
    }
    pthread_rwlock_rdlock(&db->resize_lock);
    int rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &s->txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size (needs no open
         * transaction here, hence the exclusive lock), then retry. */
        pthread_rwlock_unlock(&db->resize_lock);
        pthread_rwlock_wrlock(&db->resize_lock);
        mdb_env_set_mapsize(db->env, 0);
        pthread_rwlock_unlock(&db->resize_lock);
        pthread_rwlock_rdlock(&db->resize_lock);
        rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &s->txn);
    }
    if (rc) {
        pthread_rwlock_unlock(&db->resize_lock);
        free(s);
        return fs_db_lmdb_fail(db, err, rc, "starting a read snapshot");
    }
    *out = s;
    return FS_OK;
}

void fs_db_snap_end(fs_db_snap *s)
{
    if (!s)
        return;
    if (s->db->parts) {
        fs_shards_snap_end(s);
        free(s);
        return;
    }
    mdb_txn_abort(s->txn);
    pthread_rwlock_unlock(&s->db->resize_lock);
    free(s->strbuf);
    free(s);
}

/* Decodes an image record and gives it NUL-terminated strings in the
 * snapshot's scratch buffer (valid until the next call or snap end). */
static int decode_image(fs_db_snap *s, const MDB_val *v, uint64_t id, fs_image_rec *out,
                        fs_error *err)
{
    size_t pl, el;
    if (fs_rec_image_decode(v->mv_data, v->mv_size, out, &pl, &el))
        return fs_fail(err, FS_EDB, "%s: image record %llu is malformed", s->db->path,
                       (unsigned long long)id);
    if (pl + el + 2 > s->strcap) {
        char *p = realloc(s->strbuf, pl + el + 2);
        if (!p)
            return fs_fail(err, FS_ENOMEM, "out of memory");
        s->strbuf = p;
        s->strcap = pl + el + 2;
    }
    memcpy(s->strbuf, out->path, pl);
    s->strbuf[pl] = '\0';
    memcpy(s->strbuf + pl + 1, out->error, el);
    s->strbuf[pl + 1 + el] = '\0';
    out->path = s->strbuf;
    out->error = s->strbuf + pl + 1;
    out->id = id;
    return FS_OK;
}

/* A sharded database hands a look-up to the shard holding the id. */
#define ROUTE_ID(s, id, what)                                                                 \
    if ((s)->parts) {                                                                         \
        fs_db_snap *part_ = fs_shards_snap_of_id((s), (id));                                  \
        if (!part_)                                                                           \
            return fs_fail(err, FS_ENOTFOUND, "%s: no %s with id %llu", (s)->db->path, what, \
                           (unsigned long long)(id));                                         \
        s = part_;                                                                            \
    }

int fs_db_get_image(fs_db_snap *s, uint64_t id, fs_image_rec *out, fs_error *err)
{
    ROUTE_ID(s, id, "photo")
    uint8_t kb[8];
    fs_key_u64(id, kb);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(s->txn, s->db->images, &k, &v);
    if (rc == MDB_NOTFOUND)
        return fs_fail(err, FS_ENOTFOUND, "%s: no photo with id %llu", s->db->path,
                       (unsigned long long)id);
    if (rc)
        return fs_db_lmdb_fail(s->db, err, rc, "reading a photo record");
    return decode_image(s, &v, id, out, err);
}

int fs_db_find_path(fs_db_snap *s, const char *path, fs_image_rec *out, fs_error *err)
{
    if (s->parts && !(s = fs_shards_snap_of_path(s, path)))
        return fs_fail(err, FS_ENOTFOUND, "%s: not in the shards open here", path);
    uint8_t pk[FS_DB_MAX_KEY];
    MDB_val k = {fs_db_path_key(path, pk), pk}, v;
    int rc = mdb_get(s->txn, s->db->paths, &k, &v);
    if (rc == MDB_NOTFOUND)
        return fs_fail(err, FS_ENOTFOUND, "%s: not in the database", path);
    if (rc)
        return fs_db_lmdb_fail(s->db, err, rc, "looking up a path");
    if (v.mv_size != 8)
        return fs_fail(err, FS_EDB, "%s: malformed path entry for %s", s->db->path, path);
    rc = fs_db_get_image(s, fs_key_u64_get(v.mv_data), out, err);
    /* A long-path key is a hash: make sure it is really this path. */
    if (rc == FS_OK && strcmp(out->path, path) != 0)
        return fs_fail(err, FS_ENOTFOUND, "%s: not in the database", path);
    return rc;
}

int fs_db_get_face(fs_db_snap *s, uint64_t id, fs_face_rec *out, fs_error *err)
{
    ROUTE_ID(s, id, "face")
    uint8_t kb[8];
    fs_key_u64(id, kb);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(s->txn, s->db->faces, &k, &v);
    if (rc == MDB_NOTFOUND)
        return fs_fail(err, FS_ENOTFOUND, "%s: no face with id %llu", s->db->path,
                       (unsigned long long)id);
    if (rc)
        return fs_db_lmdb_fail(s->db, err, rc, "reading a face record");
    if (fs_rec_face_decode(v.mv_data, v.mv_size, out))
        return fs_fail(err, FS_EDB, "%s: face record %llu is malformed", s->db->path,
                       (unsigned long long)id);
    out->id = id;
    return FS_OK;
}

int fs_db_get_vector(fs_db_snap *s, uint64_t id, float *vec, fs_error *err)
{
    ROUTE_ID(s, id, "face")
    uint8_t kb[8];
    fs_key_u64(id, kb);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(s->txn, s->db->vectors, &k, &v);
    if (rc == MDB_NOTFOUND)
        return fs_fail(err, FS_ENOTFOUND, "%s: no vector for face %llu", s->db->path,
                       (unsigned long long)id);
    if (rc)
        return fs_db_lmdb_fail(s->db, err, rc, "reading a vector");
    size_t want = fs_vec_bytes(s->db->dim, s->db->f16);
    if (v.mv_size != want)
        return fs_fail(err, FS_EDB, "%s: vector %llu has %zu bytes, expected %zu", s->db->path,
                       (unsigned long long)id, v.mv_size, want);
    fs_vec_decode(v.mv_data, s->db->dim, s->db->f16, vec);
    return FS_OK;
}

/* Walks table dbi from key `from` (big-endian u64) calling visit. */
static int walk(fs_db_snap *s, MDB_dbi dbi, uint64_t from,
                int (*visit)(fs_db_snap *s, uint64_t id, const MDB_val *v, const void *arg,
                             fs_error *err),
                const void *arg, fs_error *err)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(s->txn, dbi, &c);
    if (rc)
        return fs_db_lmdb_fail(s->db, err, rc, "opening a cursor");
    uint8_t kb[8];
    fs_key_u64(from, kb);
    MDB_val k = {8, kb}, v;
    int ret = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            ret = fs_fail(err, FS_EDB, "%s: malformed key", s->db->path);
            break;
        }
        if ((ret = visit(s, fs_key_u64_get(k.mv_data), &v, arg, err)) != 0)
            break;
    }
    mdb_cursor_close(c);
    if (ret)
        return ret;
    return rc == MDB_NOTFOUND ? FS_OK : fs_db_lmdb_fail(s->db, err, rc, "iterating");
}

/* A visitor's callback and its context, passed through walk(). */
typedef struct {
    int (*cb)(void *ctx, const fs_image_rec *img);
    void *ctx;
} image_visit;
typedef struct {
    int (*cb)(void *ctx, const fs_face_rec *face);
    void *ctx;
} face_visit;
typedef struct {
    int (*cb)(void *ctx, uint64_t id, const float *vec);
    void *ctx;
} vector_visit;

static int visit_image(fs_db_snap *s, uint64_t id, const MDB_val *v, const void *arg,
                       fs_error *err)
{
    const image_visit *iv = arg;
    fs_image_rec r;
    int rc = decode_image(s, v, id, &r, err);
    return rc ? rc : iv->cb(iv->ctx, &r);
}

static int visit_face(fs_db_snap *s, uint64_t id, const MDB_val *v, const void *arg,
                      fs_error *err)
{
    const face_visit *fv = arg;
    fs_face_rec f;
    if (fs_rec_face_decode(v->mv_data, v->mv_size, &f))
        return fs_fail(err, FS_EDB, "%s: face record %llu is malformed", s->db->path,
                       (unsigned long long)id);
    f.id = id;
    return fv->cb(fv->ctx, &f);
}

static int visit_vector(fs_db_snap *s, uint64_t id, const MDB_val *v, const void *arg,
                        fs_error *err)
{
    const vector_visit *vv = arg;
    if (v->mv_size != fs_vec_bytes(s->db->dim, s->db->f16))
        return fs_fail(err, FS_EDB, "%s: vector %llu is malformed", s->db->path,
                       (unsigned long long)id);
    /* decoded into an aligned float32 copy (LMDB values are only 2-byte
     * aligned, and may be float16) */
    size_t bytes = sizeof(float) * (size_t)s->db->dim;
    if (s->strcap < bytes) {
        char *p = realloc(s->strbuf, bytes);
        if (!p)
            return fs_fail(err, FS_ENOMEM, "out of memory");
        s->strbuf = p;
        s->strcap = bytes;
    }
    fs_vec_decode(v->mv_data, s->db->dim, s->db->f16, (float *)(void *)s->strbuf);
    return vv->cb(vv->ctx, id, (const float *)(void *)s->strbuf);
}

/* One shard's (or a plain database's) walk of each table, in the form
 * fs_shards_foreach calls for each shard in turn. */
static int walk_images(fs_db_snap *s, uint64_t from, void *arg, fs_error *err)
{
    return walk(s, s->db->images, from, visit_image, arg, err);
}

static int walk_faces(fs_db_snap *s, uint64_t from, void *arg, fs_error *err)
{
    return walk(s, s->db->faces, from, visit_face, arg, err);
}

static int walk_vectors(fs_db_snap *s, uint64_t from, void *arg, fs_error *err)
{
    return walk(s, s->db->vectors, from, visit_vector, arg, err);
}

static int walk_all(fs_db_snap *s, uint64_t from,
                    int (*one)(fs_db_snap *, uint64_t, void *, fs_error *), void *arg,
                    fs_error *err)
{
    return s->parts ? fs_shards_foreach(s, from, one, arg, err) : one(s, from, arg, err);
}

int fs_db_foreach_image(fs_db_snap *s, uint64_t from_id,
                        int (*cb)(void *ctx, const fs_image_rec *img), void *ctx, fs_error *err)
{
    image_visit iv = {cb, ctx};
    return walk_all(s, from_id, walk_images, &iv, err);
}

int fs_db_foreach_face(fs_db_snap *s, uint64_t from_id,
                       int (*cb)(void *ctx, const fs_face_rec *face), void *ctx, fs_error *err)
{
    face_visit fv = {cb, ctx};
    return walk_all(s, from_id, walk_faces, &fv, err);
}

int fs_db_foreach_vector(fs_db_snap *s, uint64_t from_id,
                         int (*cb)(void *ctx, uint64_t id, const float *vec), void *ctx,
                         fs_error *err)
{
    vector_visit vv = {cb, ctx};
    return walk_all(s, from_id, walk_vectors, &vv, err);
}

static int meta_str(fs_db_snap *s, const char *key, char *out, size_t cap)
{
    MDB_val k = {strlen(key), (void *)key}, d;
    int rc = mdb_get(s->txn, s->db->meta, &k, &d);
    out[0] = '\0';
    if (rc == 0) {
        size_t n = d.mv_size < cap - 1 ? d.mv_size : cap - 1;
        memcpy(out, d.mv_data, n);
        out[n] = '\0';
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int fs_db_stats_get(fs_db_snap *s, fs_db_stats *st, fs_error *err)
{
    if (s->parts)
        return fs_shards_stats(s, st, err);
    memset(st, 0, sizeof *st);
    MDB_txn *t = s->txn;
    MDB_dbi m = s->db->meta;
    uint64_t schema, dim, created, start, end;
    int rc;
    if ((rc = fs_meta_get_u64(t, m, "schema", &schema)) ||
        (rc = fs_meta_get_u64(t, m, "dim", &dim)) ||
        (rc = fs_meta_get_u64(t, m, "count.images", &st->images)) ||
        (rc = fs_meta_get_u64(t, m, "count.images_ok", &st->images_ok)) ||
        (rc = fs_meta_get_u64(t, m, "count.images_no_face", &st->images_no_face)) ||
        (rc = fs_meta_get_u64(t, m, "count.faces", &st->faces)) ||
        (rc = fs_meta_get_u64(t, m, "count.removed_faces", &st->faces_removed)) ||
        (rc = fs_meta_get_u64(t, m, "next.face", &st->next_face_id)) ||
        (rc = fs_meta_get_u64(t, m, "generation", &st->generation)) ||
        (rc = fs_meta_get_u64(t, m, "created_ns", &created)) ||
        (rc = fs_meta_get_u64(t, m, "ingest.last_start_ns", &start)) ||
        (rc = fs_meta_get_u64(t, m, "ingest.last_end_ns", &end)) ||
        (rc = meta_str(s, "model.id", st->model_id, sizeof st->model_id)) ||
        (rc = meta_str(s, "model.checksum", st->model_checksum, sizeof st->model_checksum)) ||
        (rc = meta_str(s, "reembed.model", st->reembed_model, sizeof st->reembed_model)) ||
        (rc = fs_meta_get_u64(t, m, "reembed.dim", &st->reembed_dim)) ||
        (rc = fs_meta_get_u64(t, m, "reembed.next_image", &st->reembed_next_image)) ||
        (rc = fs_meta_get_u64(t, m, "next.image", &st->next_image_id)))
        return fs_db_lmdb_fail(s->db, err, rc, "reading statistics");
    for (int i = 0; i < 16; i++) {
        char key[32];
        snprintf(key, sizeof key, "count.errors.%d", i);
        if ((rc = fs_meta_get_u64(t, m, key, &st->errors_by_code[i])))
            return fs_db_lmdb_fail(s->db, err, rc, "reading statistics");
        st->errors += st->errors_by_code[i];
    }
    st->schema = (uint32_t)schema;
    st->dim = (int)dim;
    st->created_ns = (int64_t)created;
    st->last_ingest_start_ns = (int64_t)start;
    st->last_ingest_end_ns = (int64_t)end;
    struct stat fst;
    if (stat(s->db->path, &fst) == 0)
        st->db_bytes = (uint64_t)fst.st_blocks * 512; /* allocated, not apparent */
    MDB_envinfo info;
    mdb_env_info(s->db->env, &info);
    st->map_bytes = info.me_mapsize;
    return FS_OK;
}
