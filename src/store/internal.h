/* Private to src/store: the handle layouts and record codecs. */
#ifndef FS_STORE_INTERNAL_H
#define FS_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>

#include "facesearch/store.h"

struct fs_db {
    MDB_env *env;
    MDB_dbi meta, images, paths, faces, vectors;
    char path[4096];      /* .../faces.mdb */
    int readonly;
    int lock_fd;          /* ingest.lock, flock'ed by writers; -1 for readers */
    int dim;
    int f16;              /* vectors stored as float16 (meta vector.f16) */
    /* Growing the map needs no transaction of this process active; the
     * lock lets snapshots and commits in different threads coordinate. */
    pthread_rwlock_t resize_lock;
    char model_id[256];   /* meta model.id */
    /* A sharded database: its shards (env unused), else NULL. */
    struct fs_db **parts;
    int n_parts;
};

struct fs_db_snap {
    fs_db *db;
    MDB_txn *txn;
    /* Scratch for NUL-terminated strings handed out by get_image. */
    char *strbuf;
    size_t strcap;
    struct fs_db_snap **parts; /* a sharded database's: one per shard */
};

/* Fixed part of an encoded image record (see docs/formats.md). */
#define FS_IMG_FIXED 84
/* Encoded face record size. */
#define FS_FACE_BYTES (8 + 16 + 4 + 4 + 4 + 4 + FS_LANDMARKS * 8)

/* Record codecs (records.c).  Encoders write little-endian fields. */
size_t fs_rec_image_size(const fs_image_rec *r);
void fs_rec_image_encode(const fs_image_rec *r, uint8_t *out);
/* Decodes an image record; path/error point into buf and are NOT
 * NUL-terminated: their lengths go to *path_len / *err_len.  Returns 0, or
 * -1 when the record is malformed. */
int fs_rec_image_decode(const uint8_t *buf, size_t len, fs_image_rec *r,
                        size_t *path_len, size_t *err_len);
void fs_rec_face_encode(const fs_face_rec *f, uint8_t out[FS_FACE_BYTES]);
int fs_rec_face_decode(const uint8_t *buf, size_t len, fs_face_rec *f);

/* Bytes of a stored vector, and the codec: float32 <-> the stored form
 * (float16, rounded to nearest even, on databases with vector.f16; float32
 * on older ones).  Decoding float16 re-normalises a non-zero vector to unit
 * length.  src/dst of the stored form may be unaligned. */
size_t fs_vec_bytes(int dim, int f16);
void fs_vec_encode(const float *v, int dim, int f16, void *dst);
void fs_vec_decode(const void *src, int dim, int f16, float *v);

/* Big-endian u64 keys sort numerically under LMDB's default comparator. */
void fs_key_u64(uint64_t v, uint8_t out[8]);
uint64_t fs_key_u64_get(const void *p);

/* Maps an LMDB return code to FS_EDB with a message naming the database. */
int fs_db_lmdb_fail(const fs_db *db, fs_error *err, int rc, const char *what);

/* Runs fn in a write transaction and commits it; on MDB_MAP_FULL the map
 * is grown and fn replayed from scratch (fn's writes must depend only on
 * what it reads in t).  `what` names the step in errors; `need` estimates
 * the bytes the transaction writes (0 = unknown), for a disk-full message.
 * The transaction is all or nothing: on any error the database keeps its
 * state before it.  Errors: FS_ENOSPC (fs_disk_full), FS_EDB, FS_EINTERNAL
 * (read-only handle). */
int fs_db_write(fs_db *db, int (*fn)(fs_db *, MDB_txn *, void *), void *ctx, const char *what,
                uint64_t need, fs_error *err);

/* Meta helpers inside a transaction. */
int fs_meta_get_u64(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t *v);
int fs_meta_put_u64(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t v);
/* A string value ("" when absent; cut to cap - 1 bytes). */
int fs_meta_get_str(MDB_txn *t, MDB_dbi meta, const char *key, char *out, size_t cap);
int fs_meta_put_str(MDB_txn *t, MDB_dbi meta, const char *key, const char *s);

/* Sharded databases (shards.c): fs_db_open and the public functions hand a
 * database with parts to these. */
int fs_shards_open(const char *dir, const fs_db_options *opts, int stride, int offset, fs_db *db,
                   fs_error *err);
void fs_shards_close(fs_db *db);
int fs_shards_commit(fs_db *db, fs_db_item *items, int n_items, const uint64_t *remove,
                     int n_remove, fs_error *err);
int fs_shards_snap_begin(fs_db *db, fs_db_snap *s, fs_error *err);
void fs_shards_snap_end(fs_db_snap *s);
/* The shard snapshot holding id or path (NULL when no open shard does). */
fs_db_snap *fs_shards_snap_of_id(fs_db_snap *s, uint64_t id);
fs_db_snap *fs_shards_snap_of_path(fs_db_snap *s, const char *path);
/* Walks the shards from the one holding from_id; walk_one is the table's
 * plain walk for one shard. */
int fs_shards_foreach(fs_db_snap *s, uint64_t from_id,
                      int (*walk_one)(fs_db_snap *, uint64_t, void *, fs_error *), void *arg,
                      fs_error *err);
int fs_shards_stats(fs_db_snap *s, fs_db_stats *st, fs_error *err);
int fs_shards_set_meta_i64(fs_db *db, const char *key, int64_t value, fs_error *err);

#endif
