/*
 * bench/bench_index — the FAISS index on a database of stored faces.
 *
 *   bench_index --db DIR [--factory F]... [--queries FILE | --sample-queries N]
 *               [--k 10] [--nprobe a,b,c] [--ef a,b,c] [--k-factor F]
 *               [--threads 1,2] [--no-build]
 *
 * For each factory ("auto" = what `facesearch build` picks): build it from
 * the database exactly as `facesearch build` does (timed), then with the
 * queries (DIR/synth_queries.f32 from synth_db by default: new faces of stored
 * identities; --sample-queries N takes N stored vectors instead, e.g. for a
 * database of real faces) measure single-query latency p50/p99 (one query per call),
 * batched throughput (all queries in one call), and recall@k against exact
 * brute force (computed here with sgemm over every stored vector) -- and the
 * recall of the exact top-k closer than the verification threshold, the
 * matches a user sees ("match_rec") -- at each
 * thread count and search effort (nprobe for IVF, efSearch for HNSW; a
 * refine stage re-ranks k-factor x k candidates).  Prints one line per
 * setting.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/config.h"
#include "facesearch/face.h"
#include "facesearch/index.h"
#include "facesearch/store.h"

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

/* Exact top-k by brute force, streamed over the database (10M faces at 512-D
 * would not fit in RAM): vectors are gathered in blocks of B and each block
 * is scored against every query with one sgemm -- the largest inner
 * products of unit vectors, i.e. cosine similarities.  Keeps ids in gt and
 * cosine distances (1 - cos, as fs_index_search reports) in gtd. */
enum { B = 65536 };
typedef struct exact {
    const float *q;
    int nq, k, dim;
    float *blk, *dots, *gtd;
    int64_t *ids, *gt;
    int nb;
    size_t seen;
} exact;

static void exact_block(exact *x)
{
    if (!x->nb)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, x->nq, x->nb, x->dim, 1.0f, x->q,
                x->dim, x->blk, x->dim, 0.0f, x->dots, x->nb);
#pragma omp parallel for
    for (int i = 0; i < x->nq; i++) {
        float *bd = x->gtd + (size_t)i * x->k;
        int64_t *bi = x->gt + (size_t)i * x->k;
        for (int j = 0; j < x->nb; j++) {
            float dist = 1.0f - x->dots[(size_t)i * x->nb + j];
            if (dist >= bd[x->k - 1])
                continue;
            int p = x->k - 1;
            while (p > 0 && dist < bd[p - 1]) {
                bd[p] = bd[p - 1];
                bi[p] = bi[p - 1];
                p--;
            }
            bd[p] = dist;
            bi[p] = x->ids[j];
        }
    }
    x->nb = 0;
}

static int exact_cb(void *ctx, uint64_t id, const float *vec)
{
    exact *x = ctx;
    memcpy(x->blk + (size_t)x->nb * x->dim, vec, sizeof(float) * (size_t)x->dim);
    x->ids[x->nb++] = (int64_t)id;
    x->seen++;
    if (x->nb == B)
        exact_block(x);
    return 0;
}

/* --sample-queries: every (n / want)-th stored vector, spread over the ids. */
typedef struct picker {
    float *out;
    int dim, want, got;
    uint64_t step, i;
} picker;

