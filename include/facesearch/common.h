/*
 * facesearch/common.h — status codes, error reports and small shared helpers.
 *
 * Every fallible function in facesearch returns an int status: FS_OK (0) on
 * success or one of the FS_E* codes below.  Functions that can fail also take
 * an `fs_error *` (may be NULL) which receives a one-line, human-readable
 * message that names the file or object involved and the reason.  There is no
 * hidden global error state: the caller owns the fs_error it passes in.
 */
#ifndef FACESEARCH_COMMON_H
#define FACESEARCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define FS_VERSION "0.1.0"

/* Status codes.  Grouped so the CLI can map them to exit codes
 * (see fs_exit_code): usage → 1, bad input or data → 2, internal → 3. */
enum fs_status {
    FS_OK = 0,
    FS_EUSAGE,     /* invalid argument, option or configuration value */
    FS_EIO,        /* a file could not be opened, read or written */
    FS_EFORMAT,    /* unknown or unsupported file format */
    FS_ECORRUPT,   /* damaged or truncated data */
    FS_ELIMIT,     /* input exceeds a configured limit (e.g. pixel count) */
    FS_ENOTFOUND,  /* a requested record, file or entry does not exist */
    FS_EMODEL,     /* model weights missing, truncated or mismatched */
    FS_EDB,        /* database error (LMDB) or incompatible database */
    FS_EBUSY,      /* resource held by another process (e.g. a running ingest) */
    FS_EINDEX,     /* vector index error (FAISS) */
    FS_ENOMEM,     /* out of memory */
    FS_EINTR,      /* interrupted by a signal; finished work was kept */
    FS_EINTERNAL,  /* a bug or an unexpected library failure */
    FS_ENOSPC      /* the filesystem is full; what was committed before is kept
                      (after FS_EINTERNAL: codes are stored in photo records) */
};

/* An error report: a status code and a message.  Zero-initialise before use. */
typedef struct fs_error {
    int code;
    char msg[512];
} fs_error;

/* Records code and a printf-style message in *err (if err is not NULL) and
 * returns code, so callers can write `return fs_fail(err, FS_EIO, ...)`.
 * The message should name the object first: "photo.jpg: truncated JPEG". */
int fs_fail(fs_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (e.g. a file name added by an
 * outer layer).  Returns err->code; harmless when err is NULL. */
int fs_error_prefix(fs_error *err, const char *prefix);

/* Clears *err to FS_OK with an empty message. */
void fs_error_clear(fs_error *err);

/* Short stable name of a status code ("corrupt", "io", ...); never NULL. */
const char *fs_status_name(int code);

/* Process exit code for a status: 0 ok, 1 usage, 2 bad input/data (also
 * FS_ENOSPC, FS_EBUSY, FS_EINTR), 3 internal error (FS_ENOMEM, FS_EINTERNAL,
 * FS_EINDEX, FS_EDB). */
int fs_exit_code(int code);

/* Reads a whole file into a malloc'ed buffer (*buf, owned by the caller,
 * free()).  max_bytes > 0 refuses larger files with FS_ELIMIT.
 * Errors: FS_EIO (naming the path and errno text), FS_ELIMIT, FS_ENOMEM. */
int fs_read_file(const char *path, size_t max_bytes, uint8_t **buf,
                 size_t *len, fs_error *err);

/* Replaces path with len bytes of data atomically: a temporary file in the
 * same directory (mode 0600: what we write derives from biometric data),
 * fsync, rename.  A crash leaves the old file or the new one, never a part.
 * Errors: FS_EIO (naming the path and errno text). */
int fs_write_file_atomic(const char *path, const void *data, size_t len, fs_error *err);
/* (also FS_ENOSPC, see fs_disk_full) */

/* Records why opening path (to `what`: "open", "read directory") failed
 * with errno e: FS_ENOMEM when the process is out of file descriptors or
 * memory (EMFILE, ENFILE, ENOMEM: the machine's fault, not the file's, so
 * callers stop rather than record the file as bad), else FS_EIO.  Returns
 * the status. */
int fs_open_fail(fs_error *err, const char *path, const char *what, int e);

/* Classifies a failed write to path (errno-style code e: ENOSPC, EDQUOT,
 * or EIO, which LMDB returns for a short write): when the filesystem holding
 * path is full (ENOSPC/EDQUOT, or EIO with under 64 MiB free), records
 * FS_ENOSPC with a message naming path, `what` was being done, the bytes it
 * needed when known (need > 0, else "more than `done` bytes written") and
 * the bytes free, and returns FS_ENOSPC.  Otherwise returns FS_OK and
 * leaves err alone. */
int fs_disk_full(const char *path, int e, uint64_t need, uint64_t done, const char *what,
                 fs_error *err);

/* Monotonic clock in seconds, for timings. */
double fs_now(void);

#endif
