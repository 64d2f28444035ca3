/*
 * facesearch/store.h — the face database: one LMDB environment.
 *
 * A database lives in a directory (default `index/`) as `faces.mdb` and
 * `faces.mdb-lock`, both created 0600 (they hold biometric data).  Named
 * LMDB databases inside it (byte layouts in docs/formats.md):
 *
 *   meta     schema version, model id + weight checksums, embedding dim,
 *            id counters, per-status counters, ingest times
 *   images   image id   -> photo record (path, size, mtime, dims, status,
 *                          error, face count, first face id, content hash)
 *   paths    path key   -> image id (incremental look-ups)
 *   faces    face id    -> face record (image id, box, score, landmarks, quality)
 *   vectors  face id    -> float16[dim] unit descriptor (float32 in databases
 *                          made before float16), apart from the face records
 *                          so an index build reads them sequentially
 *
 * Ids are dense, increasing and never reused, so face ids double as FAISS
 * ids and "faces newer than the index" is simply "id >= N".  All faces of one
 * photo have consecutive ids.
 *
 * Writes go through fs_db_commit, one batch of processed photos per LMDB
 * transaction: a batch is either wholly in the database or not at all, which
 * is what makes a killed ingest safe to re-run.  The map grows by itself.
 * Readers (fs_db_snap) see a consistent snapshot and never block the writer,
 * so queries and stats work while an ingest runs.
 *
 * Thread safety: one fs_db may be shared by threads; each snapshot belongs to
 * the thread using it; fs_db_commit must be called by one thread at a time.
 */
#ifndef FACESEARCH_STORE_H
#define FACESEARCH_STORE_H

#include "facesearch/common.h"

#include <stdint.h>

#define FS_DB_SCHEMA 1
#define FS_DB_FILE "faces.mdb"
#ifndef FS_LANDMARKS
#define FS_LANDMARKS 68
#endif

typedef struct fs_db fs_db;
typedef struct fs_db_snap fs_db_snap;

/* What produced the vectors.  A database only ever holds one model's output:
 * opening it with another model (or another dim) is refused. */
typedef struct fs_db_model {
    const char *id;       /* e.g. "face-api-1.7.15/ssd+lm68+rec128/align=dlib" */
    const char *checksum; /* weight checksums, e.g. "sha256:..." (free text) */
    int dim;              /* descriptor length */
} fs_db_model;

/* Photo status. */
enum { FS_IMG_OK = 0, FS_IMG_ERROR = 1 };

/* A photo record.  In records returned by the database, `path` and `error`
 * point into the snapshot (valid until fs_db_snap_end) and are
 * NUL-terminated copies only when read through fs_db_get_image. */
typedef struct fs_image_rec {
    uint64_t id;          /* assigned by fs_db_commit for new photos */
    const char *path;
    uint64_t size;        /* file size in bytes */
    int64_t mtime_ns;     /* file modification time, ns since the epoch */
    int64_t processed_ns; /* when this record was written, ns since the epoch */
    int32_t width, height;/* upright photo size (0 when it could not be decoded) */
    uint8_t status;       /* FS_IMG_OK or FS_IMG_ERROR */
    uint8_t error_code;   /* fs_status of the failure (FS_ECORRUPT, ...) */
    uint8_t has_hash;     /* sha256 below is valid */
    uint32_t n_faces;
    uint64_t first_face;  /* id of the first face (faces are consecutive) */
    uint8_t sha256[32];   /* content hash of the file */
    const char *error;    /* message when status is FS_IMG_ERROR, else "" */
} fs_image_rec;

/* A face record.  Coordinates are in upright-photo pixels. */
typedef struct fs_face_rec {
    uint64_t id;
    uint64_t image_id;
    float box[4];          /* x, y, width, height */
    float score;           /* detector confidence */
    uint32_t flags;        /* the engine's FS_FACE_* flags (facesearch/face.h) */
    float face_size;       /* quality: inter-ocular-based face size, px */
    float sharpness;       /* quality: variance of the Laplacian on the face chip */
    float landmarks[FS_LANDMARKS][2];
} fs_face_rec;

/* One processed photo for fs_db_commit: its record, faces and descriptors
 * (img.n_faces of each; vectors is n_faces * dim floats).  On return img.id
 * and img.first_face hold the assigned ids. */
typedef struct fs_db_item {
    fs_image_rec img;
    const fs_face_rec *faces;
    const float *vectors;
} fs_db_item;

/* Open flags. */
enum {
    FS_DB_CREATE = 1,   /* create the directory and database if missing */
    FS_DB_READONLY = 2  /* no writes through this handle */
};

typedef struct fs_db_options {
    int flags;                 /* FS_DB_* */
    /* The model the caller writes with; when the database exists, its
     * recorded model id and dim must match (else FS_EDB naming both).  NULL
     * for readers that accept whatever model the database holds. */
    const fs_db_model *model;
    /* Initial map size (address space, not disk); 0 = 1 GiB.  The map
     * doubles whenever a batch does not fit. */
    uint64_t initial_map_bytes;
    /* A new database numbers its faces from id_base and its photos from
     * id_base + 1 (a shard's number << FS_SHARD_SHIFT); ignored when the
     * database exists. */
    uint64_t id_base;
} fs_db_options;

