/* The people database: opening DIR/people.mdb, transactions, meta values
 * (see facesearch/people.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "facesearch/hash.h"
#include "internal.h"

/* Small: names, a few thousand examples and one label per face.  Grows by
 * doubling like the face database. */
#define INITIAL_MAP ((size_t)64 << 20)

int fs_people_lmdb_fail(const fs_people *p, fs_error *err, int rc, const char *what)
{
    return fs_fail(err, rc == ENOMEM ? FS_ENOMEM : FS_EDB, "%s: %s: %s", p->path, what,
                   mdb_strerror(rc));
}

int64_t fs_people_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int fs_people_meta_get(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t *v)
{
    MDB_val k = {strlen(key), (void *)key}, d;
    int rc = mdb_get(t, meta, &k, &d);
    *v = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0 && d.mv_size != 8)
        return MDB_CORRUPTED;
    if (rc == 0)
        memcpy(v, d.mv_data, 8);
    return rc;
}

int fs_people_meta_put(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t v)
{
    MDB_val k = {strlen(key), (void *)key}, d = {8, &v};
    return mdb_put(t, meta, &k, &d, 0);
}

/* Takes the next value of counter key (starting at 1). */
int fs_people_next_id(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t *id)
{
    int rc = fs_people_meta_get(t, meta, key, id);
    if (rc)
        return rc;
    if (!*id)
        *id = 1;
    return fs_people_meta_put(t, meta, key, *id + 1);
}

int fs_people_bump_gen(fs_people *p, MDB_txn *t)
{
    uint64_t g;
    int rc = fs_people_meta_get(t, p->meta, "gen", &g);
    return rc ? rc : fs_people_meta_put(t, p->meta, "gen", g + 1);
}

uint64_t fs_people_model_tag(const char *model_id)
{
    uint8_t h[32];
    fs_sha256(model_id, strlen(model_id), h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return v;
}

int fs_person_name_check(const char *name, fs_error *err)
{
    size_t n = strlen(name);
    if (!n || n > FS_PERSON_NAME_MAX)
        return fs_fail(err, FS_EUSAGE, "a person's name has 1 to %d bytes", FS_PERSON_NAME_MAX);
    if (name[0] == ' ' || name[n - 1] == ' ')
        return fs_fail(err, FS_EUSAGE, "'%s': a name must not start or end with a space", name);
    int digits = 1;
    for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
        if (*s < 0x20 || *s == 0x7f)
            return fs_fail(err, FS_EUSAGE, "a person's name must not hold control characters");
        if (*s < '0' || *s > '9')
            digits = 0;
    }
    if (digits)
        return fs_fail(err, FS_EUSAGE, "'%s': a name must not be all digits (face ids are)",
                       name);
    return FS_OK;
}

