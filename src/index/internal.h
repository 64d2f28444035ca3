/* Private to src/index. */
#ifndef FS_INDEX_INTERNAL_H
#define FS_INDEX_INTERNAL_H

#include <faiss/c_api/Index_c.h>

#include "facesearch/index.h"

struct fs_index {
    FaissIndex *faiss;
    fs_index_info info;
};

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
#ifdef __cplusplus
}
#endif

/* Reads an index file (FAISS format).  Errors: FS_ENOTFOUND, FS_EINDEX. */
int fs_index_read_faiss(const char *path, FaissIndex **out, fs_error *err);

#endif
