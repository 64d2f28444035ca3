/* Private to src/index. */
#ifndef FS_INDEX_INTERNAL_H
#define FS_INDEX_INTERNAL_H

#include <faiss/c_api/Index_c.h>

#include "facesearch/index.h"

struct fs_index {
    FaissIndex *faiss; /* NULL: an empty set of shards (finds nothing) */
    fs_index_info info;
    /* Shards' indexes FAISS could not merge into faiss (HNSW): searched one
     * by one, their results merged. */
    FaissIndex **more;
    int n_more;
};

/* An empty index from a factory string, able to take face ids (build.c).
 * Errors: FS_EINDEX. */
int fs_index_new_faiss(const char *factory, int dim, FaissIndex **out, fs_error *err);

/* Adds the vectors of snap with face ids >= from.  Errors: FS_EINDEX, FS_EDB,
 * FS_ENOMEM. */
int fs_index_add_db(FaissIndex *ix, fs_db_snap *snap, uint64_t from, fs_error *err);

/* Fills info's count (0 without ix) and database fields from ix and st, and
 * the time. */
void fs_index_info_finish(fs_index_info *info, FaissIndex *ix, const fs_db_stats *st);

/* Writes ix to dir/faces.faiss through a temporary file + rename, then the
 * sidecar info (its size and fingerprint filled in here).  Errors: FS_EIO,
 * FS_EINDEX. */
int fs_index_write(FaissIndex *ix, const char *dir, fs_index_info *info, fs_error *err);

/* A uniform random sample of up to cap of db's vectors (reservoir, one
 * pass) into out (cap * dim floats); *n gets the count (build.c). */
int fs_index_sample(fs_db *db, uint64_t cap, uint64_t seed, float *out, uint64_t *n,
                    fs_error *err);

/* fs_index_build for a sharded database (shards.c). */
int fs_index_build_sharded(fs_db *db, const char *dir, const fs_index_build_opts *o,
                           fs_index_info *info, fs_error *err);

/* FAISS's last error as FS_EINDEX with context. */
int fs_index_faiss_fail(fs_error *err, const char *what);

/* Sidecar I/O (sidecar.c).  The fingerprint covers the index file's size and
 * its first and last MiB: cheap for a multi-GB file, and enough to tell two
 * builds apart (their headers and tails differ). */
int fs_index_fingerprint(const char *path, uint64_t *size, char hex[65], fs_error *err);
int fs_index_sidecar_write(const char *path, const fs_index_info *info, fs_error *err);
int fs_index_sidecar_read(const char *path, fs_index_info *info, fs_error *err);

/* The IVF list count written in a factory string (0 when none): training
 * sample size and automatic nprobe follow it, and the IVF may sit inside a
 * wrapper where the C API cannot reach it. */
uint64_t fs_index_factory_nlist(const char *factory);

#ifdef __cplusplus
extern "C" {
#endif
/* Sets how the IVF inside index (under id maps, transforms or a refinement
 * stage) spreads a search over threads: 0 splits a batch's queries, 1 splits
 * each query's lists.  Returns 1, or 0 when index holds no IVF.  Never throws
 * (faiss_shim.cpp, the C++ the C API lacks). */
int fs_index_faiss_parallel_mode(FaissIndex *index, int mode);
/* Moves src's vectors into dst, which must share its trained parts (same
 * transform, coarse quantizer and codes).  Returns 0, or -1 with FAISS's
 * reason in why (e.g. an HNSW, which FAISS cannot merge). */
int fs_index_faiss_merge(FaissIndex *dst, FaissIndex *src, char *why, size_t cap);
#ifdef __cplusplus
}
#endif

/* Reads an index file (FAISS format).  Errors: FS_ENOTFOUND, FS_EINDEX. */
int fs_index_read_faiss(const char *path, FaissIndex **out, fs_error *err);

#endif
