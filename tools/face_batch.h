/*
 * tools/face_batch.h — the face engine over many photos in parallel: one
 * OpenMP thread per core, a worker each, OpenBLAS single-threaded inside
 * (its OpenMP build does that within a parallel region), and a progress line
 * on stderr when it is a terminal.  For the commands that evaluate or index
 * whole folders (eval; later ingest).
 */
#ifndef FS_TOOLS_FACE_BATCH_H
#define FS_TOOLS_FACE_BATCH_H

#include <stddef.h>

#include "facesearch/face.h"

/* Called once per photo, from the thread that processed it (photos run in
 * any order; calls for different i may run at the same time).  On success
 * img is the decoded photo and faces[0..n-1] its faces (valid during the
 * call); when the photo could not be read or processed, img is NULL and err
 * says why (the message names the file). */
typedef void (*face_batch_fn)(void *ctx, size_t i, const fs_image *img, const fs_face *faces,
                              int n, const fs_error *err);

typedef struct face_batch {
    const fs_engine *engine;
    fs_decode_opts decode;
    int stages;            /* FS_STAGE_* to run */
    int threads;           /* 0 = all cores */
    const char *label;     /* progress line prefix, e.g. "eval lfw" */
    const char *root;      /* NULL, or the directory paths[] are relative to */
    const char *const *paths;
    size_t n;              /* photos */
    face_batch_fn done;
    void *ctx;
} face_batch;

/* Runs the batch.  Returns 0, or an exit code after printing the error when
 * a worker could not be created (photos that fail are the callback's to
 * report).  *seconds and *threads (each may be NULL) get the wall time and
 * the number of threads used.  Leaves OpenBLAS single-threaded. */
int face_batch_run(const face_batch *b, double *seconds, int *threads);

#endif
