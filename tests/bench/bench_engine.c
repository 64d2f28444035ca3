/*
 * bench_engine — speed of the face engine (issue 3 item 8).
 *
 *   build/bench/bench_engine [--models DIR] [--rounds N] [--layers] [--no-reexec]
 *
 * Measures, in one run, for each OpenBLAS kernel setting (the environment's
 * OPENBLAS_CORETYPE and the other of {Haswell, unset}: OpenBLAS reads the
 * variable when it loads, so the bench re-executes itself with it changed)
 * and each precision (fp32, bf16):
 *
 *   - the GEMM peaks: OpenBLAS sgemm and our bf16 kernel on 1024^3, 1 thread;
 *   - each net at its fixed input size: GFLOP per pass, best-of-N ms,
 *     GFLOP/s and its share of the sgemm peak (goal: >= 60 %);
 *   - the six sample photos at 1 thread: decode, detection, landmarks per
 *     face, descriptor per face, chain per photo (median of N rounds), and
 *     the ratio to the reference: face-api on TF.js wasm, 1 thread, ~690 ms
 *     per photo for the chain on a decoded photo (golden README §1; 830 ms
 *     measured side by side by the nn-report's author);
 *   - 2 threads over photos (one worker each, BLAS single-threaded inside);
 *   - the chain with the product defaults (fitted input, fallback, landmarks
 *     averaged with the mirror image's, the 512-D recogniser).
 *
 * The host is shared and noisy: figures are best-of / medians, and the load
 * average is printed before and after.  docs/benchmarks.md records runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/face/engine_internal.h"
#include "../../src/nn/nn_internal.h"
#include "facesearch/face.h"
#include "facesearch/image.h"

#include <cblas.h>

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

#define REF_MS 690.0      /* golden README §1: wasm, 1 thread, chain per photo */
#define REF_SIDE_MS 830.0 /* nn-report: the reference re-run side by side */
#define N_PHOTOS 6
#define N_NETS 5

static const char *net_names[N_NETS] = {"SSD 512x512", "landmarks 112x112",
                                        "recognition 150x150", "tiny det. 416x416",
                                        "mfn512 112x112"};

/* Everything one process measures for one precision. */
typedef struct prec_result {
    double net_ms[N_NETS], net_gflop[N_NETS];
    double decode_ms, detect_ms, lm_ms, desc_ms, chain_ms, chain_min_ms;
    double omp_ms[2]; /* per photo, 1 and 2 threads over photos */
    double product_ms; /* chain with the product defaults (fit, fallback, chip, flip) */
    long faces;
    int ran;
} prec_result;

typedef struct result {
    char core[32];
    double sgemm_peak, bf16_peak;
    prec_result p[2]; /* fp32, bf16 */
} result;

static int g_rounds = 5, g_layers = 0;
static const char *g_models = "models";

static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Best GFLOP/s of a square product over 5 runs of >= 0.1 s. */
static double gemm_peak(int bf16)
{
    const int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n);
    float *c = malloc(sizeof(float) * n * n);
    uint16_t *ab = fs_nn_alloc(sizeof(uint16_t) * n * n);
    uint16_t *bp = fs_nn_alloc(sizeof(uint16_t) * fs_nn_bf16_packed_count(n, n, 0));
    double best = 0;
    if (!a || !b || !c || !ab || !bp || (bf16 && !fs_nn_cpu_bf16()))
        goto out;
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    if (bf16) {
        fs_nn_bf16_convert(a, ab, (size_t)n * n);
        fs_nn_bf16_pack_b(b, n, n, 0, bp);
    }
    for (int r = 0; r < 6; r++) {
        int reps = 0;
        double t0 = fs_now(), t;
        do {
            if (bf16)
                fs_nn_bf16_gemm(n, n, n, ab, n, bp, 0, c, n, NULL, FS_ACT_NONE);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n,
                            0, c, n);
            reps++;
        } while ((t = fs_now() - t0) < 0.1);
        double g = 2.0 * n * n * n * reps / t / 1e9;
        if (r > 0 && g > best) /* run 0 warms up */
            best = g;
    }
out:
    free(a);
    free(b);
    free(c);
    free(ab);
    free(bp);
    return best;
}

