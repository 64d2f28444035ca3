/*
 * Decoding in a helper process, for decoders that crash on hostile files.
 *
 * Debian 12's libheif 1.15 dies of a segmentation fault on some damaged
 * HEIF files (make fuzz found them in seconds; tests/data/hostile/), which
 * would end an ingest of a million photos at the first such file.  Its bugs
 * are not ours to fix, so such photos are decoded by a child process (the
 * facesearch binary itself, `facesearch __decode`), spawned per photo: a
 * crash or a hang then costs that photo, recorded with the reason, not the
 * run.  Costs: a process spawn (~2 ms) and a pipe copy of the pixels per
 * HEIF photo, against 50-100 ms of HEVC/AV1 decoding.
 *
 * Pipe format (child to parent), native byte order: the 8 bytes "FSPIX001",
 * then int32 status, width, height, format, orientation, components,
 * bit depth, progressive, message length, the message, then
 * width * height * 3 bytes of RGB.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

#define MAGIC "FSPIX001"
/* A HEIF decode takes well under a second; a minute is a hang. */
#define HELPER_SECONDS 60

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int fs_image_decode_to_fd(const char *path, const fs_decode_opts *opts, int fd)
{
    fs_image img = {0};
    fs_image_info info;
    fs_error e = {0};
    int st = fs_image_decode_file(path, opts, &img, &info, &e);
    int32_t hdr[9] = {st, img.width, img.height, (int32_t)info.format, info.orientation,
                      info.components, info.bit_depth, info.progressive,
                      (int32_t)strlen(e.msg)};
    int rc = write_all(fd, MAGIC, 8) || write_all(fd, hdr, sizeof hdr) ||
             write_all(fd, e.msg, strlen(e.msg)) ||
             (st == FS_OK && write_all(fd, img.data, (size_t)img.width * img.height * 3));
    fs_image_free(&img);
    return rc ? -1 : 0;
}

/* Reads exactly n bytes before the deadline; 0, or -1 on EOF, -2 on
 * timeout. */
static int read_all(int fd, void *p, size_t n, double deadline)
{
    char *c = p;
    while (n) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double left = deadline - ((double)ts.tv_sec + ts.tv_nsec * 1e-9);
        struct pollfd pf = {fd, POLLIN, 0};
        if (left <= 0)
            return -2;
        int pr = poll(&pf, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return -2;
        if (pr < 0)
            return -1;
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int fs_image_decode_isolated(const char *helper, const char *path, const fs_decode_opts *opts,
                             fs_image *out, fs_image_info *info, fs_error *err)
{
    memset(out, 0, sizeof *out);
    fs_decode_opts o = {0};
    if (opts)
        o = *opts;
    char maxpx[32];
    snprintf(maxpx, sizeof maxpx, "%llu",
             (unsigned long long)(o.max_pixels ? o.max_pixels : FS_DEFAULT_MAX_PIXELS));
    char *argv[] = {(char *)helper, "__decode", maxpx, o.apply_orientation ? "1" : "0",
                    (char *)path, NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return fs_fail(err, FS_ENOMEM, "%s: cannot make a pipe for the decoder: %s", path,
                       strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int se = posix_spawn(&pid, helper, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (se != 0) {
        close(fds[0]);
        return fs_fail(err, se == ENOMEM || se == EAGAIN ? FS_ENOMEM : FS_EINTERNAL,
                       "%s: cannot start the decoder %s: %s", path, helper, strerror(se));
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double deadline = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + HELPER_SECONDS;
    char magic[8];
    int32_t hdr[9];
    char msg[sizeof err->msg] = "";
    int r = read_all(fds[0], magic, 8, deadline);
    if (r == 0 && memcmp(magic, MAGIC, 8) != 0)
        r = -1;
    if (r == 0)
        r = read_all(fds[0], hdr, sizeof hdr, deadline);
    if (r == 0 && (hdr[8] < 0 || (size_t)hdr[8] >= sizeof msg))
        r = -1;
    if (r == 0)
        r = read_all(fds[0], msg, (size_t)hdr[8], deadline);
    int st = r == 0 ? hdr[0] : FS_EINTERNAL;
    if (r == 0 && st == FS_OK) {
        if (hdr[1] <= 0 || hdr[2] <= 0 || fs_image_alloc(out, hdr[1], hdr[2], err) != FS_OK)
            r = -1;
        else
            r = read_all(fds[0], out->data, (size_t)hdr[1] * hdr[2] * 3, deadline);
        if (r != 0)
            fs_image_free(out);
    }
    close(fds[0]);
    int ws;
    if (r == -2)
        kill(pid, SIGKILL); /* a hang */
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (r == -2)
        return fs_fail(err, FS_ECORRUPT, "%s: the decoder gave no picture within %d s: "
                       "damaged or hostile, skipped", path, HELPER_SECONDS);
    if (r != 0 && WIFSIGNALED(ws))
        return fs_fail(err, FS_ECORRUPT, "%s: the decoder %s on this file (signal %d): "
                       "damaged or hostile, skipped", path,
                       WTERMSIG(ws) == SIGKILL ? "was killed (out of memory?)" : "crashed",
                       WTERMSIG(ws));
    /* Exiting without an answer is also the decoder giving up on the file
     * (a sanitizer build reports a wild allocation and exits). */
    if (r != 0)
        return fs_fail(err, FS_ECORRUPT, "%s: the decoder gave no answer for this file (exit "
                       "%d): damaged or hostile, skipped", path,
                       WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    if (info) {
        memset(info, 0, sizeof *info);
        info->format = (fs_format)hdr[3];
        info->orientation = hdr[4];
        info->width = hdr[1];
        info->height = hdr[2];
        info->components = hdr[5];
        info->bit_depth = hdr[6];
        info->progressive = hdr[7];
        /* The names of the formats a helper decodes (HEIF, AVIF). */
        info->colorspace = hdr[5] == 4 ? "rgba" : "ycbcr";
        info->scale_num = info->scale_denom = 1;
    }
    if (st != FS_OK)
        return fs_fail(err, st, "%s", msg); /* the message names the file already */
    return FS_OK;
}
