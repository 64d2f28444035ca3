/* Batch writes: one LMDB transaction per batch of processed photos. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Deletes the faces and vectors of a photo record; counts them. */
static int delete_faces(fs_db *db, MDB_txn *t, uint64_t first, uint32_t n, uint64_t *removed)
{
    for (uint32_t i = 0; i < n; i++) {
        uint8_t kb[8];
        fs_key_u64(first + i, kb);
        MDB_val k = {8, kb};
        int rc = mdb_del(t, db->faces, &k, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        rc = mdb_del(t, db->vectors, &k, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    *removed += n;
    return 0;
}

/* Per-batch changes to the meta counters, applied once at the end. */
typedef struct counters {
    uint64_t next_image, next_face, removed;
    int64_t d_images, d_ok, d_no_face, d_faces;
    int64_t d_err[16];
} counters;

static void count_record(counters *c, const fs_image_rec *r, int sign)
{
    c->d_images += sign;
    if (r->status == FS_IMG_OK) {
        c->d_ok += sign;
        c->d_no_face += r->n_faces == 0 ? sign : 0;
    } else
        c->d_err[r->error_code & 15] += sign;
    c->d_faces += sign * (int64_t)r->n_faces;
}

/* Reads the record stored under image key kb into *old (path not
 * NUL-terminated, its length in *path_len); MDB_NOTFOUND if none. */
static int get_old(fs_db *db, MDB_txn *t, const uint8_t kb[8], fs_image_rec *old,
                   size_t *path_len)
{
    MDB_val k = {8, (void *)kb}, v;
    int rc = mdb_get(t, db->images, &k, &v);
    if (rc)
        return rc;
    size_t el;
    return fs_rec_image_decode(v.mv_data, v.mv_size, old, path_len, &el) ? MDB_CORRUPTED : 0;
}

static int put_item(fs_db *db, MDB_txn *t, fs_db_item *it, counters *c, uint8_t **scratch,
                    size_t *scap)
{
    fs_image_rec *r = &it->img;
    uint8_t pk[FS_DB_MAX_KEY], kb[8];
    MDB_val pkey = {fs_db_path_key(r->path, pk), pk}, v;
    int rc = mdb_get(t, db->paths, &pkey, &v);
    if (rc == 0 && v.mv_size == 8) {
        /* Re-processed photo: keep its image id, drop its old faces. */
        r->id = fs_key_u64_get(v.mv_data);
        fs_key_u64(r->id, kb);
        fs_image_rec old;
        size_t pl;
        if ((rc = get_old(db, t, kb, &old, &pl)) == 0) {
            count_record(c, &old, -1);
            rc = delete_faces(db, t, old.first_face, old.n_faces, &c->removed);
        }
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    } else if (rc == MDB_NOTFOUND) {
        r->id = c->next_image++;
        fs_key_u64(r->id, kb);
        v.mv_size = 8;
        v.mv_data = kb;
        if ((rc = mdb_put(t, db->paths, &pkey, &v, 0)))
            return rc;
    } else {
        return rc ? rc : MDB_CORRUPTED;
    }
    r->first_face = c->next_face;
    c->next_face += r->n_faces;

    size_t need = fs_rec_image_size(r);
    if (need > *scap) {
        uint8_t *p = realloc(*scratch, need);
        if (!p)
            return ENOMEM;
        *scratch = p;
        *scap = need;
    }
    fs_rec_image_encode(r, *scratch);
    MDB_val ik = {8, kb}, iv = {need, *scratch};
    if ((rc = mdb_put(t, db->images, &ik, &iv, 0)))
        return rc;
    count_record(c, r, +1);

    for (uint32_t i = 0; i < r->n_faces; i++) {
        uint8_t fk[8], fb[FS_FACE_BYTES];
        fs_face_rec f = it->faces[i];
        f.id = r->first_face + i;
        f.image_id = r->id;
        fs_key_u64(f.id, fk);
        fs_rec_face_encode(&f, fb);
        MDB_val k = {8, fk}, fv = {FS_FACE_BYTES, fb};
        /* Face ids only grow, so appends keep the B-tree pages full. */
        if ((rc = mdb_put(t, db->faces, &k, &fv, MDB_APPEND)))
            return rc;
        MDB_val vv = {fs_vec_bytes(db->dim, db->f16), NULL};
        /* reserve, then encode in place: float16 on current databases */
        if ((rc = mdb_put(t, db->vectors, &k, &vv, MDB_APPEND | MDB_RESERVE)))
            return rc;
        fs_vec_encode(it->vectors + (size_t)i * db->dim, db->dim, db->f16, vv.mv_data);
    }
    return 0;
}

static int remove_image(fs_db *db, MDB_txn *t, uint64_t id, counters *c)
{
    uint8_t kb[8];
    fs_key_u64(id, kb);
    fs_image_rec old;
    size_t pl;
    int rc = get_old(db, t, kb, &old, &pl);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    count_record(c, &old, -1);
    if ((rc = delete_faces(db, t, old.first_face, old.n_faces, &c->removed)))
        return rc;
    char *path = strndup(old.path, pl); /* the stored path has no NUL */
    if (!path)
        return ENOMEM;
    uint8_t pk[FS_DB_MAX_KEY];
    MDB_val pkey = {fs_db_path_key(path, pk), pk}, ik = {8, kb};
    free(path);
    if ((rc = mdb_del(t, db->paths, &pkey, NULL)) && rc != MDB_NOTFOUND)
        return rc;
    rc = mdb_del(t, db->images, &ik, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int add_meta(fs_db *db, MDB_txn *t, const char *key, int64_t delta)
{
    if (!delta)
        return 0;
    uint64_t v;
    int rc = fs_meta_get_u64(t, db->meta, key, &v);
    return rc ? rc : fs_meta_put_u64(t, db->meta, key, (uint64_t)((int64_t)v + delta));
}

static int write_counters(fs_db *db, MDB_txn *t, const counters *c)
{
    int rc;
    if ((rc = fs_meta_put_u64(t, db->meta, "next.image", c->next_image)) ||
        (rc = fs_meta_put_u64(t, db->meta, "next.face", c->next_face)) ||
        (rc = add_meta(db, t, "count.removed_faces", (int64_t)c->removed)) ||
        (rc = add_meta(db, t, "count.images", c->d_images)) ||
        (rc = add_meta(db, t, "count.images_ok", c->d_ok)) ||
        (rc = add_meta(db, t, "count.images_no_face", c->d_no_face)) ||
        (rc = add_meta(db, t, "count.faces", c->d_faces)) ||
        (rc = add_meta(db, t, "generation", 1)))
        return rc;
    for (int i = 0; i < 16; i++) {
        char key[32];
        snprintf(key, sizeof key, "count.errors.%d", i);
        if ((rc = add_meta(db, t, key, c->d_err[i])))
            return rc;
    }
    return 0;
}

typedef struct batch {
    fs_db_item *items;
    int n_items;
    const uint64_t *remove;
    int n_remove;
} batch;

static int write_batch(fs_db *db, MDB_txn *t, void *ctx)
{
    const batch *b = ctx;
    counters c = {0};
    uint8_t *scratch = NULL;
    size_t scap = 0;
    int rc;
    if ((rc = fs_meta_get_u64(t, db->meta, "next.image", &c.next_image)) ||
        (rc = fs_meta_get_u64(t, db->meta, "next.face", &c.next_face)))
        return rc;
    for (int i = 0; i < b->n_remove && !rc; i++)
        rc = remove_image(db, t, b->remove[i], &c);
    for (int i = 0; i < b->n_items && !rc; i++)
        rc = put_item(db, t, &b->items[i], &c, &scratch, &scap);
    if (!rc)
        rc = write_counters(db, t, &c);
    free(scratch);
    return rc;
}

/* Doubles the map.  Needs every transaction of this process finished: the
 * write lock on resize_lock waits for open snapshots. */
static int grow_map(fs_db *db)
{
    pthread_rwlock_wrlock(&db->resize_lock);
    MDB_envinfo info;
    mdb_env_info(db->env, &info);
    int rc = mdb_env_set_mapsize(db->env, info.me_mapsize * 2);
    pthread_rwlock_unlock(&db->resize_lock);
    return rc;
}

int fs_db_write(fs_db *db, int (*fn)(fs_db *, MDB_txn *, void *), void *ctx, const char *what,
                uint64_t need, fs_error *err)
{
    if (db->readonly)
        return fs_fail(err, FS_EINTERNAL, "%s: opened read-only", db->path);
    if (db->parts)
        return fs_fail(err, FS_EUSAGE, "%s: a sharded database: %s goes to one shard", db->path,
                       what);
    for (;;) {
        pthread_rwlock_rdlock(&db->resize_lock);
        MDB_txn *t;
        int rc = mdb_txn_begin(db->env, NULL, 0, &t);
        if (!rc) {
            rc = fn(db, t, ctx);
            if (rc)
                mdb_txn_abort(t);
            else
                rc = mdb_txn_commit(t);
        }
        pthread_rwlock_unlock(&db->resize_lock);
        if (rc == 0)
            return FS_OK;
        if (rc == MDB_MAP_FULL) {
            /* Nothing was written; grow and replay the whole transaction. */
            int g = grow_map(db);
            if (g)
                return fs_db_lmdb_fail(db, err, g, "growing the map");
            continue;
        }
        if (fs_disk_full(db->path, rc, need, 0, what, err) == FS_ENOSPC)
            return FS_ENOSPC;
        return fs_db_lmdb_fail(db, err, rc, what);
    }
}

int fs_db_commit(fs_db *db, fs_db_item *items, int n_items, const uint64_t *remove,
                 int n_remove, fs_error *err)
{
    for (int i = 0; i < n_items; i++)
        if (!items[i].img.path || !items[i].img.path[0])
            return fs_fail(err, FS_EINTERNAL, "%s: photo record without a path", db->path);
    if (db->parts)
        return fs_shards_commit(db, items, n_items, remove, n_remove, err);
    batch b = {items, n_items, remove, n_remove};
    /* What the batch adds, for a disk-full message: records, keys and
     * vectors (B-tree pages add a little on top). */
    uint64_t need = 0;
    for (int i = 0; i < n_items; i++)
        need += fs_rec_image_size(&items[i].img) + 2 * FS_DB_MAX_KEY +
                (uint64_t)items[i].img.n_faces * (FS_FACE_BYTES + 16 +
                                                  fs_vec_bytes(db->dim, db->f16));
    char what[64];
    snprintf(what, sizeof what, "committing a batch of %d photo%s", n_items,
             n_items == 1 ? "" : "s");
    return fs_db_write(db, write_batch, &b, what, need, err);
}