/* Best ms of a plan on a fixed input; with --layers, per-node means. */
static double time_plan(const fs_plan *p, const fs_net *net, int reps)
{
    void *ws = fs_nn_alloc(fs_plan_workspace(p));
    if (!ws)
        return NAN;
    float *in = fs_plan_input(p, ws);
    fs_tensor t = fs_plan_tensor(p, NULL, 0);
    for (size_t i = 0; i < fs_tensor_count(t); i++)
        in[i] = (float)((i * 7) % 255) / 255.0f;
    int n = fs_net_nodes(net);
    double *sec = calloc((size_t)n, sizeof *sec), *acc = calloc((size_t)n, sizeof *acc);
    double best = INFINITY;
    fs_plan_run(p, ws, NULL); /* page faults, caches */
    for (int r = 0; r < reps; r++) {
        double t0 = fs_now();
        fs_plan_run(p, ws, g_layers ? sec : NULL);
        best = fmin(best, (fs_now() - t0) * 1e3);
        for (int i = 0; g_layers && sec && acc && i < n; i++)
            acc[i] += sec[i] / reps;
    }
    for (int i = 1; g_layers && acc && i < n; i++)
        printf("      %-34s %8.3f ms %8.1f MFLOP %6.1f GFLOP/s\n", fs_net_node_name(net, i),
               acc[i] * 1e3, fs_plan_node_flops(p, i) / 1e6,
               fs_plan_node_flops(p, i) / acc[i] / 1e9);
    free(sec);
    free(acc);
    free(ws);
    return best;
}