/*
 * Sharded databases.  A directory holding FS_SHARD_MANIFEST (made by
 * fs_db_create_sharded) is S ordinary databases in dir/shard-NNNN/.  A photo
 * lives in shard fs_shard_of_path(path, S), whatever the number of processes
 * writing; its face and photo ids carry the shard number in the bits above
 * FS_SHARD_SHIFT, so ids are unique across shards and sort shard by shard.
 * fs_db_open on such a directory opens every shard behind one fs_db: commits
 * go to the shards of their paths (each shard's part of a batch is atomic on
 * its own), look-ups by id or path go to one shard, iteration walks the
 * shards in id order and statistics are summed.  Each shard can also be
 * opened on its own.  Re-embedding is per shard.
 */
#define FS_SHARD_MANIFEST "shards.manifest"
#define FS_SHARD_SHIFT 40
#define FS_SHARDS_MAX 4096

/* The shard of a photo: the first 8 bytes of sha256(path), big-endian,
 * modulo n_shards.  Stable across runs, machines and process counts. */
uint32_t fs_shard_of_path(const char *path, uint32_t n_shards);

/* The shard a face or photo id belongs to. */
static inline uint32_t fs_shard_of_id(uint64_t id)
{
    return (uint32_t)(id >> FS_SHARD_SHIFT);
}

/*
 * Creates a sharded database in dir: n_shards (1..FS_SHARDS_MAX) shard
 * databases for model, then the manifest (written last, atomically, so a
 * killed run leaves no manifest and can simply be re-run).  Re-running on a
 * sharded database with the same count and model is a no-op.
 * Errors: FS_EUSAGE (bad count; dir holds a plain database or another shard
 * count), FS_EDB (a shard of another model), FS_EIO.
 */
int fs_db_create_sharded(const char *dir, int n_shards, const fs_db_model *model,
                         fs_error *err);

/*
 * fs_db_open for one process of several sharing a sharded database (e.g. MPI
 * ranks): opens only the shards s with s % stride == offset (each writer
 * lock is per shard, so such processes do not block each other).  Commits,
 * look-ups, iteration and statistics see only those shards; a commit of a
 * photo of another shard fails with FS_EUSAGE.  On a plain database it is
 * fs_db_open (for offset 0; FS_ENOTFOUND for others: nothing to open).
 */
int fs_db_open_shards(const char *dir, const fs_db_options *opts, int stride, int offset,
                      fs_db **db, fs_error *err);

/* Writes dir's shard i folder (dir/shard-NNNN) into out. */
void fs_db_shard_dir(const char *dir, int i, char *out, size_t cap);

/* The shard count in dir's manifest, or 0 when dir holds no manifest (a
 * plain database, or none).  Errors: FS_EDB (unreadable manifest), FS_EIO. */
int fs_db_shards_in(const char *dir, int *n_shards, fs_error *err);

/* The number of shards behind db, 0 for a plain database. */
int fs_db_shard_count(const fs_db *db);

/* Shard i of a sharded db (borrowed: valid until fs_db_close(db)), or NULL
 * (also for a shard fs_db_open_shards left closed). */
fs_db *fs_db_shard(fs_db *db, int i);

/*
 * Opens (or with FS_DB_CREATE creates) the database in directory dir.
 * A writable open also takes dir/ingest.lock: a second writer process is
 * refused with FS_EBUSY while the first runs.  Readers never wait.
 * Errors: FS_ENOTFOUND (no database and no FS_DB_CREATE), FS_EBUSY,
 * FS_EDB (other schema or model, LMDB failure), FS_EIO.
 */
int fs_db_open(const char *dir, const fs_db_options *opts, fs_db **db,
               fs_error *err);

/* Closes the database.  Snapshots must have ended.  NULL is a no-op. */
void fs_db_close(fs_db *db);

/*
 * Writes a batch atomically: for each item, a photo already recorded under
 * the same path has its old faces and vectors deleted and its record
 * replaced (keeping its image id); new photos get new ids.  New faces get
 * fresh ids.  remove lists image ids to delete with their faces (--prune).
 * On MDB_MAP_FULL the map is grown and the batch retried.
 * Errors: FS_EDB, FS_ENOMEM.  On error nothing of the batch is written.
 */
int fs_db_commit(fs_db *db, fs_db_item *items, int n_items,
                 const uint64_t *remove, int n_remove, fs_error *err);

/*
 * Re-embedding: moving every stored face to another model's vectors while
 * keeping face ids, photos, boxes and landmarks.  begin records the target
 * model and gives the photo id to start from (*next_image, may be NULL):
 * where the last run left off when it had the same target, else the first
 * photo; each put writes the new vectors of a batch of faces and the photo id
 * to resume from, in one transaction, so a killed run resumes where the last
 * batch ended; finish makes the target the database's model.  Writers that
 * pass a model to fs_db_open are refused meanwhile, and
 * fs_db_stats.reembed_model tells readers.
 * Errors: FS_EDB (LMDB failure; put and finish without a begin),
 * FS_EUSAGE (bad model), FS_ENOMEM.
 */
