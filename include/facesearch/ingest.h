/*
 * facesearch/ingest.h — a photo archive into the face database, in parallel,
 * incrementally and safely.
 *
 * Shape of a run: a scanner thread walks the sources (facesearch/scan.h),
 * stats each file and skips photos whose record is unchanged (size + mtime,
 * plus the content hash with verify_hash); the rest go through a bounded
 * queue to OpenMP workers (read → hash → decode → detect → landmarks →
 * descriptor, OpenBLAS single-threaded inside); results go through a second
 * bounded queue to one writer thread that commits them in batches (one LMDB
 * transaction per batch).  Bounded queues keep memory flat however large the
 * archive and however slow the disk.
 *
 * Crash safety: a batch is atomic, and a photo is only skipped when its
 * record is in the database, so a killed run leaves a consistent database and
 * the next run finishes the job with no duplicates and no losses.  Setting
 * *stop (e.g. from a SIGINT handler) ends the run cleanly: work in flight is
 * finished and committed, unstarted work is left for the next run.
 */
#ifndef FACESEARCH_INGEST_H
#define FACESEARCH_INGEST_H

#include <signal.h>

#include "facesearch/common.h"
#include "facesearch/face.h"
#include "facesearch/image.h"
#include "facesearch/scan.h"
#include "facesearch/store.h"

struct fs_ingest_stats;

typedef struct fs_ingest_opts {
    /* Sources: either roots (files/directories) or a manifest ("-" = stdin). */
    char *const *roots;
    int n_roots;
    const char *manifest;
    /* Or paths from a callback (e.g. handed out by another process), called
     * from one thread: FS_OK with *path set (valid until the next call), or
     * with *path NULL at the end; another status with *path set is a
     * failure recorded under that path, with *path NULL the end of a source
     * that failed somewhere (no prune then).  roots/manifest still say what
     * --prune covers. */
    int (*next_path)(void *ctx, const char **path, fs_error *err);
    void *next_path_ctx;
    fs_scan_opts scan;

    int threads;             /* workers; <= 0 = all cores */
    int verify_hash;         /* also compare content hashes of unchanged files */
    int retry_errors;        /* re-try unchanged files that failed before */
    int prune;               /* remove records whose files are gone (under the
                                roots; everywhere for a manifest) */
    int batch_photos;        /* commit after this many photos ... */
    double batch_seconds;    /* ... or this many seconds, whichever first */
    uint64_t max_file_bytes; /* refuse larger files */
    fs_decode_opts decode;
    /* A facesearch binary that decodes HEIF/AVIF photos in a child process
     * each (fs_image_decode_isolated), because Debian 12's libheif crashes
     * on some hostile files; NULL decodes them in-process. */
    const char *decode_helper;

    /* Progress: called from the writer thread about every progress_seconds
     * (0 = never) and once at the end (final = 1). */
    void (*progress)(void *ctx, const struct fs_ingest_stats *st, int final);
    void *progress_ctx;
    double progress_seconds;

    volatile sig_atomic_t *stop; /* optional: non-zero asks the run to stop */
} fs_ingest_opts;

typedef struct fs_ingest_stats {
    long long seen;          /* paths produced by the sources */
    long long total;         /* expected paths, -1 while unknown */
    long long unchanged;     /* skipped: record up to date */
    long long processed;     /* photos read and run through the engine */
    long long errors;        /* of those, failed (recorded with a reason) */
    long long faces;         /* faces stored */
    long long pruned;        /* records removed by prune */
    long long batches;       /* transactions committed */
    double elapsed_s;
    double read_s, decode_s, detect_s, landmarks_s, descriptor_s; /* summed over workers */
    double commit_s;         /* writer time inside transactions */
    int threads;
    int interrupted;         /* stopped early by *stop */
    long peak_rss_kb;
} fs_ingest_stats;

/* Fills o with defaults: all cores, batches of 256 photos or 2 s, no
 * prune/verify/retry, walk defaults, 256 MiB file limit, orientation on. */
void fs_ingest_opts_init(fs_ingest_opts *o);

/*
 * Runs an ingest into db with engine.  Per-photo failures are recorded in
 * the database and counted in st->errors; they do not fail the run.
 * Returns FS_OK when every source was processed, FS_EINTR when *stop ended
 * it early (finished work committed), or an error that stopped the run
 * (database failure, out of memory).  *st is filled in every case.
 */
int fs_ingest_run(fs_db *db, const fs_engine *engine, const fs_ingest_opts *o,
                  fs_ingest_stats *st, fs_error *err);

#endif