static int load_photos(fs_image *img)
{
    fs_error err = {0};
    for (int s = 0; s < N_PHOTOS; s++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/demo/sample%d.jpg", g_models, s + 1);
        memset(&img[s], 0, sizeof img[s]);
        if (fs_image_decode_file(path, NULL, &img[s], NULL, &err) != FS_OK) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

/* Ms per photo with `threads` OpenMP threads over photos (one worker each). */
static double over_photos(const fs_engine *e, const fs_image *img, int threads)
{
    double best = INFINITY;
    const int n = 4 * N_PHOTOS;
    for (int r = 0; r < 3; r++) {
        double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(threads)
        {
            fs_worker *w = NULL;
            fs_error err = {0};
            fs_face faces[64];
            int nf;
            fs_worker_create(e, &w, &err);
#pragma omp for schedule(dynamic, 1)
            for (int i = 0; i < N_PHOTOS; i++) /* warm-up */
                if (w)
                    fs_worker_faces(w, &img[i], FS_STAGE_ALL, faces, 64, &nf, &err);
#pragma omp single
            t0 = fs_now();
#pragma omp for schedule(dynamic, 1)
            for (int i = 0; i < n; i++)
                if (w)
                    fs_worker_faces(w, &img[i % N_PHOTOS], FS_STAGE_ALL, faces, 64, &nf, &err);
#pragma omp single
            t1 = fs_now();
            fs_worker_destroy(w);
        }
        best = fmin(best, (t1 - t0) / n * 1e3);
    }
    return best;
}

/* The chain on the six photos, 1 thread: per-stage times, median of rounds. */
static void photos_1thread(const fs_engine *e, const fs_image *img, prec_result *r)
{
    fs_worker *w = NULL;
    fs_error err = {0};
    if (fs_worker_create(e, &w, &err) != FS_OK)
        return;
    double chain[64], det[64], lm[64], desc[64], dec[64];
    int rounds = g_rounds < 64 ? g_rounds : 64;
    fs_face faces[64];
    int nf;
    for (int i = 0; i < N_PHOTOS; i++) /* warm-up */
        fs_worker_faces(w, &img[i], FS_STAGE_ALL, faces, 64, &nf, &err);
    for (int k = 0; k < rounds; k++) {
        fs_worker_reset_times(w);
        double t = 0, d = 0;
        for (int i = 0; i < N_PHOTOS; i++) {
            /* decode is timed on the file each round (as ingest would) */
            char path[1024];
            fs_image tmp = {0};
            snprintf(path, sizeof path, "%s/demo/sample%d.jpg", g_models, i + 1);
            double t0 = fs_now();
            if (fs_image_decode_file(path, NULL, &tmp, NULL, &err) == FS_OK)
                d += fs_now() - t0;
            fs_image_free(&tmp);
            t0 = fs_now();
            fs_worker_faces(w, &img[i], FS_STAGE_ALL, faces, 64, &nf, &err);
            t += fs_now() - t0;
        }
        fs_stage_times st;
        fs_worker_times(w, &st);
        chain[k] = t / N_PHOTOS * 1e3;
        dec[k] = d / N_PHOTOS * 1e3;
        det[k] = st.detect_s / st.photos * 1e3;
        lm[k] = st.landmarks_s / (st.faces_landmarked ? st.faces_landmarked : 1) * 1e3;
        desc[k] = st.descriptor_s / (st.faces_described ? st.faces_described : 1) * 1e3;
        r->faces = st.faces_described;
    }
    r->chain_ms = median(chain, rounds); /* sorts */
    r->chain_min_ms = chain[0];
    r->decode_ms = median(dec, rounds);
    r->detect_ms = median(det, rounds);
    r->lm_ms = median(lm, rounds);
    r->desc_ms = median(desc, rounds);
    fs_worker_destroy(w);
}

static void measure_precision(fs_precision prec, const fs_image *img, prec_result *r)
{
    fs_engine_opts o;
    fs_error err = {0};
    fs_engine *e = NULL, *et = NULL;
    fs_engine_opts_init(&o);
    o.precision = prec;
    memset(r, 0, sizeof *r);
    if (fs_engine_create(g_models, &o, &e, &err) != FS_OK) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return;
    }
    if (fs_engine_precision(e) != prec) { /* no AVX-512 BF16 here */
        fs_engine_destroy(e);
        return;
    }
    o.detector = FS_DETECTOR_TINY;
    o.recognizer = FS_REC_MFN512; /* the tiny engine carries the 512-D net */
    if (fs_engine_create(g_models, &o, &et, &err) != FS_OK)
        fprintf(stderr, "bench_engine: %s\n", err.msg);
    const fs_plan *plans[N_NETS] = {e->det_plan, e->lm_plan, e->rec_plan,
                                    et ? et->det_plan : NULL, et ? et->mfn_plan : NULL};
    const fs_net *nets[N_NETS] = {e->ssd->net, e->lm.net, e->rec.net, et ? et->tiny.net : NULL,
                                  et ? et->mfn.net : NULL};
    for (int k = 0; k < N_NETS; k++) {
        if (!plans[k])
            continue;
        if (g_layers)
            printf("    %s, %s, per layer (mean of 10):\n", net_names[k], fs_precision_name(prec));
        r->net_ms[k] = time_plan(plans[k], nets[k], 10);
        r->net_gflop[k] = fs_plan_flops(plans[k]) / 1e9;
    }
    photos_1thread(e, img, r);
    r->omp_ms[0] = over_photos(e, img, 1);
    r->omp_ms[1] = over_photos(e, img, 2);
    r->ran = 1;
    fs_engine_destroy(et);
    fs_engine_destroy(e);
    /* The product defaults (configs/default.conf): the 512-D recogniser on
     * its ArcFace chip, landmarks averaged with the mirror image's, fitted
     * input, fallback -- not the reference's chain; shown for what ingest
     * will cost. */
    fs_engine_opts_init(&o);
    o.precision = prec;
    o.fit_input = o.fallback = o.landmark_flip = 1;
    o.recognizer = FS_REC_MFN512;
    o.max_faces = 1000;
    if (fs_engine_create(g_models, &o, &e, &err) == FS_OK) {
        prec_result pr = {0};
        photos_1thread(e, img, &pr);
        r->product_ms = pr.chain_ms;
        fs_engine_destroy(e);
    }
}

static void measure(result *res)
{
    fs_image img[N_PHOTOS];
    openblas_set_num_threads(1);
    memset(res, 0, sizeof *res);
    snprintf(res->core, sizeof res->core, "%s", openblas_get_corename());
    res->sgemm_peak = gemm_peak(0);
    res->bf16_peak = gemm_peak(1);
    if (load_photos(img) != 0)
        exit(2);
    measure_precision(FS_PREC_FP32, img, &res->p[0]);
    measure_precision(FS_PREC_BF16, img, &res->p[1]);
    for (int s = 0; s < N_PHOTOS; s++)
        fs_image_free(&img[s]);
}

/* ---- a result as text lines (child -> parent) ---- */

#define FIELDS(X, P)                                                                          \
    X(P.net_ms[0]) X(P.net_ms[1]) X(P.net_ms[2]) X(P.net_ms[3]) X(P.net_ms[4])                \
    X(P.net_gflop[0]) X(P.net_gflop[1]) X(P.net_gflop[2]) X(P.net_gflop[3])                   \
    X(P.net_gflop[4]) X(P.decode_ms) X(P.detect_ms)                                           \
    X(P.lm_ms) X(P.desc_ms) X(P.chain_ms) X(P.chain_min_ms) X(P.omp_ms[0]) X(P.omp_ms[1])      \
    X(P.product_ms)

static void emit(const result *r)
{
#define OUT(v) printf(" %.6g", (double)(v));
    printf("RESULT %s %.6g %.6g", r->core, r->sgemm_peak, r->bf16_peak);
    for (int k = 0; k < 2; k++) {
        printf(" %d %ld", r->p[k].ran, r->p[k].faces);
        FIELDS(OUT, r->p[k])
    }
    printf("\n");
#undef OUT
}

static int parse(const char *line, result *r)
{
    memset(r, 0, sizeof *r);
    int off = 0;
    if (sscanf(line, "RESULT %31s %lf %lf%n", r->core, &r->sgemm_peak, &r->bf16_peak, &off) != 3)
        return -1;
    const char *p = line + off;
    int ok = 1;
#define IN(v)                                                                                  \
    {                                                                                          \
        char *end;                                                                             \
        v = strtod(p, &end);                                                                   \
        ok &= end != p;                                                                        \
        p = end;                                                                               \
    }
    for (int k = 0; k < 2; k++) {
        double ran, faces;
        IN(ran) IN(faces)
        r->p[k].ran = (int)ran;
        r->p[k].faces = (long)faces;
        FIELDS(IN, r->p[k])
    }
#undef IN
    return ok ? 0 : -1;
}

/* Runs this program again with OPENBLAS_CORETYPE set to `core` (NULL:
 * unset) and reads its result. */
static int run_child(const char *self, const char *core, result *r)
{
    char cmd[10000];
    snprintf(cmd, sizeof cmd, "env %s%s '%s' --child --models '%s' --rounds %d%s",
             core ? "OPENBLAS_CORETYPE=" : "-u OPENBLAS_CORETYPE", core ? core : "", self,
             g_models, g_rounds, g_layers ? " --layers" : "");
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char line[8192];
    int got = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "RESULT ", 7) == 0)
            got = parse(line, r);
        else
            fputs(line, stdout); /* --layers output */
    }
    return pclose(f) == 0 ? got : -1;
}

