/* People and their examples: records, enrolment and edits (facesearch/people.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- records ------------------------------------------------------------ */

/* Example: version 1, aug, flags (bit 0 gone), pad, dim u32, face id,
 * parent, box f32[4], model tag, created ns, path length u16, path,
 * vec f32[dim]; little-endian (native x86-64). */
#define EX_FIXED 58

size_t fs_example_size(const fs_example *ex)
{
    return EX_FIXED + strlen(ex->path) + (size_t)ex->dim * 4;
}

void fs_example_encode(const fs_example *ex, uint8_t *out)
{
    size_t pl = strlen(ex->path);
    uint32_t dim = (uint32_t)ex->dim;
    uint16_t pl16 = (uint16_t)pl;
    out[0] = 1;
    out[1] = (uint8_t)ex->aug;
    out[2] = ex->gone ? 1 : 0;
    out[3] = 0;
    memcpy(out + 4, &dim, 4);
    memcpy(out + 8, &ex->face_id, 8);
    memcpy(out + 16, &ex->parent, 8);
    memcpy(out + 24, ex->box, 16);
    memcpy(out + 40, &ex->model_tag, 8);
    memcpy(out + 48, &ex->created_ns, 8);
    memcpy(out + 56, &pl16, 2);
    memcpy(out + EX_FIXED, ex->path, pl);
    memcpy(out + EX_FIXED + pl, ex->vec, (size_t)dim * 4);
}

int fs_example_decode(const uint8_t *buf, size_t len, fs_example *ex)
{
    if (len < EX_FIXED || buf[0] != 1)
        return -1;
    uint32_t dim;
    uint16_t pl;
    memcpy(&dim, buf + 4, 4);
    memcpy(&pl, buf + 56, 2);
    if (dim > FS_DESCRIPTOR_MAX || len != EX_FIXED + (size_t)pl + (size_t)dim * 4)
        return -1;
    ex->aug = buf[1];
    ex->gone = buf[2] & 1;
    ex->dim = (int)dim;
    memcpy(&ex->face_id, buf + 8, 8);
    memcpy(&ex->parent, buf + 16, 8);
    memcpy(ex->box, buf + 24, 16);
    memcpy(&ex->model_tag, buf + 40, 8);
    memcpy(&ex->created_ns, buf + 48, 8);
    ex->path = malloc((size_t)pl + 1);
    ex->vec = malloc((size_t)dim * 4 + 4);
    if (!ex->path || !ex->vec) {
        free(ex->path);
        free(ex->vec);
        ex->path = NULL;
        ex->vec = NULL;
        return -1;
    }
    memcpy(ex->path, buf + EX_FIXED, pl);
    ex->path[pl] = '\0';
    memcpy(ex->vec, buf + EX_FIXED + pl, (size_t)dim * 4);
    return 0;
}

void fs_example_list_free(fs_example_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].vec);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Appends ex, taking ownership of its path and vec. */
static int list_take(fs_example_list *l, fs_example *ex)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        fs_example *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *ex;
    return 0;
}

int fs_example_list_push(fs_example_list *l, const fs_example *ex, fs_error *err)
{
    fs_example c = *ex;
    c.path = strdup(ex->path ? ex->path : "");
    c.vec = malloc((size_t)ex->dim * sizeof(float) + 4);
    if (!c.path || !c.vec || list_take(l, &c)) {
        free(c.path);
        free(c.vec);
        return fs_fail(err, FS_ENOMEM, "out of memory");
    }
    memcpy(c.vec, ex->vec, (size_t)ex->dim * sizeof(float));
    return FS_OK;
}

static int put_example(fs_people *p, MDB_txn *t, const fs_example *ex)
{
    uint8_t key[16];
    fs_be64_put(ex->person, key);
    fs_be64_put(ex->id, key + 8);
    MDB_val k = {16, key}, d = {fs_example_size(ex), NULL};
    int rc = mdb_put(t, p->examples, &k, &d, MDB_RESERVE);
    if (!rc)
        fs_example_encode(ex, d.mv_data);
    return rc;
}

/* Walks the examples of person (0: all); cb gets each decoded example
 * (owned by the walk) and returns 0 to go on. */
