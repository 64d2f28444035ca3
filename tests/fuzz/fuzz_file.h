/*
 * tests/fuzz/fuzz_file.h — for harnesses of readers that take a path: the
 * input is written to a file in a private directory under /dev/shm (or
 * $TMPDIR) first.  One directory per process, made on the first call.
 */
#ifndef FS_FUZZ_FILE_H
#define FS_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The private directory (created once; aborts if it cannot be). */
const char *fuzz_dir(void);

/* Writes len bytes to fuzz_dir()/name and returns the full path (static
 * storage, valid until the next call); aborts on a write error. */
const char *fuzz_write(const char *name, const uint8_t *data, size_t len);

#endif
