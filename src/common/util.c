/* Small shared helpers: whole-file reads and atomic writes, a monotonic clock. */
#include "facesearch/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fs_read_file(const char *path, size_t max_bytes, uint8_t **buf,
                 size_t *len, fs_error *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fs_fail(err, FS_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fs_fail(err, FS_EIO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    if (max_bytes && n > max_bytes) {
        fclose(f);
        return fs_fail(err, FS_ELIMIT, "%s: file is %zu bytes, limit is %zu",
                       path, n, max_bytes);
    }
    uint8_t *p = malloc(n ? n : 1);
    if (!p) {
        fclose(f);
        return fs_fail(err, FS_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(p, 1, n, f);
    int rd_err = ferror(f);
    fclose(f);
    if (got != n || rd_err) {
        free(p);
        return fs_fail(err, FS_EIO, "%s: read failed (%zu of %zu bytes)", path, got, n);
    }
    *buf = p;
    *len = n;
    return FS_OK;
}

int fs_write_file_atomic(const char *path, const void *data, size_t len, fs_error *err)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fs_fail(err, FS_EIO, "%s: %s", tmp, strerror(errno));
    fchmod(fileno(f), 0600);
    int bad = fwrite(data, 1, len, f) != len;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fs_fail(err, FS_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return FS_OK;
}

double fs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
