/* Parallel face engine over many photos (see tools/face_batch.h). */
#include "face_batch.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

#define FS_PATH_MAX 8192

static void progress(const face_batch *b, size_t done, double t0, int final)
{
    double el = fs_now() - t0, rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (b->n - done) / rate : 0;
    fprintf(stderr, "\r%s: %zu/%zu photos, %.1f/s, %s %d:%02d ", b->label, done, b->n, rate,
            final ? "took" : "ETA", (int)(final ? el : eta) / 60, (int)(final ? el : eta) % 60);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

void openblas_set_num_threads(int);

int face_batch_run(const face_batch *b, double *seconds, int *threads_used)
{
    const int tty = isatty(2);
    /* 0 = all cores (not omp_get_max_threads(): see below) */
    int threads = b->threads > 0 ? b->threads : omp_get_num_procs();
    if ((size_t)threads > b->n && b->n > 0)
        threads = (int)b->n;
    if (threads_used)
        *threads_used = threads;
    /* One photo per thread, BLAS single-threaded inside: a team of one
     * thread is not an active parallel region, and OpenBLAS would then
     * spread each sgemm over every core (and spin when they are busy).
     * (Its OpenMP build also sets OpenMP's default team size to 1 here,
     * so a later batch must not take its count from that.) */
    openblas_set_num_threads(1);
    int failed = 0;
    fs_error first = {0};
    size_t done = 0;
    double t0 = fs_now(), last = t0;
#pragma omp parallel num_threads(threads)
    {
        fs_worker *w = NULL;
        fs_error e = {0};
        const int cap = fs_engine_options(b->engine)->max_faces;
        fs_face *faces = calloc((size_t)cap, sizeof *faces);
        char *buf = malloc(FS_PATH_MAX);
        int ok = faces && buf && fs_worker_create(b->engine, &w, &e) == FS_OK;
        if (!ok) {
#pragma omp critical(face_batch_fail)
            if (!failed++)
                first = faces && buf ? e : (fs_error){FS_ENOMEM, "out of memory"};
        }
#pragma omp barrier
        if (!failed) {
#pragma omp for schedule(dynamic, 2)
            for (size_t i = 0; i < b->n; i++) {
                const char *path = b->paths[i];
                if (b->root) {
                    snprintf(buf, FS_PATH_MAX, "%s/%s", b->root, b->paths[i]);
                    path = buf;
                }
                fs_image img = {0};
                fs_error pe = {0};
                int n = 0;
                int st = cli_decode_file(path, &b->decode, &img, NULL, &pe);
                if (st == FS_OK && fs_worker_faces(w, &img, b->stages, faces, cap, &n, &pe) != FS_OK)
                    st = fs_error_prefix(&pe, path);
                b->done(b->ctx, i, st == FS_OK ? &img : NULL, faces, n, &pe);
                fs_image_free(&img);
                size_t now_done;
#pragma omp atomic capture
                now_done = ++done;
                if (tty && omp_get_thread_num() == 0 && fs_now() - last > 0.5) {
                    last = fs_now();
                    progress(b, now_done, t0, 0);
                }
            }
        }
        fs_worker_destroy(w);
        free(faces);
        free(buf);
    }
    if (failed)
        return cli_fail(&first);
    if (tty)
        progress(b, done, t0, 1);
    if (seconds)
        *seconds = fs_now() - t0;
    return 0;
}