int fs_people_open(const char *dir, int flags, fs_people **out, fs_error *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fs_fail(err, FS_ENOTFOUND, "%s: no database here", dir);
    fs_people *p = calloc(1, sizeof *p);
    if (!p)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    snprintf(p->path, sizeof p->path, "%s/%s", dir, FS_PEOPLE_FILE);
    p->readonly = (flags & FS_DB_READONLY) != 0;
    if (stat(p->path, &sb) != 0) {
        if (p->readonly || !(flags & FS_DB_CREATE)) {
            free(p);
            return fs_fail(err, FS_ENOTFOUND, "%s: no people enrolled yet (facesearch person add)",
                           dir);
        }
    }
    int rc = mdb_env_create(&p->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(p->env, 8);
    if (!rc && !p->readonly) {
        size_t map = INITIAL_MAP;
        if (stat(p->path, &sb) == 0 && (size_t)sb.st_size >= map / 2)
            map = (size_t)sb.st_size * 2;
        rc = mdb_env_set_mapsize(p->env, map);
    }
    if (!rc)
        rc = mdb_env_open(p->env, p->path, MDB_NOSUBDIR | (p->readonly ? MDB_RDONLY : 0), 0600);
    if (rc) {
        int code = rc == ENOENT ? FS_ENOTFOUND : rc == EACCES ? FS_EIO : FS_EDB;
        fs_fail(err, code, "%s: cannot open: %s", p->path, mdb_strerror(rc));
        fs_people_close(p);
        return code;
    }
    MDB_txn *t;
    rc = mdb_txn_begin(p->env, NULL, p->readonly ? MDB_RDONLY : 0, &t);
    const unsigned cf = p->readonly ? 0 : MDB_CREATE;
    struct { const char *name; MDB_dbi *dbi; } dbs[] = {
        {"meta", &p->meta}, {"names", &p->names}, {"persons", &p->persons},
        {"examples", &p->examples}, {"labels", &p->labels}};
    for (size_t i = 0; !rc && i < sizeof dbs / sizeof dbs[0]; i++)
        rc = mdb_dbi_open(t, dbs[i].name, cf, dbs[i].dbi);
    uint64_t schema = 0;
    if (!rc)
        rc = fs_people_meta_get(t, p->meta, "schema", &schema);
    if (!rc && !schema && !p->readonly) {
        schema = FS_PEOPLE_SCHEMA;
        rc = fs_people_meta_put(t, p->meta, "schema", schema);
    }
    /* Committed even when read-only: aborting would close the handles. */
    if (!rc)
        rc = mdb_txn_commit(t);
    else
        mdb_txn_abort(t);
    if (rc == MDB_NOTFOUND && p->readonly) {
        /* A first `person add` killed before its first commit. */
        fs_people_close(p);
        return fs_fail(err, FS_ENOTFOUND, "%s: no people enrolled yet (facesearch person add)",
                       dir);
    }
    if (rc) {
        int code = fs_people_lmdb_fail(p, err, rc, "opening");
        fs_people_close(p);
        return code;
    }
    if (schema != FS_PEOPLE_SCHEMA) {
        fs_fail(err, FS_EDB, "%s: people schema %llu, this facesearch reads %d", p->path,
                (unsigned long long)schema, FS_PEOPLE_SCHEMA);
        fs_people_close(p);
        return FS_EDB;
    }
    *out = p;
    return FS_OK;
}

void fs_people_close(fs_people *p)
{
    if (!p)
        return;
    if (p->env)
        mdb_env_close(p->env);
    free(p);
}

int fs_people_write(fs_people *p, int (*fn)(fs_people *, MDB_txn *, void *, fs_error *),
                    void *ctx, const char *what, fs_error *err)
{
    if (p->readonly)
        return fs_fail(err, FS_EINTERNAL, "%s: opened read-only", p->path);
    for (;;) {
        MDB_txn *t;
        int rc = mdb_txn_begin(p->env, NULL, 0, &t);
        if (!rc) {
            rc = fn(p, t, ctx, err);
            if (rc)
                mdb_txn_abort(t);
            else
                rc = mdb_txn_commit(t);
        }
        if (rc == 0)
            return FS_OK;
        if (rc == FS_TXN_FAILED)
            return p->fail_code; /* fn's own failure, already in err */
        if (rc == MDB_MAP_FULL) {
            MDB_envinfo info;
            mdb_env_info(p->env, &info);
            int g = mdb_env_set_mapsize(p->env, info.me_mapsize * 2);
            if (g)
                return fs_people_lmdb_fail(p, err, g, "growing the map");
            continue;
        }
        if (fs_disk_full(p->path, rc, 0, 0, what, err) == FS_ENOSPC)
            return FS_ENOSPC;
        return fs_people_lmdb_fail(p, err, rc, what);
    }
}

int fs_people_read_begin(fs_people *p, MDB_txn **t, fs_error *err)
{
    int rc = mdb_txn_begin(p->env, NULL, MDB_RDONLY, t);
    return rc ? fs_people_lmdb_fail(p, err, rc, "reading") : FS_OK;
}