static int walk_examples(fs_people *p, MDB_txn *t, uint64_t person,
                         int (*cb)(void *, MDB_cursor *, fs_example *), void *ctx)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, p->examples, &c);
    if (rc)
        return rc;
    uint8_t start[16] = {0};
    fs_be64_put(person, start);
    MDB_val k = {person ? 8 : 0, start}, d;
    rc = person ? mdb_cursor_get(c, &k, &d, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &d, MDB_FIRST);
    while (!rc) {
        if (k.mv_size != 16) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint64_t who = fs_be64_get(k.mv_data);
        if (person && who != person)
            break;
        fs_example ex = {0};
        if (fs_example_decode(d.mv_data, d.mv_size, &ex) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        ex.person = who;
        ex.id = fs_be64_get((const uint8_t *)k.mv_data + 8);
        rc = cb(ctx, c, &ex);
        free(ex.path);
        free(ex.vec);
        if (rc)
            break;
        rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int find_name(fs_people *p, MDB_txn *t, const char *name, uint64_t *id)
{
    MDB_val k = {strlen(name), (void *)name}, d;
    int rc = mdb_get(t, p->names, &k, &d);
    if (!rc && d.mv_size != 8)
        return MDB_CORRUPTED;
    if (!rc)
        *id = fs_be64_get(d.mv_data);
    return rc;
}

/* The name of person id into out ("" when absent). */
static int name_of(fs_people *p, MDB_txn *t, uint64_t id, char out[FS_PERSON_NAME_MAX + 1])
{
    uint8_t key[8];
    fs_be64_put(id, key);
    MDB_val k = {8, key}, d;
    int rc = mdb_get(t, p->persons, &k, &d);
    out[0] = '\0';
    if (rc == MDB_NOTFOUND)
        return 0;
    if (!rc && (d.mv_size < 8 || d.mv_size > 8 + FS_PERSON_NAME_MAX))
        return MDB_CORRUPTED;
    if (!rc) {
        memcpy(out, (const char *)d.mv_data + 8, d.mv_size - 8);
        out[d.mv_size - 8] = '\0';
    }
    return rc;
}

static int put_person(fs_people *p, MDB_txn *t, uint64_t id, const char *name, int64_t created)
{
    uint8_t key[8], val[8 + FS_PERSON_NAME_MAX];
    size_t n = strlen(name);
    fs_be64_put(id, key);
    memcpy(val, &created, 8);
    memcpy(val + 8, name, n);
    MDB_val k = {8, key}, d = {8 + n, val}, nk = {n, (void *)name}, nd = {8, key};
    int rc = mdb_put(t, p->persons, &k, &d, 0);
    return rc ? rc : mdb_put(t, p->names, &nk, &nd, 0);
}

/* ---- add ---------------------------------------------------------------- */

typedef struct add_ctx {
    const char *name;
    fs_example *ex;
    size_t n, added;
    uint64_t person;
    uint8_t *skip;     /* per entry: already enrolled */
    uint64_t clash_face, clash_person; /* a face enrolled as someone else */
} add_ctx;

/* Marks entries whose stored face is already an example; fails for a face
 * that is someone else's. */
static int add_check(void *ctx, MDB_cursor *c, fs_example *have)
{
    (void)c;
    add_ctx *a = ctx;
    if (have->face_id == FS_NO_FACE || have->aug)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->ex[i].aug || a->ex[i].face_id != have->face_id)
            continue;
        if (have->person != a->person) {
            a->clash_face = have->face_id;
            a->clash_person = have->person;
            return FS_TXN_FAILED;
        }
        a->skip[i] = 1;
    }
    return 0;
}

static int add_txn(fs_people *p, MDB_txn *t, void *ctx, fs_error *err)
{
    add_ctx *a = ctx;
    int rc = find_name(p, t, a->name, &a->person);
    int created = rc == MDB_NOTFOUND;
    if (created)
        rc = fs_people_next_id(t, p->meta, "next.person", &a->person);
    if (!rc && created)
        rc = put_person(p, t, a->person, a->name, fs_people_now_ns());
    if (rc)
        return rc;
    /* A stored face given twice is enrolled once. */
    memset(a->skip, 0, a->n);
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; !a->ex[i].aug && a->ex[i].face_id != FS_NO_FACE && j < i; j++)
            if (!a->ex[j].aug && a->ex[j].face_id == a->ex[i].face_id)
                a->skip[i] = 1;
    rc = walk_examples(p, t, 0, add_check, a);
    if (rc == FS_TXN_FAILED) {
        char owner[FS_PERSON_NAME_MAX + 1] = "?";
        name_of(p, t, a->clash_person, owner);
        fs_fail(err, FS_EUSAGE, "face %llu is already enrolled as '%s' (facesearch person "
                                "unassign '%s' --face-id %llu first)",
                (unsigned long long)a->clash_face, owner, owner,
                (unsigned long long)a->clash_face);
        p->fail_code = FS_EUSAGE;
        return FS_TXN_FAILED;
    }
    if (rc)
        return rc;
    a->added = 0;
    int64_t now = fs_people_now_ns();
    for (size_t i = 0; i < a->n && !rc; i++) {
        fs_example *ex = &a->ex[i];
        size_t parent = ex->aug ? (size_t)ex->parent - 1 : i;
        if (parent >= a->n || a->skip[parent]) {
            ex->id = 0;
            continue;
        }
        ex->person = a->person;
        ex->created_ns = now;
        if (ex->aug)
            ex->parent = a->ex[parent].id;
        rc = fs_people_next_id(t, p->meta, "next.example", &ex->id);
        if (!rc)
            rc = put_example(p, t, ex);
        if (ex->aug)
            ex->parent = parent + 1; /* as given, should the transaction be replayed */
        else
            a->added++;
    }
    /* Nothing new: the labels stay valid. */
    return rc ? rc : created || a->added ? fs_people_bump_gen(p, t) : 0;
}

