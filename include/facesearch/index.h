/*
 * facesearch/index.h — the FAISS index over every stored face.
 *
 * Files (in the database directory, see docs/formats.md):
 *   faces.faiss        a plain FAISS index (faiss.read_index loads it), inner
 *                      product over the unit descriptors (= cosine
 *                      similarity), FAISS ids = face ids;
 *   faces.faiss.json   its sidecar: factory, model, vector count, the database
 *                      state it was built from (next face id, removed-faces
 *                      counter, generation), build time, and a fingerprint of
 *                      faces.faiss so a mismatched pair is detected.
 * Both are written to temporary files and renamed into place, index first, so
 * a killed build leaves either the old pair, or a new index whose sidecar no
 * longer matches — reported, and mended by the next build.
 *
 * Distances returned by searches are cosine distances, 1 - cosine
 * similarity (0 identical, 1 unrelated, up to 2), so that lower is nearer;
 * what commands print is the similarity itself.  An fs_index is used by one thread at a time:
 * FAISS spreads each search over the OpenMP threads itself (over a batch's
 * queries, or over a single query's lists), and parameter changes are not
 * thread-safe.
 */
#ifndef FACESEARCH_INDEX_H
#define FACESEARCH_INDEX_H

#include "facesearch/common.h"
#include "facesearch/store.h"

#define FS_INDEX_FILE "faces.faiss"
#define FS_INDEX_SIDECAR "faces.faiss.json"

typedef struct fs_index fs_index;

/* The sidecar. */
typedef struct fs_index_info {
    char factory[128];         /* FAISS index_factory string */
    char model_id[128];        /* model of the vectors */
    char faiss_build[16];      /* "avx2" or "debian" */
    int dim;
    uint64_t count;            /* vectors in the index */
    uint64_t db_next_face;     /* every face id < this was considered */
    uint64_t db_faces_removed; /* the database's removed-faces counter then */
    uint64_t db_generation;    /* the database's commit counter then */
    uint64_t train_size;       /* vectors used for training (0: none needed) */
    int64_t built_ns;          /* wall clock, ns since the epoch */
    double build_s, train_s, add_s;
    int incremental;           /* last build only added new faces */
    uint64_t file_bytes;       /* size of faces.faiss */
    char fingerprint[65];      /* sha256 over size + first/last MiB of faces.faiss */
} fs_index_info;

typedef struct fs_index_build_opts {
    const char *factory;   /* NULL or "auto": chosen from the collection size
                              (fs_index_auto_factory) */
    uint64_t train_max;    /* training sample cap (0 = 64 per list, >= 10k,
                              <= 1M: FAISS needs ~39+ points per centroid) */
    int incremental;       /* add only faces newer than the index when nothing
                              was removed and the factory/model match */
    int threads;           /* FAISS OpenMP threads; 0 = all cores */
    uint64_t seed;         /* training sample selection */
} fs_index_build_opts;

/* The factory facesearch picks for n vectors of dimension dim (docs/index.md
 * justifies the thresholds).  Writes it into buf and returns buf. */
const char *fs_index_auto_factory(uint64_t n, int dim, char *buf, size_t cap);

/*
 * Builds (or with opts->incremental, extends) dir/faces.faiss from the
 * vectors of db: one sequential pass to draw a uniform training sample when
 * the index needs training, one to add the vectors with their face ids.
 * *info receives the new sidecar.  Errors: FS_EINDEX (FAISS failure, bad
 * factory string), FS_EDB, FS_EIO, FS_ENOMEM, FS_EUSAGE (empty database).
 */
int fs_index_build(fs_db *db, const char *dir, const fs_index_build_opts *opts,
                   fs_index_info *info, fs_error *err);

/* Loads dir/faces.faiss and its sidecar, checking that they belong together.
 * Errors: FS_ENOTFOUND (no index: run facesearch build), FS_EINDEX (mismatch,
 * unreadable), FS_EIO. */
int fs_index_open(const char *dir, fs_index **ix, fs_error *err);

/* An in-memory index over n vectors (dim floats each) with the given ids,
 * not written anywhere: for evaluations over a subset (a gallery).  factory
 * NULL = exact ("IDMap,Flat").  Errors: FS_EINDEX, FS_ENOMEM. */
int fs_index_from_vectors(const char *factory, int dim, const float *vecs,
                          const int64_t *ids, size_t n, fs_index **ix, fs_error *err);

/* Frees the index.  NULL is a no-op. */
void fs_index_close(fs_index *ix);

/* The sidecar of an open index (owned by ix). */
const fs_index_info *fs_index_get_info(const fs_index *ix);

/* Search-time knobs: IVF lists probed (-s: a 1/s share of the lists, at
 * least 16; 0 = -16), HNSW efSearch and refinement factor (0 = leave as
 * is).  Parameters an index does not have are ignored.  Errors: FS_EINDEX. */
int fs_index_set_search(fs_index *ix, int nprobe, int ef_search, double k_factor,
                        fs_error *err);

/*
 * k nearest neighbours of nq queries (nq * dim floats, unit length).  dist
 * (nq * k) gets cosine distances (1 - cos; INFINITY where fewer than k
 * exist), ids (nq * k) face ids, -1 where fewer than k exist.
 * Errors: FS_EINDEX.
 */
int fs_index_search(fs_index *ix, const float *queries, int nq, int k,
                    float *dist, int64_t *ids, fs_error *err);

/* How the index relates to the database now: 0 up to date, 1 the database
 * has faces the index lacks, 2 faces were removed or replaced since the build
 * (the index may return stale ids), 3 another model. */
int fs_index_staleness(const fs_index_info *info, const fs_db_stats *st);

#endif
