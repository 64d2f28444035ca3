/* Labels of stored faces and the record of the last label run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- labels -------------------------------------------------------------- */

/* Label record: person id (BE), calibrated score f32, raw score f32,
 * fingerprint u64. */
#define LABEL_BYTES 24

typedef struct labels_ctx {
    const fs_label *l;
    size_t n;
    const uint64_t *drop;
    size_t n_drop;
} labels_ctx;

static int labels_txn(fs_people *p, MDB_txn *t, void *ctx, fs_error *err)
{
    (void)err;
    labels_ctx *c = ctx;
    int rc = 0;
    for (size_t i = 0; i < c->n && !rc; i++) {
        uint8_t key[8], val[LABEL_BYTES];
        fs_be64_put(c->l[i].face_id, key);
        fs_be64_put(c->l[i].person, val);
        memcpy(val + 8, &c->l[i].score, 4);
        memcpy(val + 12, &c->l[i].raw, 4);
        memcpy(val + 16, &c->l[i].fingerprint, 8);
        MDB_val k = {8, key}, d = {LABEL_BYTES, val};
        rc = mdb_put(t, p->labels, &k, &d, 0);
    }
    for (size_t i = 0; i < c->n_drop && !rc; i++) {
        uint8_t key[8];
        fs_be64_put(c->drop[i], key);
        MDB_val k = {8, key};
        if ((rc = mdb_del(t, p->labels, &k, NULL)) == MDB_NOTFOUND)
            rc = 0;
    }
    return rc;
}

int fs_people_labels_put(fs_people *p, const fs_label *l, size_t n, const uint64_t *drop,
                         size_t n_drop, fs_error *err)
{
    labels_ctx c = {l, n, drop, n_drop};
    return fs_people_write(p, labels_txn, &c, "writing labels", err);
}

static int label_decode(const MDB_val *k, const MDB_val *d, fs_label *l)
{
    if (k->mv_size != 8 || d->mv_size != LABEL_BYTES)
        return MDB_CORRUPTED;
    l->face_id = fs_be64_get(k->mv_data);
    l->person = fs_be64_get(d->mv_data);
    memcpy(&l->score, (const uint8_t *)d->mv_data + 8, 4);
    memcpy(&l->raw, (const uint8_t *)d->mv_data + 12, 4);
    memcpy(&l->fingerprint, (const uint8_t *)d->mv_data + 16, 8);
    return 0;
}

int fs_people_labels_get(fs_people *p, const uint64_t *face_ids, size_t n, fs_label *out,
                         fs_error *err)
{
    MDB_txn *t;
    if (fs_people_read_begin(p, &t, err) != FS_OK)
        return FS_EDB;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        uint8_t key[8];
        fs_be64_put(face_ids[i], key);
        MDB_val k = {8, key}, d;
        memset(&out[i], 0, sizeof out[i]);
        out[i].face_id = face_ids[i];
        rc = mdb_get(t, p->labels, &k, &d);
        if (!rc)
            rc = label_decode(&k, &d, &out[i]);
        else if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    mdb_txn_abort(t);
    return rc ? fs_people_lmdb_fail(p, err, rc, "reading labels") : FS_OK;
}

int fs_people_foreach_label(fs_people *p, int (*cb)(void *ctx, const fs_label *l), void *ctx,
                            fs_error *err)
{
    MDB_txn *t;
    if (fs_people_read_begin(p, &t, err) != FS_OK)
        return FS_EDB;
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(t, p->labels, &c), stop = 0;
    MDB_val k, d;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &d, MDB_FIRST); !rc && !stop;
         rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
        fs_label l;
        if ((rc = label_decode(&k, &d, &l)))
            break;
        stop = cb(ctx, &l);
    }
    if (c)
        mdb_cursor_close(c); /* a read transaction's cursors are not freed with it */
    mdb_txn_abort(t);
    if (stop)
        return stop;
    return rc != MDB_NOTFOUND ? fs_people_lmdb_fail(p, err, rc, "reading labels") : FS_OK;
}

/* ---- the last label run --------------------------------------------------- */

int fs_people_label_summary(fs_people *p, fs_label_summary *s, fs_error *err)
{
    memset(s, 0, sizeof *s);
    MDB_txn *t;
    if (fs_people_read_begin(p, &t, err) != FS_OK)
        return FS_EDB;
    uint64_t far = 0, thr = 0, aug = 0, fin = 0;
    MDB_val k = {12, "label.method"}, d;
    int rc = mdb_get(t, p->meta, &k, &d);
    if (!rc && d.mv_size < sizeof s->method) {
        memcpy(s->method, d.mv_data, d.mv_size);
        s->method[d.mv_size] = '\0';
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (!rc && !(rc = fs_people_meta_get(t, p->meta, "label.far", &far)) &&
        !(rc = fs_people_meta_get(t, p->meta, "label.threshold", &thr)) &&
        !(rc = fs_people_meta_get(t, p->meta, "label.fingerprint", &s->fingerprint)) &&
        !(rc = fs_people_meta_get(t, p->meta, "label.faces", &s->faces)) &&
        !(rc = fs_people_meta_get(t, p->meta, "label.known", &s->known)) &&
        !(rc = fs_people_meta_get(t, p->meta, "label.unknown", &s->unknown)) &&
        !(rc = fs_people_meta_get(t, p->meta, "label.augment", &aug)))
        rc = fs_people_meta_get(t, p->meta, "label.finished_ns", &fin);
    mdb_txn_abort(t);
    memcpy(&s->far, &far, 8);
    uint32_t t32 = (uint32_t)thr;
    memcpy(&s->threshold, &t32, 4);
    s->augment = (int)aug;
    s->finished_ns = (int64_t)fin;
    return rc ? fs_people_lmdb_fail(p, err, rc, "reading meta") : FS_OK;
}

static int summary_txn(fs_people *p, MDB_txn *t, void *ctx, fs_error *err)
{
    (void)err;
    const fs_label_summary *s = ctx;
    uint64_t far, thr;
    uint32_t t32;
    memcpy(&far, &s->far, 8);
    memcpy(&t32, &s->threshold, 4);
    thr = t32;
    MDB_val k = {12, "label.method"}, d = {strlen(s->method), (void *)s->method};
    int rc = mdb_put(t, p->meta, &k, &d, 0);
    if (!rc && !(rc = fs_people_meta_put(t, p->meta, "label.far", far)) &&
        !(rc = fs_people_meta_put(t, p->meta, "label.threshold", thr)) &&
        !(rc = fs_people_meta_put(t, p->meta, "label.fingerprint", s->fingerprint)) &&
        !(rc = fs_people_meta_put(t, p->meta, "label.faces", s->faces)) &&
        !(rc = fs_people_meta_put(t, p->meta, "label.known", s->known)) &&
        !(rc = fs_people_meta_put(t, p->meta, "label.unknown", s->unknown)) &&
        !(rc = fs_people_meta_put(t, p->meta, "label.augment", (uint64_t)s->augment)))
        rc = fs_people_meta_put(t, p->meta, "label.finished_ns", (uint64_t)s->finished_ns);
    return rc;
}

int fs_people_set_label_summary(fs_people *p, const fs_label_summary *s, fs_error *err)
{
    return fs_people_write(p, summary_txn, (void *)s, "recording the label run", err);
}