int fs_db_reembed_begin(fs_db *db, const fs_db_model *target, uint64_t *next_image,
                        fs_error *err);
/* n faces' ids and their new vectors (n * target dim floats); next_image:
 * every photo below it is done. */
int fs_db_reembed_put(fs_db *db, const uint64_t *face_ids, const float *vecs, size_t n,
                      uint64_t next_image, fs_error *err);
int fs_db_reembed_finish(fs_db *db, fs_error *err);

/* Stores an int64 in meta under key (e.g. "ingest.last_end").  Errors: FS_EDB. */
int fs_db_set_meta_i64(fs_db *db, const char *key, int64_t value, fs_error *err);

/* Starts a read snapshot.  Errors: FS_EDB. */
int fs_db_snap_begin(fs_db *db, fs_db_snap **snap, fs_error *err);

/* Ends a snapshot; pointers obtained through it become invalid. */
void fs_db_snap_end(fs_db_snap *snap);

/* Finds the photo recorded for path.  FS_ENOTFOUND when there is none. */
int fs_db_find_path(fs_db_snap *snap, const char *path, fs_image_rec *out,
                    fs_error *err);

/* Reads photo record id.  FS_ENOTFOUND when absent. */
int fs_db_get_image(fs_db_snap *snap, uint64_t id, fs_image_rec *out,
                    fs_error *err);

/* Reads face record id.  FS_ENOTFOUND when absent. */
int fs_db_get_face(fs_db_snap *snap, uint64_t id, fs_face_rec *out,
                   fs_error *err);

/* Copies face id's descriptor into vec (dim floats, caller-owned), decoded
 * from the stored float16 (float32 in databases made before float16).
 * FS_ENOTFOUND when absent, FS_EDB when the stored size is wrong. */
int fs_db_get_vector(fs_db_snap *snap, uint64_t id, float *vec, fs_error *err);

/* Calls cb for every photo with id >= from_id, in id order; cb returns 0 to
 * go on, non-zero to stop (that value is returned).  Errors: FS_EDB. */
int fs_db_foreach_image(fs_db_snap *snap, uint64_t from_id,
                        int (*cb)(void *ctx, const fs_image_rec *img),
                        void *ctx, fs_error *err);

/* Calls cb for every face with id >= from_id, in id order. */
int fs_db_foreach_face(fs_db_snap *snap, uint64_t from_id,
                       int (*cb)(void *ctx, const fs_face_rec *face),
                       void *ctx, fs_error *err);

/* Calls cb for every descriptor with face id >= from_id, in id order; vec
 * is an aligned copy valid during the call. */
int fs_db_foreach_vector(fs_db_snap *snap, uint64_t from_id,
                         int (*cb)(void *ctx, uint64_t id, const float *vec),
                         void *ctx, fs_error *err);

/* Database-wide facts. */
typedef struct fs_db_stats {
    uint32_t schema;
    char model_id[128];
    char model_checksum[1024];
    int dim;
    uint64_t images;          /* photo records, whatever their status */
    uint64_t images_ok;
    uint64_t images_no_face;  /* read fine, no face found (a subset of images_ok) */
    uint64_t errors;          /* photo records with status FS_IMG_ERROR */
    uint64_t errors_by_code[16]; /* indexed by fs_status */
    uint64_t faces;
    uint64_t next_face_id;    /* every face id so far is < this */
    uint64_t faces_removed;   /* faces deleted since creation (replaced or pruned) */
    uint64_t db_bytes;        /* size of faces.mdb on disk */
    uint64_t map_bytes;       /* current map size */
    int64_t created_ns, last_ingest_start_ns, last_ingest_end_ns;
    uint64_t generation;      /* bumped by every commit */
    uint64_t next_image_id;   /* every photo id so far is < this */
    /* A reembed under way (fs_db_reembed_begin): the model it moves to
     * ("" when none), its dim, and the first photo id not yet done.  While
     * one is, the vectors are of two models: readers must not use them. */
    char reembed_model[256];
    uint64_t reembed_dim;
    uint64_t reembed_next_image;
    /* Sharded databases: the shard count (0 for a plain database).  Counts
     * and sizes are summed over the shards, and next_face_id /
     * next_image_id are the sums of the ids each shard has used: they grow
     * with every new face or photo but are not ids themselves. */
    uint32_t shards;
} fs_db_stats;

/* Fills *st from the snapshot.  Errors: FS_EDB. */
int fs_db_stats_get(fs_db_snap *snap, fs_db_stats *st, fs_error *err);

/* The LMDB key under which `path` is indexed (paths longer than LMDB's key
 * limit are shortened with a hash); exposed for docs/tests.  Returns the key
 * length written to key (at most FS_DB_MAX_KEY bytes). */
#define FS_DB_MAX_KEY 511
size_t fs_db_path_key(const char *path, uint8_t key[FS_DB_MAX_KEY]);

#endif
