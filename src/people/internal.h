/* Private to src/people: the handle and the record codecs. */
#ifndef FS_PEOPLE_INTERNAL_H
#define FS_PEOPLE_INTERNAL_H

#include <lmdb.h>

#include "facesearch/people.h"

#define FS_PEOPLE_SCHEMA 1

struct fs_people {
    MDB_env *env;
    MDB_dbi meta, names, persons, examples, labels;
    char path[4200]; /* .../people.mdb */
    int readonly;
    int fail_code; /* the fs_status behind FS_TXN_FAILED */
};

/* What a transaction body returns after putting an fs_status in p->fail_code
 * and its message in err (LMDB's own codes are errno values or <= -30600). */
#define FS_TXN_FAILED (-1)

/* Runs fn in one write transaction (grown and replayed on MDB_MAP_FULL);
 * fn returns 0, an LMDB code, or FS_TXN_FAILED. */
int fs_people_write(fs_people *p, int (*fn)(fs_people *, MDB_txn *, void *, fs_error *),
                    void *ctx, const char *what, fs_error *err);

/* Shared by the people sources (store.c): an LMDB failure as FS_EDB (or
 * FS_ENOMEM) naming the file; the wall clock in ns; u64 meta values (0 when
 * absent); a counter's next value (from 1); +1 on the people generation; a
 * read transaction. */
int fs_people_lmdb_fail(const fs_people *p, fs_error *err, int rc, const char *what);
int64_t fs_people_now_ns(void);
int fs_people_meta_get(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t *v);
int fs_people_meta_put(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t v);
int fs_people_next_id(MDB_txn *t, MDB_dbi meta, const char *key, uint64_t *id);
int fs_people_bump_gen(fs_people *p, MDB_txn *t);
int fs_people_read_begin(fs_people *p, MDB_txn **t, fs_error *err);

/* Example record codec (docs/formats.md).  Decoding copies path and vec
 * into ex (owned); returns 0, or -1 for a malformed record or no memory. */
size_t fs_example_size(const fs_example *ex);
void fs_example_encode(const fs_example *ex, uint8_t *out);
int fs_example_decode(const uint8_t *buf, size_t len, fs_example *ex);

/* Big-endian u64 keys sort numerically under LMDB's byte order. */
static inline void fs_be64_put(uint64_t v, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

static inline uint64_t fs_be64_get(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

#endif
