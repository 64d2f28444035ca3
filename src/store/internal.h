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
};

struct fs_db_snap {
    fs_db *db;
    MDB_txn *txn;
    /* Scratch for NUL-terminated strings handed out by get_image. */
    char *strbuf;
    size_t strcap;
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
 * what it reads in t).  `what` names the step in errors.  Errors: FS_EDB,
 * FS_EINTERNAL (read-only handle). */
int fs_db_write(fs_db *db, int (*fn)(fs_db *, MDB_txn *, void *), void *ctx, const char *what,
                fs_error *err);

/* Meta helpers inside a transaction. */
int fs_meta_get_u64(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t *v);
int fs_meta_put_u64(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t v);
/* A string value ("" when absent; cut to cap - 1 bytes). */
int fs_meta_get_str(MDB_txn *t, MDB_dbi meta, const char *key, char *out, size_t cap);
int fs_meta_put_str(MDB_txn *t, MDB_dbi meta, const char *key, const char *s);

#endif
