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
    /* Sharded databases: sha256 of the trained empty index every shard's
     * index and the merged one were filled from ("" otherwise), and the time
     * the merge took. */
    char trained[65];
    double merge_s;
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
    int no_merge;          /* sharded databases: keep the shards' indexes only,
                              no dir/faces.faiss (for facesearch-mpi query and
                              dedup when a merged index would not fit one
                              process's memory) */
} fs_index_build_opts;

/* The factory facesearch picks for n vectors of dimension dim (docs/index.md
 * justifies the thresholds).  Writes it into buf and returns buf. */
const char *fs_index_auto_factory(uint64_t n, int dim, char *buf, size_t cap);

/* Whether a database with statistics st can be indexed now.  Errors:
 * FS_EDB (a reembed is under way), FS_EUSAGE (no faces yet), naming dir. */
int fs_index_buildable(const fs_db_stats *st, const char *dir, fs_error *err);

/*
 * Builds (or with opts->incremental, extends) dir/faces.faiss from the
 * vectors of db: one sequential pass to draw a uniform training sample when
 * the index needs training, one to add the vectors with their face ids.
 * *info receives the new sidecar.  Errors: FS_EINDEX (FAISS failure, bad
 * factory string), FS_EDB, FS_EIO, FS_ENOMEM, FS_EUSAGE (empty database).
 */
int fs_index_build(fs_db *db, const char *dir, const fs_index_build_opts *opts,
                   fs_index_info *info, fs_error *err);

/*
 * Sharded databases (store.h).  Building one trains a single empty index (the
 * same PCA, coarse quantizer and codebooks for all), fills a copy of it with
 * each shard's vectors into shard-NNNN/faces.faiss, and merges those into
 * dir/faces.faiss.  A search over the shards' indexes (fs_index_open_shards)
 * then probes the same lists as one over the merged index, and each shard can
 * still be searched on its own.  fs_index_build runs every step in one
 * process; facesearch-mpi runs them across ranks with these functions.
 */

/* The factory (written into factory) and training sample cap (0: the index
 * needs no training) a build of n vectors of dimension dim uses.
 * Errors: FS_EINDEX (bad factory string). */
int fs_index_plan(const fs_index_build_opts *opts, uint64_t n, int dim, char *factory,
                  size_t cap, uint64_t *train_cap, fs_error *err);

/* Each open shard's face count into faces[s] (fs_db_open_shards may open
 * a subset; the others' entries are left alone) and their dimension into
 * *dim.  Errors: FS_EDB. */
int fs_index_shard_sizes(fs_db *db, uint64_t *faces, int *dim, fs_error *err);

/* The open shards' part of a training sample of cap dim-D vectors, faces[s]
 * being every shard's count: shard by shard, cap * faces[s] / (all faces)
 * of them each, a uniform draw (seed + s) from its vectors.  *out
 * (malloc'ed, caller frees) receives them, got[s] each open shard's count,
 * *n the sum.  Errors: FS_EDB, FS_ENOMEM. */
int fs_index_sample_shards(fs_db *db, const uint64_t *faces, int dim, uint64_t cap,
                           uint64_t seed, float **out, uint64_t *got, uint64_t *n,
                           fs_error *err);

/* A new empty index of factory, trained on the n vectors of sample (none
 * needed when the index needs no training).  Errors: FS_EINDEX, FS_ENOMEM. */
int fs_index_train(const char *factory, int dim, const float *sample, uint64_t n,
                   fs_index **out, fs_error *err);

/* An index as bytes (FAISS's file format) in *buf (malloc'ed, caller frees),
 * and back: how a trained index travels between processes.  The factory
 * string and training sample size are not in the bytes: from_bytes takes
 * them for the sidecars of what is filled from it.
 * Errors: FS_EINDEX, FS_ENOMEM. */
int fs_index_to_bytes(const fs_index *ix, uint8_t **buf, size_t *len, fs_error *err);
int fs_index_from_bytes(const uint8_t *buf, size_t len, const char *factory,
                        uint64_t train_size, fs_index **out, fs_error *err);

/* Fills a copy of trained with each open shard's vectors and writes it
 * with its sidecar to dir/shard-NNNN/faces.faiss (atomically, as
 * fs_index_build).  Errors: FS_EINDEX, FS_EDB, FS_EIO, FS_ENOMEM. */
int fs_index_fill_shards(fs_db *db, const char *dir, const fs_index *trained, fs_error *err);

/* Merges the shards' indexes of the sharded db in dir (each made by
 * fs_index_fill_shards with trained) into dir/faces.faiss.  An index type
 * FAISS cannot merge (HNSW) is filled from the vectors instead.  With merge
 * 0, only checks them and writes the sidecar (no faces.faiss; an older one
 * is removed).  *info: in, train_s, add_s and build_s so far; out, the
 * sidecar.  Errors: FS_EINDEX (a shard's index missing or from another
 * build), FS_EDB, FS_EIO, FS_ENOMEM. */
int fs_index_merge_shards(fs_db *db, const char *dir, const fs_index *trained, int merge,
                          fs_index_info *info, fs_error *err);

/* Opens the indexes of the shards s with s % stride == offset of the sharded
 * database in dir, as one fs_index (merged in memory where FAISS can), whose
 * info is the merged index's sidecar; with no such shard, an empty index
 * whose searches find nothing.  Errors: FS_ENOTFOUND (not built), FS_EINDEX
 * (a shard's index is missing or from another build), FS_EIO, FS_ENOMEM. */
int fs_index_open_shards(const char *dir, int stride, int offset, fs_index **ix,
                         fs_error *err);

/* Merges the k results (sorted, as fs_index_search gives) in dist2/ids2 into
 * those in dist/ids, keeping the k nearest. */
void fs_index_merge_topk(int k, float *dist, int64_t *ids, const float *dist2,
                         const int64_t *ids2);

/* Loads dir/faces.faiss and its sidecar, checking that they belong together.
 * Errors: FS_ENOTFOUND (no usable index: none built, or a build interrupted
 * between the index and its sidecar, or they do not match: run facesearch
 * build), FS_EINDEX (unreadable, wrong dimension), FS_EIO. */
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