static int pick_cb(void *ctx, uint64_t id, const float *vec)
{
    (void)id;
    picker *p = ctx;
    if (p->got < p->want && p->i++ % p->step == 0)
        memcpy(p->out + (size_t)p->got++ * p->dim, vec, sizeof(float) * (size_t)p->dim);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The share of the exact top-k found (recall@k); with gtd and max_dist >= 0,
 * the share of the exact top-k closer than max_dist: the matches a user is
 * shown, as opposed to the order of strangers beyond the threshold. */
static double recall(const int64_t *got, const int64_t *gt, const float *gtd, float max_dist,
                     int nq, int k)
{
    long hit = 0, all = 0;
    for (int i = 0; i < nq; i++)
        for (int t = 0; t < k; t++) {
            int64_t want = gt[(size_t)i * k + t];
            if (want < 0 || (gtd && gtd[(size_t)i * k + t] >= max_dist))
                continue;
            all++;
            for (int j = 0; j < k; j++)
                if (got[(size_t)i * k + j] == want) {
                    hit++;
                    break;
                }
        }
    return all ? (double)hit / (double)all : 1.0;
}

int main(int argc, char **argv)
{
    const char *dir = arg(argc, argv, "--db", NULL);
    if (!dir) {
        fprintf(stderr, "usage: bench_index --db DIR [--factory F]... [--queries FILE] [--k 10] "
                        "[--nprobe 8,16,...] [--ef 16,32,...] [--k-factor F] [--threads 1,2] [--no-build]\n");
        return 1;
    }
    int k = atoi(arg(argc, argv, "--k", "10"));
    char qdefault[4200];
    snprintf(qdefault, sizeof qdefault, "%s/synth_queries.f32", dir);
    const char *qfile = arg(argc, argv, "--queries", qdefault);
    const char *nprobes = arg(argc, argv, "--nprobe", "8,16,32,64,128");
    const char *efs = arg(argc, argv, "--ef", "16,32,64,128");
    double k_factor = atof(arg(argc, argv, "--k-factor", "0"));
    const char *threads = arg(argc, argv, "--threads", "1,2");
    int no_build = 0;
    for (int i = 1; i < argc; i++)
        no_build |= strcmp(argv[i], "--no-build") == 0;

    fs_error e = {0};
    fs_db *db;
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    if (fs_db_open(dir, &ro, &db, &e) != FS_OK) {
        fprintf(stderr, "bench_index: %s\n", e.msg);
        return 2;
    }
    fs_db_snap *snap;
    fs_db_stats st;
    if (fs_db_snap_begin(db, &snap, &e) != FS_OK || fs_db_stats_get(snap, &st, &e) != FS_OK) {
        fprintf(stderr, "bench_index: %s\n", e.msg);
        return 2;
    }
    const int dim = st.dim;
    printf("database: %llu faces, dim %d, %.1f MiB on disk\n", (unsigned long long)st.faces,
           dim, (double)st.db_bytes / (1 << 20));

    uint8_t *qbuf;
    size_t qlen;
    int sample = atoi(arg(argc, argv, "--sample-queries", "0"));
    if (sample > 0) {
        if ((uint64_t)sample > st.faces)
            sample = (int)st.faces;
        picker p = {malloc(sizeof(float) * (size_t)dim * (size_t)sample), dim, sample, 0,
                    st.faces / (uint64_t)sample, 0};
        if (!p.out || fs_db_foreach_vector(snap, 0, pick_cb, &p, &e) != FS_OK) {
            fprintf(stderr, "bench_index: sampling queries: %s\n", p.out ? e.msg : "no memory");
            return 2;
        }
        qbuf = (uint8_t *)p.out;
        qlen = sizeof(float) * (size_t)dim * (size_t)p.got;
    } else if (fs_read_file(qfile, 0, &qbuf, &qlen, &e) != FS_OK) {
        fprintf(stderr, "bench_index: %s\n", e.msg);
        return 2;
    }
    int nq = (int)(qlen / (sizeof(float) * (size_t)dim));
    /* This binary may be linked against either FAISS build; say which. */
    const char *faiss = strstr(argv[0], "debian") ? "debian" : "avx2";
    const float *q = (const float *)(void *)qbuf;
    int64_t *gt = malloc(sizeof(int64_t) * (size_t)nq * k), *got = malloc(sizeof(int64_t) * (size_t)nq * k);
    float *gtd = malloc(sizeof(float) * (size_t)nq * k);
    float *dist = malloc(sizeof(float) * (size_t)nq * k);
    double *lat = malloc(sizeof(double) * (size_t)nq);
    for (long i = 0; i < (long)nq * k; i++) {
        gtd[i] = INFINITY;
        gt[i] = -1;
    }
    double t = fs_now();
    exact x = {q, nq, k, dim, malloc(sizeof(float) * B * (size_t)dim),
               malloc(sizeof(float) * B * (size_t)nq), gtd, malloc(sizeof(int64_t) * B), gt,
               0, 0};
    if (!x.blk || !x.dots || !x.ids || fs_db_foreach_vector(snap, 0, exact_cb, &x, &e) != FS_OK) {
        fprintf(stderr, "bench_index: exact search: %s\n", x.blk && x.dots && x.ids ? e.msg
                                                                                  : "no memory");
        return 2;
    }
    exact_block(&x);
    free(x.blk);
    free(x.dots);
    free(x.ids);
    fs_db_snap_end(snap);
    const size_t n_faces = x.seen;
    /* Matches: at or above the match threshold of the database's recognizer
     * (query.NAME; the model id starts with the recognizer's name). */
    char key[64];
    snprintf(key, sizeof key, "query.%.*s", (int)strcspn(st.model_id, "@/"), st.model_id);
    fs_config *cfg = fs_config_create();
    float match = 1.0f - (cfg ? (float)fs_config_real(cfg, key) : 0.0f);
    if (!(match < 1.0f)) /* no recognizer name: mfn512's threshold */
        match = 1.0f - (float)fs_config_real(cfg, "query.mfn512");
    fs_config_destroy(cfg);
    long n_match = 0;
    for (long i = 0; i < (long)nq * k; i++)
        n_match += gt[i] >= 0 && gtd[i] < match;
    printf("queries: %d; exact top-%d by brute force in %.1f s; %.2f of them matches "
           "(similarity >= %.3f)\n", nq, k, fs_now() - t, (double)n_match / ((double)nq * k),
           1.0 - match);
    printf("%-28s %-7s %3s %6s %9s %9s %9s %10s %9s %9s %9s\n", "factory", "faiss", "thr", "effort",
           "build_s", "B/face", "p50_ms", "p99_ms", "batch_qps", "recall@k", "match_rec");

    int n_fact = 0;
    const char *facts[16];
    for (int i = 1; i + 1 < argc && n_fact < 16; i++)
        if (strcmp(argv[i], "--factory") == 0)
            facts[n_fact++] = argv[i + 1];
    if (!n_fact)
        facts[n_fact++] = "auto";
    for (int f = 0; f < n_fact; f++) {
        fs_index_info info = {0};
        double build_s = 0;
        if (!no_build) {
            fs_index_build_opts bo = {.factory = facts[f]};
            if (fs_index_build(db, dir, &bo, &info, &e) != FS_OK) {
                fprintf(stderr, "bench_index: %s: %s\n", facts[f], e.msg);
                continue;
            }
            build_s = info.build_s;
        }
        fs_index *ix;
        if (fs_index_open(dir, &ix, &e) != FS_OK) {
            fprintf(stderr, "bench_index: %s\n", e.msg);
            continue;
        }
        info = *fs_index_get_info(ix);
        int ivf = strstr(info.factory, "IVF") != NULL, hnsw = strstr(info.factory, "HNSW") != NULL;
        char tl[64];
        snprintf(tl, sizeof tl, "%s", threads);
        for (char *ts = strtok(tl, ","); ts; ts = strtok(NULL, ",")) {
            int th = atoi(ts);
            omp_set_num_threads(th);
            openblas_set_num_threads(th);
            char nl[128];
            snprintf(nl, sizeof nl, "%s", ivf ? nprobes : hnsw ? efs : "0");
            char *save;
            for (char *ns = strtok_r(nl, ",", &save); ns; ns = strtok_r(NULL, ",", &save)) {
                int np = atoi(ns);
                if ((np > 0 || k_factor > 0) &&
                    fs_index_set_search(ix, ivf ? np : 0, hnsw ? np : 0, k_factor, &e) != FS_OK)
                    fprintf(stderr, "bench_index: %s\n", e.msg);
                for (int i = 0; i < nq; i++) {
                    double t0 = fs_now();
                    fs_index_search(ix, q + (size_t)i * dim, 1, k, dist + (size_t)i * k,
                                    got + (size_t)i * k, &e);
                    lat[i] = fs_now() - t0;
                }
                qsort(lat, (size_t)nq, sizeof *lat, cmp_double);
                double tb = fs_now();
                fs_index_search(ix, q, nq, k, dist, got, &e);
                tb = fs_now() - tb;
                printf("%-28s %-7s %3d %6d %9.1f %9.1f %9.3f %10.3f %9.0f %9.4f %9.4f\n",
                       info.factory, faiss, th, np, build_s, (double)info.file_bytes / (double)n_faces,
                       1e3 * lat[nq / 2], 1e3 * lat[(size_t)(nq * 0.99)], nq / tb,
                       recall(got, gt, NULL, 0, nq, k), recall(got, gt, gtd, match, nq, k));
                fflush(stdout);
            }
        }
        fs_index_close(ix);
    }
    fs_db_close(db);
    free(qbuf);
    free(gt);
    free(gtd);
    free(got);
    free(dist);
    free(lat);
    return 0;
}