int fs_people_add(fs_people *p, const char *name, fs_example *ex, size_t n, size_t *added,
                  fs_error *err)
{
    if (fs_person_name_check(name, err) != FS_OK)
        return FS_EUSAGE;
    for (size_t i = 0; i < n; i++)
        if (ex[i].aug && (ex[i].parent < 1 || ex[i].parent > n || ex[i].parent - 1 >= i))
            return fs_fail(err, FS_EUSAGE, "augmented example %zu: its original must come first",
                           i);
    add_ctx a = {.name = name, .ex = ex, .n = n, .skip = calloc(n + 1, 1)};
    if (!a.skip)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    int rc = fs_people_write(p, add_txn, &a, "enrolling", err);
    free(a.skip);
    /* Parents back to ids for the caller. */
    for (size_t i = 0; rc == FS_OK && i < n; i++)
        if (ex[i].aug)
            ex[i].parent = ex[ex[i].parent - 1].id;
    if (added)
        *added = rc == FS_OK ? a.added : 0;
    return rc;
}

/* ---- reading ------------------------------------------------------------- */


typedef struct count_ctx {
    uint32_t examples, augmented;
} count_ctx;

static int count_cb(void *ctx, MDB_cursor *c, fs_example *ex)
{
    (void)c;
    count_ctx *n = ctx;
    if (ex->aug)
        n->augmented++;
    else
        n->examples++;
    return 0;
}

/* Fills out for person id (name, time, example counts). */
static int read_person(fs_people *p, MDB_txn *t, uint64_t id, const MDB_val *d, fs_person *out)
{
    if (d->mv_size < 8 || d->mv_size > 8 + FS_PERSON_NAME_MAX)
        return MDB_CORRUPTED;
    memset(out, 0, sizeof *out);
    out->id = id;
    memcpy(&out->created_ns, d->mv_data, 8);
    memcpy(out->name, (const char *)d->mv_data + 8, d->mv_size - 8);
    count_ctx n = {0, 0};
    int rc = walk_examples(p, t, id, count_cb, &n);
    out->examples = n.examples;
    out->augmented = n.augmented;
    return rc;
}

int fs_people_find(fs_people *p, const char *name, fs_person *out, fs_error *err)
{
    MDB_txn *t;
    if (fs_people_read_begin(p, &t, err) != FS_OK)
        return FS_EDB;
    uint64_t id = 0;
    int rc = find_name(p, t, name, &id);
    if (!rc) {
        uint8_t key[8];
        fs_be64_put(id, key);
        MDB_val k = {8, key}, d;
        rc = mdb_get(t, p->persons, &k, &d);
        if (!rc)
            rc = read_person(p, t, id, &d, out);
    }
    mdb_txn_abort(t);
    if (rc == MDB_NOTFOUND)
        return fs_fail(err, FS_ENOTFOUND, "no person '%s' (facesearch person list)", name);
    return rc ? fs_people_lmdb_fail(p, err, rc, "reading a person") : FS_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fs_person *)a)->name, ((const fs_person *)b)->name);
}