/* ---- report ---- */

static void report(const result *r, const char **labels, int n)
{
    printf("\nGEMM peaks, 1024^3, 1 thread (GFLOP/s):\n  %-26s", "");
    for (int i = 0; i < n; i++)
        printf(" | %-28s", labels[i]);
    printf("\n  %-26s", "OpenBLAS sgemm (fp32)");
    for (int i = 0; i < n; i++)
        printf(" | %-28.1f", r[i].sgemm_peak);
    printf("\n  %-26s", "own kernel (bf16)");
    for (int i = 0; i < n; i++)
        printf(" | %-28.1f", r[i].bf16_peak);
    printf("\n");
    for (int k = 0; k < 2; k++) {
        printf("\n%s — per net at its fixed input, 1 thread, best of 10: ms, GFLOP/s, %% of the "
               "sgemm peak%s\n", k ? "bf16" : "fp32", k ? " (and of the bf16 peak)" : "");
        for (int m = 0; m < N_NETS; m++) {
            printf("  %-19s %5.3f GF", net_names[m], r[0].p[k].net_gflop[m]);
            for (int i = 0; i < n; i++) {
                const prec_result *p = &r[i].p[k];
                if (!p->ran) {
                    printf(" | %-28s", "n/a (no AVX-512 BF16)");
                    continue;
                }
                double gf = p->net_gflop[m] / p->net_ms[m] * 1e3;
                char cell[64];
                if (k)
                    snprintf(cell, sizeof cell, "%.2f ms %.0f %3.0f%% (%2.0f%%)", p->net_ms[m], gf,
                             100 * gf / r[i].sgemm_peak, 100 * gf / r[i].bf16_peak);
                else
                    snprintf(cell, sizeof cell, "%.2f ms %.0f %3.0f%%", p->net_ms[m], gf,
                             100 * gf / r[i].sgemm_peak);
                printf(" | %-28s", cell);
            }
            printf("\n");
        }
    }
    static const char *rows[] = {"decode / photo",        "detection / photo",
                                 "landmarks / face",      "descriptor / face",
                                 "chain / photo (median)", "chain / photo (best)",
                                 "  vs reference 690 ms", "  vs 830 ms (side by side)",
                                 "2 threads over photos", "  vs reference 690 ms",
                                 "product defaults / photo"};
    for (int k = 0; k < 2; k++) {
        printf("\n%s — six sample photos (%ld faces), 1 thread unless stated, median of %d "
               "rounds; chain = the reference's pipeline (detection + landmarks + descriptors), "
               "decode excluded\n",
               k ? "bf16" : "fp32", r[0].p[k].faces, g_rounds);
        for (int row = 0; row < 11; row++) {
            printf("  %-26s", rows[row]);
            for (int i = 0; i < n; i++) {
                const prec_result *p = &r[i].p[k];
                char cell[64];
                double v[11] = {p->decode_ms,         p->detect_ms,   p->lm_ms,
                                p->desc_ms,           p->chain_ms,    p->chain_min_ms,
                                REF_MS / p->chain_ms, REF_SIDE_MS / p->chain_ms,
                                p->omp_ms[1],         REF_MS / p->omp_ms[1],
                                p->product_ms};
                if (!p->ran)
                    snprintf(cell, sizeof cell, "n/a");
                else if (row == 6 || row == 7 || row == 9)
                    snprintf(cell, sizeof cell, "%.1fx", v[row]);
                else if (row == 10)
                    snprintf(cell, sizeof cell, "%.2f ms (1 thread)", v[row]);
                else if (row == 8)
                    snprintf(cell, sizeof cell, "%.1f ms/photo (%.1f/s; 1 thr %.1f)", v[row],
                             1e3 / v[row], p->omp_ms[0]);
                else
                    snprintf(cell, sizeof cell, "%.2f ms", v[row]);
                printf(" | %-28s", cell);
            }
            printf("\n");
        }
    }
    printf("\nGoals (issue 3 item 8): each net >= 60 %% of the sgemm peak; fp32 chain >= 4x and "
           "reduced precision >= 8x the reference (690 ms):\n");
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            const prec_result *p = &r[i].p[k];
            if (!p->ran)
                continue;
            double worst = INFINITY;
            for (int m = 0; m < N_NETS; m++) /* the four nets of a chain: not the tiny one */
                if (m != 3 && p->net_ms[m] > 0)
                    worst = fmin(worst, p->net_gflop[m] / p->net_ms[m] * 1e3 / r[i].sgemm_peak);
            double x = REF_MS / p->chain_ms, want = k ? 8 : 4;
            printf("  %-28s %s: worst net %3.0f %% of sgemm peak (%s), chain %.1fx (%s)\n",
                   labels[i], k ? "bf16" : "fp32", 100 * worst, worst >= 0.6 ? "met" : "NOT met",
                   x, x >= want ? "met" : "NOT met");
        }
    }
}

