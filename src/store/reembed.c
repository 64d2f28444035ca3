/*
 * Re-embedding in place (store.h): new vectors overwrite old ones face by
 * face under the same ids, a batch per transaction, with the photo to
 * resume from; they are written as float16, the format of current
 * databases, which the last transaction records.  meta keys: reembed.model, reembed.checksum, reembed.dim,
 * reembed.next_image (docs/formats.md).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct begin_ctx {
    const fs_db_model *m;
    uint64_t next;
} begin_ctx;

static int begin_txn(fs_db *db, MDB_txn *t, void *ctx)
{
    begin_ctx *c = ctx;
    char cur[256];
    int rc = fs_meta_get_str(t, db->meta, "reembed.model", cur, sizeof cur);
    if (!rc && strcmp(cur, c->m->id) == 0) /* the same target: resume */
        return fs_meta_get_u64(t, db->meta, "reembed.next_image", &c->next);
    c->next = 1;
    if (rc || (rc = fs_meta_put_str(t, db->meta, "reembed.model", c->m->id)) ||
        (rc = fs_meta_put_str(t, db->meta, "reembed.checksum",
                              c->m->checksum ? c->m->checksum : "")) ||
        (rc = fs_meta_put_u64(t, db->meta, "reembed.dim", (uint64_t)c->m->dim)))
        return rc;
    return fs_meta_put_u64(t, db->meta, "reembed.next_image", c->next);
}

int fs_db_reembed_begin(fs_db *db, const fs_db_model *target, uint64_t *next_image,
                        fs_error *err)
{
    if (db->parts)
        return fs_fail(err, FS_EUSAGE, "%s: a sharded database is re-embedded shard by shard "
                       "(facesearch reembed --db DIR/shard-NNNN, for each shard)", db->path);
    if (!target || !target->id || !target->id[0] || strlen(target->id) > 255 || target->dim <= 0)
        return fs_fail(err, FS_EUSAGE, "%s: reembed needs a target model", db->path);
    begin_ctx c = {target, 1};
    int rc = fs_db_write(db, begin_txn, &c, "starting a reembed", 0, err);
    if (rc == FS_OK && next_image)
        *next_image = c.next;
    return rc;
}

typedef struct put_ctx {
    const uint64_t *ids;
    const float *vecs;
    size_t n;
    uint64_t next_image;
} put_ctx;

static int put_txn(fs_db *db, MDB_txn *t, void *ctx)
{
    const put_ctx *p = ctx;
    uint64_t dim;
    int rc = fs_meta_get_u64(t, db->meta, "reembed.dim", &dim);
    if (rc)
        return rc;
    if (!dim)
        return MDB_NOTFOUND; /* no reembed under way */
    for (size_t i = 0; i < p->n && !rc; i++) {
        uint8_t kb[8];
        fs_key_u64(p->ids[i], kb);
        MDB_val k = {8, kb}, v = {fs_vec_bytes((int)dim, 1), NULL};
        if (!(rc = mdb_put(t, db->vectors, &k, &v, MDB_RESERVE)))
            fs_vec_encode(p->vecs + i * dim, (int)dim, 1, v.mv_data);
    }
    return rc ? rc : fs_meta_put_u64(t, db->meta, "reembed.next_image", p->next_image);
}

int fs_db_reembed_put(fs_db *db, const uint64_t *face_ids, const float *vecs, size_t n,
                      uint64_t next_image, fs_error *err)
{
    put_ctx p = {face_ids, vecs, n, next_image};
    return fs_db_write(db, put_txn, &p, "writing re-embedded vectors", 0, err);
}

static int finish_txn(fs_db *db, MDB_txn *t, void *ctx)
{
    (void)ctx;
    char id[256], sum[1024];
    uint64_t dim, gen;
    int rc;
    if ((rc = fs_meta_get_str(t, db->meta, "reembed.model", id, sizeof id)) ||
        (rc = fs_meta_get_str(t, db->meta, "reembed.checksum", sum, sizeof sum)) ||
        (rc = fs_meta_get_u64(t, db->meta, "reembed.dim", &dim)) ||
        (rc = fs_meta_get_u64(t, db->meta, "generation", &gen)))
        return rc;
    if (!id[0])
        return MDB_NOTFOUND;
    if ((rc = fs_meta_put_str(t, db->meta, "model.id", id)) ||
        (rc = fs_meta_put_str(t, db->meta, "model.checksum", sum)) ||
        (rc = fs_meta_put_u64(t, db->meta, "dim", dim)) ||
        (rc = fs_meta_put_u64(t, db->meta, "vector.f16", 1)) ||
        (rc = fs_meta_put_u64(t, db->meta, "generation", gen + 1)))
        return rc;
    const char *keys[] = {"reembed.model", "reembed.checksum", "reembed.dim",
                          "reembed.next_image"};
    for (size_t i = 0; i < 4 && !rc; i++) {
        MDB_val k = {strlen(keys[i]), (void *)keys[i]};
        rc = mdb_del(t, db->meta, &k, NULL);
    }
    if (!rc) {
        db->dim = (int)dim;
        db->f16 = 1;
    }
    return rc;
}

int fs_db_reembed_finish(fs_db *db, fs_error *err)
{
    return fs_db_write(db, finish_txn, NULL, "finishing a reembed", 0, err);
}