int fs_people_list(fs_people *p, fs_person **out, size_t *n, fs_error *err)
{
    *out = NULL;
    *n = 0;
    MDB_txn *t;
    if (fs_people_read_begin(p, &t, err) != FS_OK)
        return FS_EDB;
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(t, p->persons, &c);
    MDB_val k, d;
    size_t cap = 0;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &d, MDB_FIRST); !rc;
         rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            fs_person *v = realloc(*out, cap * sizeof *v);
            if (!v) {
                rc = ENOMEM;
                break;
            }
            *out = v;
        }
        if (k.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        if ((rc = read_person(p, t, fs_be64_get(k.mv_data), &d, &(*out)[*n])) != 0)
            break;
        (*n)++;
    }
    if (c)
        mdb_cursor_close(c); /* a read transaction's cursors are not freed with it */
    mdb_txn_abort(t);
    if (rc != MDB_NOTFOUND) {
        free(*out);
        *out = NULL;
        *n = 0;
        return fs_people_lmdb_fail(p, err, rc, "listing people");
    }
    qsort(*out, *n, sizeof **out, by_name);
    return FS_OK;
}

static int collect_cb(void *ctx, MDB_cursor *c, fs_example *ex)
{
    (void)c;
    if (list_take(ctx, ex))
        return ENOMEM;
    ex->path = NULL; /* now the list's */
    ex->vec = NULL;
    return 0;
}

int fs_people_examples(fs_people *p, uint64_t id, fs_example_list *out, fs_error *err)
{
    MDB_txn *t;
    if (fs_people_read_begin(p, &t, err) != FS_OK)
        return FS_EDB;
    int rc = walk_examples(p, t, id, collect_cb, out);
    mdb_txn_abort(t);
    return rc ? fs_people_lmdb_fail(p, err, rc, "reading examples") : FS_OK;
}

int fs_people_name_of(fs_people *p, uint64_t id, char out[FS_PERSON_NAME_MAX + 1], fs_error *err)
{
    MDB_txn *t;
    if (fs_people_read_begin(p, &t, err) != FS_OK)
        return FS_EDB;
    int rc = name_of(p, t, id, out);
    mdb_txn_abort(t);
    return rc ? fs_people_lmdb_fail(p, err, rc, "reading a name") : FS_OK;
}

int fs_people_generation(fs_people *p, uint64_t *gen, fs_error *err)
{
    MDB_txn *t;
    if (fs_people_read_begin(p, &t, err) != FS_OK)
        return FS_EDB;
    int rc = fs_people_meta_get(t, p->meta, "gen", gen);
    mdb_txn_abort(t);
    return rc ? fs_people_lmdb_fail(p, err, rc, "reading meta") : FS_OK;
}

/* ---- edits --------------------------------------------------------------- */

typedef struct edit_ctx {
    const char *name, *new_name;
    uint64_t person, face_id;
    size_t removed;
    uint64_t parents[64]; /* ids of deleted originals whose copies follow */
    int n_parents;
} edit_ctx;

static int person_of(fs_people *p, MDB_txn *t, const char *name, uint64_t *id, fs_error *err)
{
    int rc = find_name(p, t, name, id);
    if (rc == MDB_NOTFOUND) {
        fs_fail(err, FS_ENOTFOUND, "no person '%s' (facesearch person list)", name);
        p->fail_code = FS_ENOTFOUND;
        return FS_TXN_FAILED;
    }
    return rc;
}

/* Deletes the examples of one person that are face e->face_id (0: all)
 * and the augmented copies of those.  A copy's id is above its original's,
 * so the walk meets the original first. */
static int drop_cb(void *ctx, MDB_cursor *c, fs_example *ex)
{
    edit_ctx *e = ctx;
    int hit = !e->face_id || (!ex->aug && ex->face_id == e->face_id);
    for (int i = 0; !hit && ex->aug && i < e->n_parents; i++)
        hit = ex->parent == e->parents[i];
    if (!hit)
        return 0;
    if (!ex->aug) {
        e->removed++;
        if (e->face_id && e->n_parents < 64)
            e->parents[e->n_parents++] = ex->id;
    }
    return mdb_cursor_del(c, 0);
}

