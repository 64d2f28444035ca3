/*
 * facesearch/scan.h — streams the photo paths an ingest should look at.
 *
 * Sources: files and directories given on the command line (directories are
 * walked recursively, depth-first, in directory order), or a manifest — a
 * file, or "-" for stdin — with one path per line.  Memory stays
 * proportional to the directory depth, never to the number of files, so an
 * archive of ten million photos streams through in constant space.
 *
 * Walk rules: hidden entries (name starting with '.') are skipped unless
 * include_hidden; in directories only files with a photo extension (the
 * extensions list, FS_SCAN_EXTENSIONS by default, any case) are taken unless
 * all_files (a name tells
 * nothing reliable about the content, but sidecars such as .xmp or .mov
 * would otherwise become thousands of error records); paths named explicitly
 * or listed in a manifest are always taken.  Symbolic links to files are
 * followed; links to directories only with follow_links, and a directory
 * already on the current walk path (a loop) is never entered twice.
 *
 * Paths come out absolute and lexically normalised (no ".", "..", "//"), so
 * the same photo has the same key whatever the working directory.
 */
#ifndef FACESEARCH_SCAN_H
#define FACESEARCH_SCAN_H

#include "facesearch/common.h"

typedef struct fs_scan fs_scan;

/* The photo extensions a folder walk takes by default (config key
 * scan.extensions): every format fs_image_decode reads. */
#define FS_SCAN_EXTENSIONS "jpg jpeg jpe jfif png webp heic heif hif avif tif tiff"

typedef struct fs_scan_opts {
    int include_hidden;
    int all_files;
    int follow_links;
    /* Photo extensions without dots, separated by spaces or commas; NULL
     * for FS_SCAN_EXTENSIONS.  Copied by fs_scan_open_paths. */
    const char *extensions;
} fs_scan_opts;

/* Starts a walk over n paths (files or directories).  The strings are
 * copied.  Errors: FS_ENOMEM.  A missing root is reported by fs_scan_next. */
int fs_scan_open_paths(char *const *paths, int n, const fs_scan_opts *opts,
                       fs_scan **scan, fs_error *err);

/* Starts reading a manifest: path "-" is stdin.  Blank lines and lines
 * starting with '#' are ignored; a trailing '\r' is dropped.
 * Errors: FS_EIO (cannot open). */
int fs_scan_open_manifest(const char *manifest, fs_scan **scan, fs_error *err);

/*
 * Produces the next path into *path (valid until the next call).  Returns
 * FS_OK with *path set; FS_OK with *path NULL at the end; or an error for
 * one entry (unreadable directory, missing root, over-long line...) with
 * *path naming it — the caller records it and calls again: the walk goes on.
 */
int fs_scan_next(fs_scan *scan, const char **path, fs_error *err);

/* Ends the walk and frees everything.  NULL is a no-op. */
void fs_scan_close(fs_scan *scan);

/* Counts what a walk over these roots would produce, without stat-ing files
 * where the directory entry type suffices; for progress totals.  Stops early
 * and returns -1 when *stop becomes non-zero. */
long long fs_scan_count(char *const *paths, int n, const fs_scan_opts *opts,
                        const volatile int *stop);

/* Lexically normalises path into out (absolute against the current
 * directory).  Returns FS_OK or FS_ELIMIT when it does not fit in cap. */
int fs_path_normalize(const char *path, char *out, size_t cap);

/* True if name (a base name) ends in one of the extensions (as in
 * fs_scan_opts; NULL for FS_SCAN_EXTENSIONS), compared without case. */
int fs_scan_is_photo_name(const char *name, const char *extensions);

#endif
