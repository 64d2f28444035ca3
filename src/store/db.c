/* Opening, closing and growing the face database (see facesearch/store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facesearch/hash.h"
#include "internal.h"

/* A fresh map reserves address space, not disk: start at 1 GiB, double on
 * demand (commit.c). */
#define INITIAL_MAP ((size_t)1 << 30)

int fs_db_lmdb_fail(const fs_db *db, fs_error *err, int rc, const char *what)
{
    return fs_fail(err, rc == ENOMEM ? FS_ENOMEM : FS_EDB, "%s: %s: %s",
                   db ? db->path : "database", what, mdb_strerror(rc));
}

int fs_meta_get_u64(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t *v)
{
    MDB_val k = {strlen(key), (void *)key}, d;
    int rc = mdb_get(t, meta, &k, &d);
    if (rc == 0) {
        if (d.mv_size != 8)
            return MDB_CORRUPTED;
        memcpy(v, d.mv_data, 8); /* native order; documented as little-endian x86-64 */
    } else if (rc == MDB_NOTFOUND) {
        *v = 0;
        rc = 0;
    }
    return rc;
}

int fs_meta_put_u64(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t v)
{
    MDB_val k = {strlen(key), (void *)key}, d = {8, &v};
    return mdb_put(t, meta, &k, &d, 0);
}

int fs_meta_get_str(MDB_txn *t, MDB_dbi meta, const char *key, char *out, size_t cap)
{
    MDB_val k = {strlen(key), (void *)key}, d;
    int rc = mdb_get(t, meta, &k, &d);
    if (rc == MDB_NOTFOUND) {
        out[0] = '\0';
        return 0;
    }
    if (rc)
        return rc;
    size_t n = d.mv_size < cap - 1 ? d.mv_size : cap - 1;
    memcpy(out, d.mv_data, n);
    out[n] = '\0';
    return 0;
}

int fs_meta_put_str(MDB_txn *t, MDB_dbi meta, const char *key, const char *s)
{
    MDB_val k = {strlen(key), (void *)key}, d = {strlen(s), (void *)s};
    return mdb_put(t, meta, &k, &d, 0);
}

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* One writing process per database: LMDB would serialise two writers, but
 * two ingests interleaving batches of the same archive is never what the
 * operator wants, so the second is refused.  flock dies with the process. */