/* Deletes every label naming person. */
static int drop_labels_of(fs_people *p, MDB_txn *t, uint64_t person)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, p->labels, &c);
    MDB_val k, d;
    for (rc = rc ? rc : mdb_cursor_get(c, &k, &d, MDB_FIRST); !rc;
         rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
        if (d.mv_size >= 8 && fs_be64_get(d.mv_data) == person && (rc = mdb_cursor_del(c, 0)))
            break;
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int remove_txn(fs_people *p, MDB_txn *t, void *ctx, fs_error *err)
{
    edit_ctx *e = ctx;
    int rc = person_of(p, t, e->name, &e->person, err);
    if (rc)
        return rc;
    uint8_t key[8];
    fs_be64_put(e->person, key);
    MDB_val k = {8, key}, nk = {strlen(e->name), (void *)e->name};
    e->face_id = 0;
    if (!(rc = walk_examples(p, t, e->person, drop_cb, e)) &&
        !(rc = mdb_del(t, p->persons, &k, NULL)) && !(rc = mdb_del(t, p->names, &nk, NULL)) &&
        !(rc = drop_labels_of(p, t, e->person)))
        rc = fs_people_bump_gen(p, t);
    return rc;
}

int fs_people_remove(fs_people *p, const char *name, fs_error *err)
{
    edit_ctx e = {.name = name};
    return fs_people_write(p, remove_txn, &e, "removing a person", err);
}

static int rename_txn(fs_people *p, MDB_txn *t, void *ctx, fs_error *err)
{
    edit_ctx *e = ctx;
    int rc = person_of(p, t, e->name, &e->person, err);
    if (rc)
        return rc;
    uint64_t other;
    if ((rc = find_name(p, t, e->new_name, &other)) != MDB_NOTFOUND) {
        if (rc)
            return rc;
        fs_fail(err, FS_EUSAGE, "there is a person '%s' already", e->new_name);
        p->fail_code = FS_EUSAGE;
        return FS_TXN_FAILED;
    }
    uint8_t key[8];
    fs_be64_put(e->person, key);
    MDB_val k = {8, key}, d, nk = {strlen(e->name), (void *)e->name};
    int64_t created = 0;
    if (!(rc = mdb_get(t, p->persons, &k, &d)) && d.mv_size >= 8)
        memcpy(&created, d.mv_data, 8);
    if (!rc && !(rc = mdb_del(t, p->names, &nk, NULL)) &&
        !(rc = put_person(p, t, e->person, e->new_name, created)))
        rc = fs_people_bump_gen(p, t);
    return rc;
}

int fs_people_rename(fs_people *p, const char *old_name, const char *new_name, fs_error *err)
{
    if (fs_person_name_check(new_name, err) != FS_OK)
        return FS_EUSAGE;
    edit_ctx e = {.name = old_name, .new_name = new_name};
    return fs_people_write(p, rename_txn, &e, "renaming a person", err);
}

static int unassign_txn(fs_people *p, MDB_txn *t, void *ctx, fs_error *err)
{
    edit_ctx *e = ctx;
    int rc = person_of(p, t, e->name, &e->person, err);
    e->removed = 0;
    e->n_parents = 0;
    if (!rc)
        rc = walk_examples(p, t, e->person, drop_cb, e);
    if (!rc && !e->removed) {
        fs_fail(err, FS_ENOTFOUND, "face %llu is not one of '%s''s examples (facesearch person "
                                   "show '%s')",
                (unsigned long long)e->face_id, e->name, e->name);
        p->fail_code = FS_ENOTFOUND;
        return FS_TXN_FAILED;
    }
    return rc ? rc : fs_people_bump_gen(p, t);
}

int fs_people_unassign(fs_people *p, const char *name, uint64_t face_id, fs_error *err)
{
    if (face_id == 0 || face_id == FS_NO_FACE)
        return fs_fail(err, FS_EUSAGE, "%llu is not a stored face id", (unsigned long long)face_id);
    edit_ctx e = {.name = name, .face_id = face_id};
    return fs_people_write(p, unassign_txn, &e, "unassigning a face", err);
}

typedef struct update_ctx {
    const fs_example *ex;
    size_t n;
} update_ctx;

static int update_txn(fs_people *p, MDB_txn *t, void *ctx, fs_error *err)
{
    update_ctx *u = ctx;
    int rc = 0;
    for (size_t i = 0; i < u->n && !rc; i++) {
        uint8_t key[16];
        fs_be64_put(u->ex[i].person, key);
        fs_be64_put(u->ex[i].id, key + 8);
        MDB_val k = {16, key}, d;
        if ((rc = mdb_get(t, p->examples, &k, &d)) == MDB_NOTFOUND) {
            fs_fail(err, FS_ENOTFOUND, "example %llu was removed meanwhile",
                    (unsigned long long)u->ex[i].id);
            p->fail_code = FS_ENOTFOUND;
            return FS_TXN_FAILED;
        }
        if (!rc)
            rc = put_example(p, t, &u->ex[i]);
    }
    return rc ? rc : fs_people_bump_gen(p, t);
}

int fs_people_update(fs_people *p, const fs_example *ex, size_t n, fs_error *err)
{
    update_ctx u = {ex, n};
    return fs_people_write(p, update_txn, &u, "updating examples", err);
}