int main(int argc, char **argv)
{
    int child = 0, reexec = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--models") && i + 1 < argc)
            g_models = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            g_rounds = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else if (!strcmp(argv[i], "--layers"))
            g_layers = 1;
        else if (!strcmp(argv[i], "--child"))
            child = 1;
        else if (!strcmp(argv[i], "--no-reexec"))
            reexec = 0;
        else {
            fprintf(stderr, "usage: bench_engine [--models DIR] [--rounds N] [--layers] "
                            "[--no-reexec]\n");
            return 1;
        }
    }
    result r[2];
    if (child) {
        measure(&r[0]);
        emit(&r[0]);
        return 0;
    }
    const char *env = getenv("OPENBLAS_CORETYPE");
    const char *other = env && *env ? NULL : "Haswell";
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    printf("bench_engine: load average %.2f; CPU AVX-512 BF16: %s; %d rounds\n", loadavg(),
           fs_nn_cpu_bf16() ? "yes" : "no", g_rounds);
    measure(&r[0]);
    char lab[2][64];
    const char *labels[2] = {lab[0], lab[1]};
    snprintf(lab[0], sizeof lab[0], "CORETYPE=%s", env && *env ? env : "unset");
    int n = 1;
    if (reexec) {
        if (len > 0 && run_child(self, other, &r[1]) == 0) {
            snprintf(lab[1], sizeof lab[1], "CORETYPE=%s", other ? other : "unset");
            n = 2;
        } else {
            printf("(the re-run with OPENBLAS_CORETYPE %s failed: this setting only)\n",
                   other ? other : "unset");
        }
    }
    for (int i = 0; i < n; i++)
        printf("column %s: OpenBLAS kernel %s\n", labels[i], r[i].core);
    report(r, labels, n);
    printf("\nload average after: %.2f\n", loadavg());
    return 0;
}