static int take_writer_lock(fs_db *db, const char *dir, fs_error *err)
{
    char lp[4200];
    snprintf(lp, sizeof lp, "%s/ingest.lock", dir);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fs_fail(err, FS_EIO, "%s: cannot open: %s", lp, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (errno == EWOULDBLOCK || errno == EAGAIN || n >= 0)
            return fs_fail(err, FS_EBUSY,
                           "%s: another facesearch process%s%s%s is writing this database; "
                           "wait for it to finish",
                           dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        return fs_fail(err, FS_EIO, "%s: cannot lock: %s", lp, strerror(errno));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* The pid is only informative; the lock itself is held. */
    }
    db->lock_fd = fd;
    return FS_OK;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Creates meta on a new database, or checks schema and model on an old one. */
static int check_meta(fs_db *db, MDB_txn *t, const fs_db_model *model, uint64_t id_base,
                      fs_error *err)
{
    uint64_t schema;
    int rc = fs_meta_get_u64(t, db->meta, "schema", &schema);
    if (rc)
        return fs_db_lmdb_fail(db, err, rc, "reading meta");
    if (schema == 0) {
        if (db->readonly)
            return fs_fail(err, FS_EDB, "%s: database is empty (not initialised)", db->path);
        if (!model || !model->id || model->dim <= 0)
            return fs_fail(err, FS_EINTERNAL, "%s: creating a database needs a model", db->path);
        if ((rc = fs_meta_put_u64(t, db->meta, "schema", FS_DB_SCHEMA)) ||
            (rc = fs_meta_put_str(t, db->meta, "model.id", model->id)) ||
            (rc = fs_meta_put_str(t, db->meta, "model.checksum", model->checksum ? model->checksum : "")) ||
            (rc = fs_meta_put_u64(t, db->meta, "dim", (uint64_t)model->dim)) ||
            (rc = fs_meta_put_u64(t, db->meta, "vector.f16", 1)) ||
            (rc = fs_meta_put_u64(t, db->meta, "next.image", id_base + 1)) ||
            (rc = fs_meta_put_u64(t, db->meta, "next.face", id_base)) ||
            (rc = fs_meta_put_u64(t, db->meta, "created_ns", (uint64_t)now_ns())))
            return fs_db_lmdb_fail(db, err, rc, "initialising meta");
        db->dim = model->dim;
        db->f16 = 1;
        snprintf(db->model_id, sizeof db->model_id, "%s", model->id);
        return FS_OK;
    }
    if (schema != FS_DB_SCHEMA)
        return fs_fail(err, FS_EDB,
                       "%s: database schema %llu, this facesearch reads schema %d "
                       "(re-ingest into a new --db)",
                       db->path, (unsigned long long)schema, FS_DB_SCHEMA);
    uint64_t dim;
    char id[256];
    if ((rc = fs_meta_get_u64(t, db->meta, "dim", &dim)) ||
        (rc = fs_meta_get_str(t, db->meta, "model.id", id, sizeof id)))
        return fs_db_lmdb_fail(db, err, rc, "reading meta");
    db->dim = (int)dim;
    snprintf(db->model_id, sizeof db->model_id, "%s", id);
    uint64_t f16;
    if ((rc = fs_meta_get_u64(t, db->meta, "vector.f16", &f16)))
        return fs_db_lmdb_fail(db, err, rc, "reading meta");
    db->f16 = f16 != 0;
    char target[256];
    if ((rc = fs_meta_get_str(t, db->meta, "reembed.model", target, sizeof target)))
        return fs_db_lmdb_fail(db, err, rc, "reading meta");
    if (model && model->id && target[0])
        return fs_fail(err, FS_EDB,
                       "%s: a reembed to '%s' is under way; run facesearch reembed to finish it",
                       db->path, target);
    if (model && model->id && (strcmp(id, model->id) != 0 || (int)dim != model->dim))
        return fs_fail(err, FS_EDB,
                       "%s: database holds vectors of model '%s' (dim %llu), this run uses "
                       "'%s' (dim %d); run facesearch reembed to move it to this model, or use another --db",
                       db->path, id, (unsigned long long)dim, model->id, model->dim);
    return FS_OK;
}

static int open_dbis(fs_db *db, MDB_txn *t, fs_error *err)
{
    unsigned flags = db->readonly ? 0 : MDB_CREATE;
    struct { const char *name; MDB_dbi *dbi; } list[] = {
        {"meta", &db->meta}, {"images", &db->images}, {"paths", &db->paths},
        {"faces", &db->faces}, {"vectors", &db->vectors},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        int rc = mdb_dbi_open(t, list[i].name, flags, list[i].dbi);
        MDB_envinfo info;
        if (rc == MDB_NOTFOUND && mdb_env_info(db->env, &info) == 0 && info.me_last_txnid == 0)
            /* Nothing committed yet: an ingest creating it this moment, or
             * one killed before its first commit (the next one goes on). */
            return fs_fail(err, FS_ENOTFOUND, "%s: no facesearch database here yet (run "
                                              "facesearch ingest first)",
                           db->path);
        if (rc == MDB_NOTFOUND)
            return fs_fail(err, FS_EDB, "%s: not a facesearch database (no '%s' table)",
                           db->path, list[i].name);
        if (rc)
            return fs_db_lmdb_fail(db, err, rc, "opening tables");
    }
    return FS_OK;
}

int fs_db_open(const char *dir, const fs_db_options *opts, fs_db **out, fs_error *err)
{
    return fs_db_open_shards(dir, opts, 1, 0, out, err);
}

int fs_db_open_shards(const char *dir, const fs_db_options *opts, int stride, int offset,
                      fs_db **out, fs_error *err)
{
    *out = NULL;
    int flags = opts->flags;
    const fs_db_model *model = opts->model;
    int readonly = (flags & FS_DB_READONLY) != 0;
    fs_db *db = calloc(1, sizeof *db);
    if (!db)
        return fs_fail(err, FS_ENOMEM, "%s: out of memory", dir);
    db->readonly = readonly;
    snprintf(db->path, sizeof db->path, "%s/%s", dir, FS_DB_FILE);
    db->lock_fd = -1;
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* A pending resize must not be starved by a stream of snapshots. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&db->resize_lock, &ra);
    pthread_rwlockattr_destroy(&ra);

    struct stat st;
    int exists = stat(db->path, &st) == 0;
    int rc = FS_OK;
    char manifest[4200];
    snprintf(manifest, sizeof manifest, "%s/%s", dir, FS_SHARD_MANIFEST);
    if (!exists && stat(manifest, &st) == 0) {
        snprintf(db->path, sizeof db->path, "%s", dir);
        if ((rc = fs_shards_open(dir, opts, stride, offset, db, err)) != FS_OK)
            goto fail;
        *out = db;
        return FS_OK;
    }
    if (offset != 0) {
        rc = fs_fail(err, FS_ENOTFOUND, "%s: a plain database has no shard %d", dir, offset);
        goto fail;
    }
    if (!exists && !(flags & FS_DB_CREATE)) {
        rc = fs_fail(err, FS_ENOTFOUND, "%s: no facesearch database here (run facesearch ingest first)",
                     dir);
        goto fail;
    }
    if (!exists && mkdir_p(dir) != 0) {
        rc = fs_fail(err, FS_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
        goto fail;
    }
    if (!readonly && (rc = take_writer_lock(db, dir, err)) != FS_OK)
        goto fail;
    int mrc = mdb_env_create(&db->env);
    if (mrc) {
        rc = fs_db_lmdb_fail(db, err, mrc, "creating environment");
        goto fail;
    }
    mdb_env_set_maxdbs(db->env, 8);
    size_t map = opts->initial_map_bytes ? (size_t)opts->initial_map_bytes : INITIAL_MAP;
    map = (map + 0xFFFFF) & ~(size_t)0xFFFFF; /* whole MiBs: a page multiple */
    if (exists && (size_t)st.st_size * 2 > map)
        map = (size_t)st.st_size * 2;
    if (!readonly)
        mdb_env_set_mapsize(db->env, map);
    /* NOTLS: snapshots are tied to fs_db_snap objects, not threads. */
    unsigned ef = MDB_NOSUBDIR | MDB_NOTLS | (readonly ? MDB_RDONLY : 0);
    mrc = mdb_env_open(db->env, db->path, ef, 0600);
    if (mrc) {
        rc = fs_db_lmdb_fail(db, err, mrc, readonly ? "opening read-only" : "opening");
        goto fail;
    }
    MDB_txn *t;
    mrc = mdb_txn_begin(db->env, NULL, readonly ? MDB_RDONLY : 0, &t);
    if (mrc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(db->env, 0);
        mrc = mdb_txn_begin(db->env, NULL, readonly ? MDB_RDONLY : 0, &t);
    }
    if (mrc) {
        rc = fs_db_lmdb_fail(db, err, mrc, "starting transaction");
        goto fail;
    }
    rc = open_dbis(db, t, err);
    if (rc == FS_OK)
        rc = check_meta(db, t, model, opts->id_base, err);
    /* Committing (even a read-only txn) keeps the table handles open. */
    if (rc == FS_OK) {
        mrc = mdb_txn_commit(t);
        if (mrc)
            rc = fs_db_lmdb_fail(db, err, mrc, "initialising");
    } else {
        mdb_txn_abort(t);
    }
    if (rc != FS_OK)
        goto fail;
    *out = db;
    return FS_OK;
fail:
    fs_db_close(db);
    return rc;
}

void fs_db_close(fs_db *db)
{
    if (!db)
        return;
    fs_shards_close(db);
    if (db->env)
        mdb_env_close(db->env);
    if (db->lock_fd >= 0)
        close(db->lock_fd); /* releases the flock */
    pthread_rwlock_destroy(&db->resize_lock);
    free(db);
}

size_t fs_db_path_key(const char *path, uint8_t key[FS_DB_MAX_KEY])
{
    size_t n = strlen(path);
    if (n <= FS_DB_MAX_KEY) {
        memcpy(key, path, n);
        return n;
    }
    /* Keep a readable prefix, make it unique with the hash of the whole. */
    memcpy(key, path, FS_DB_MAX_KEY - 32);
    fs_sha256(path, n, key + FS_DB_MAX_KEY - 32);
    return FS_DB_MAX_KEY;
}

int fs_db_set_meta_i64(fs_db *db, const char *key, int64_t value, fs_error *err)
{
    if (db->parts)
        return fs_shards_set_meta_i64(db, key, value, err);
    MDB_txn *t;
    pthread_rwlock_rdlock(&db->resize_lock);
    int rc = mdb_txn_begin(db->env, NULL, 0, &t);
    if (rc == 0) {
        rc = fs_meta_put_u64(t, db->meta, key, (uint64_t)value);
        if (rc == 0)
            rc = mdb_txn_commit(t);
        else
            mdb_txn_abort(t);
    }
    pthread_rwlock_unlock(&db->resize_lock);
    return rc ? fs_db_lmdb_fail(db, err, rc, "writing meta") : FS_OK;
}
