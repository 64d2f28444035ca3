/* Small shared helpers: whole-file reads and atomic writes, a monotonic clock. */
#include "facesearch/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int fs_open_fail(fs_error *err, const char *path, const char *what, int e)
{
    if (e == EMFILE || e == ENFILE) {
        struct rlimit rl;
        long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : -1;
        return fs_fail(err, FS_ENOMEM,
                       "%s: cannot %s: out of file descriptors (%s; ulimit -n is %ld)", path,
                       what, strerror(e), lim);
    }
    if (e == ENOMEM)
        return fs_fail(err, FS_ENOMEM, "%s: cannot %s: out of memory", path, what);
    return fs_fail(err, FS_EIO, "%s: cannot %s: %s", path, what, strerror(e));
}

int fs_read_file(const char *path, size_t max_bytes, uint8_t **buf,
                 size_t *len, fs_error *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fs_open_fail(err, path, "open", errno);
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
        if (fs_disk_full(path, e, len, 0, "writing", err) == FS_ENOSPC)
            return FS_ENOSPC;
        return fs_fail(err, FS_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return FS_OK;
}

/* Why the slack: LMDB reports a short write as EIO, so a nearly full
 * filesystem is the telling sign; a batch or an index file is far smaller. */
#define DISK_FULL_SLACK (64ull << 20)

static void human(uint64_t b, char *out, size_t cap)
{
    if (b >= 10ull << 20)
        snprintf(out, cap, "%.0f MiB", (double)b / (1 << 20));
    else if (b >= 10ull << 10)
        snprintf(out, cap, "%.0f KiB", (double)b / (1 << 10));
    else
        snprintf(out, cap, "%llu bytes", (unsigned long long)b);
}

int fs_disk_full(const char *path, int e, uint64_t need, uint64_t done, const char *what,
                 fs_error *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    struct statvfs vfs;
    /* The file may not exist (a temporary removed): ask its directory. */
    while (statvfs(dir, &vfs) != 0) {
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            return FS_OK;
        *slash = '\0';
    }
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (!(e == ENOSPC || e == EDQUOT || (e == EIO && avail < DISK_FULL_SLACK)))
        return FS_OK;
    char free_s[32], n[32], need_s[96] = "";
    human(avail, free_s, sizeof free_s);
    if (need || done) {
        human(need ? need : done, n, sizeof n);
        snprintf(need_s, sizeof need_s, need ? ": it needed about %s" : ": it stopped after %s",
                 n);
    }
    return fs_fail(err, FS_ENOSPC,
                   "%s: disk full %s%s, and %s %s free; what was committed before is kept: "
                   "free some space and run the command again",
                   path, what, need_s, free_s, e == EDQUOT ? "are left in the quota" : "are");
}

double fs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
