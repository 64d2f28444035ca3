/*
 * facesearch eval <kind> — accuracy on labelled benchmarks.
 *
 *   lfw     LFW face verification (10-fold accuracy, TAR at FAR = 1e-3)
 *   detect  detection recall of a detector set-up against the reference SSD
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "commands.h"
#include "face_batch.h"
#include "facesearch/scan.h"
#include "face_cli.h"
#include "eval_gallery.h"
#include "facesearch/eval.h"

typedef struct eval_kind {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} eval_kind;

static int eval_lfw(int argc, char **argv);
static int eval_detect(int argc, char **argv);

static const eval_kind kinds[] = {
    {"lfw", eval_lfw, "LFW verification: 10-fold accuracy, TAR at FAR=1e-3, no-face pairs"},
    {"detect", eval_detect, "faces found by a detector set-up vs the reference SSD (recall)"},
    {"ident", eval_ident, "identification on identity folders: rank-1/5, TPIR at FPIR 1 %"},
    {"cluster", eval_cluster, "dedup clustering vs identity folders: pairwise P/R/F1"},
    {"enrol", eval_enrol, "named people: K-shot enrolment, rank-1, open-set DIR at FAR"},
};
#define N_KINDS (int)(sizeof kinds / sizeof kinds[0])

static void help(void)
{
    printf("usage: facesearch eval <kind> [options]\n"
           "\n"
           "Measures accuracy on labelled data.  Kinds:\n");
    for (int i = 0; i < N_KINDS; i++)
        printf("  %-8s %s\n", kinds[i].name, kinds[i].summary);
    printf("\n'facesearch eval <kind> --help' describes one.\n");
}

int cmd_eval(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("eval", "no kind given (one of: lfw, detect, ident, cluster, enrol)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help();
        return EXIT_OK;
    }
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(argv[1], kinds[i].name) == 0)
            return kinds[i].run(argc - 1, argv + 1);
    return cli_usage_error("eval", "unknown kind '%s' (one of: lfw, detect, ident, cluster, enrol)", argv[1]);
}

/* The face of a photo an evaluator compares: fs_face_central among the
 * faces that have a descriptor (LFW photos are centred on their subject, so
 * this is the subject, not a bigger or more confident face of someone
 * behind).  Returns its index or -1. */
static int central_face(const fs_face *f, int n, int width, int height)
{
    float box[FS_MAX_EVAL_FACES][4];
    int idx[FS_MAX_EVAL_FACES], m = 0;
    for (int i = 0; i < n && m < FS_MAX_EVAL_FACES; i++) {
        if ((f[i].flags & (FS_FACE_DESCRIPTOR | FS_FACE_EMPTY_CROP)) != FS_FACE_DESCRIPTOR)
            continue;
        box[m][0] = f[i].x, box[m][1] = f[i].y, box[m][2] = f[i].w, box[m][3] = f[i].h;
        idx[m++] = i;
    }
    int k = fs_face_central((const float (*)[4])box, m, width, height);
    return k < 0 ? -1 : idx[k];
}

/* ------------------------------------------------------------------ lfw */

enum { PHOTO_OK = 0, PHOTO_NO_FACE, PHOTO_UNREADABLE };

typedef struct lfw_ctx {
    char **photos;        /* distinct relative paths, sorted */
    size_t n_photos;
    float *desc;          /* [n_photos][dim] */
    int dim;
    int *status, *fallback;
    size_t unreadable_shown;
} lfw_ctx;

static void lfw_done(void *ctx, size_t i, const fs_image *img, const fs_face *faces, int n,
                     const fs_error *err)
{
    lfw_ctx *c = ctx;
    if (!img) {
        c->status[i] = PHOTO_UNREADABLE;
#pragma omp critical(eval_report)
        if (c->unreadable_shown++ < 10)
            cli_error("%s", err->msg);
        return;
    }
    int k = central_face(faces, n, img->width, img->height);
    if (k < 0) {
        c->status[i] = PHOTO_NO_FACE;
        return;
    }
    memcpy(c->desc + i * c->dim, faces[k].descriptor, (size_t)c->dim * sizeof *c->desc);
    c->fallback[i] = (faces[k].flags & FS_FACE_FALLBACK) != 0;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t photo_index(const lfw_ctx *c, const char *p)
{
    char *const *hit = bsearch(&p, c->photos, c->n_photos, sizeof *c->photos, by_str);
    return (size_t)(hit - c->photos);
}

/* The distinct photos of the pairs, sorted.  Returns 0 or -1 (memory). */
static int distinct_photos(const fs_lfw_pairs *pairs, lfw_ctx *c)
{
    char **all = malloc(2 * pairs->n * sizeof *all);
    if (!all)
        return -1;
    for (size_t i = 0; i < pairs->n; i++) {
        all[2 * i] = pairs->pairs[i].a;
        all[2 * i + 1] = pairs->pairs[i].b;
    }
    qsort(all, 2 * pairs->n, sizeof *all, by_str);
    size_t m = 0;
    for (size_t i = 0; i < 2 * pairs->n; i++)
        if (m == 0 || strcmp(all[m - 1], all[i]) != 0)
            all[m++] = all[i];
    c->photos = all;
    c->n_photos = m;
    return 0;
}

typedef struct lfw_opts {
    const char *root, *pairs, *report;
    int json;
} lfw_opts;

static void lfw_help(void)
{
    printf("usage: facesearch eval lfw --root DIR --pairs FILE [--json] [options]\n"
           "\n"
           "Face verification on LFW (or a subset such as LFW A-M): embeds every photo the\n"
           "pairs file names (DIR/<Name>/<Name>_<NNNN>.jpg), compares the central face of\n"
           "each pair, and prints the 10-fold accuracy +- its standard deviation over the\n"
           "folds (each fold's threshold chosen on the other nine), the mean of those\n"
           "thresholds, and the true accept rate at a false accept rate of 1e-3.  A pair\n"
           "with a photo where no face was found (or that cannot be read) counts as an\n"
           "error, never skipped.\n"
           "\n"
           "Pairs file: LFW's pairs.txt, with or without its 'folds pairs' header line;\n"
           "'Name i j' = same person, 'Name1 i Name2 j' = different people.  Folds are\n"
           "LFW's own (a fold starts where a same-person line follows different-person\n"
           "ones), so no person is in a fold and in its training folds.\n"
           "\n"
           "  --root DIR           LFW image root\n"
           "  --pairs FILE         pairs file\n"
           "  --json               one JSON object: accuracy, std, tar_at_far_1e-3 (all in\n"
           "                       percent), threshold, threshold_at_far_1e-3, pairs,\n"
           "                       no_face_pairs, unreadable_pairs, folds, photos,\n"
           "                       no_face_photos, fallback_photos, descriptor_mode, ...\n"
           "  --report FILE        also write every pair as TSV: fold, same, distance,\n"
           "                       photo a, photo b (distance 'nan' = no face)\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 evaluated, 2 the pairs file or the models could not be read (or no\n"
           "photo could), 1 usage error, 3 internal error.\n");
}

static int lfw_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    lfw_opts *o = ctx;
    switch (c) {
    case 'r': o->root = arg; break;
    case 'p': o->pairs = arg; break;
    case 'j': o->json = 1; break;
    case 'R': o->report = arg; break;
    }
    return 0;
}

#define SWEEP 11 /* fusion weights 0, 0.1, ..., 1 */

typedef struct lfw_result {
    fs_kfold k;
    double tar;
    float far_thr;
    size_t no_face_pairs, unreadable_pairs, no_face_photos, unreadable_photos, fallback_photos;
    int swept;                 /* the fusion's weights were swept */
    double sweep_acc[SWEEP], sweep_tar[SWEEP], sweep_thr[SWEEP], sweep_far_thr[SWEEP];
} lfw_result;

/* Cosine distances of every pair of descriptors desc (n_photos x dim);
 * NaN where a photo has no face. */
static void lfw_distances(const lfw_ctx *c, const float *desc, const fs_lfw_pairs *pairs,
                          float *dist)
{
    for (size_t i = 0; i < pairs->n; i++) {
        size_t a = photo_index(c, pairs->pairs[i].a), b = photo_index(c, pairs->pairs[i].b);
        dist[i] = c->status[a] || c->status[b]
                      ? NAN
                      : 1.0f - fs_descriptor_similarity(desc + a * c->dim, desc + b * c->dim,
                                                        c->dim);
    }
}

static int write_report(const char *path, const fs_lfw_pairs *pairs, const float *dist)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("%s: cannot create the report", path);
        return EXIT_DATA;
    }
    fprintf(f, "fold\tsame\tsimilarity\ta\tb\n");
    for (size_t i = 0; i < pairs->n; i++)
        fprintf(f, "%d\t%d\t%.6f\t%s\t%s\n", pairs->pairs[i].fold, pairs->pairs[i].same,
                1.0 - dist[i], pairs->pairs[i].a, pairs->pairs[i].b);
    if (fclose(f) != 0) {
        cli_error("%s: write error", path);
        return EXIT_DATA;
    }
    return 0;
}

/* "ssd 512 fit fallback": the detector set-up in a few words. */
static void det_name(const fs_engine_opts *o, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %d%s%s%s", fs_detector_name(o->detector),
             o->input_size ? o->input_size : o->detector == FS_DETECTOR_SSD ? 512 : 416,
             o->fit_input ? " fit" : "", o->fallback ? " fallback" : "",
             o->tile_size ? " tiles" : "");
}

static void lfw_print(const lfw_opts *o, const fs_lfw_pairs *pairs, const lfw_ctx *c,
                      const lfw_result *r, const fs_engine *e, double secs, int threads)
{
    char det[96];
    det_name(fs_engine_options(e), det, sizeof det);
    if (o->json) {
        printf("{\"accuracy\":%.4f,\"std\":%.4f,\"threshold\":%.6f,\"tar_at_far_1e-3\":%.4f,"
               "\"threshold_at_far_1e-3\":%.6f,\"pairs\":%zu,\"no_face_pairs\":%zu,"
               "\"unreadable_pairs\":%zu,\"folds\":%d,\"folds_from\":\"%s\",\"photos\":%zu,"
               "\"no_face_photos\":%zu,\"unreadable_photos\":%zu,\"fallback_photos\":%zu,"
               "\"descriptor_mode\":\"%s\",\"detector\":\"%s\",\"model\":\"%s\","
               "\"precision\":\"%s\",\"seconds\":%.1f,\"threads\":%d,\"recognizer\":\"%s\","
               "\"metric\":\"cosine\"",
               100 * r->k.accuracy, 100 * r->k.std, 1 - r->k.threshold, 100 * r->tar,
               1 - r->far_thr,
               pairs->n, r->no_face_pairs, r->unreadable_pairs, r->k.folds, pairs->fold_source,
               c->n_photos, r->no_face_photos, r->unreadable_photos, r->fallback_photos,
               fs_engine_descriptor_mode(e), det, fs_engine_model_id(e),
               fs_precision_name(fs_engine_precision(e)), secs, threads,
               fs_recognizer_name(fs_engine_options(e)->recognizer));
        if (r->swept) {
            printf(",\"fusion_sweep\":[");
            for (int k = 0; k < SWEEP; k++)
                printf("%s{\"weight\":%.1f,\"accuracy\":%.4f,\"tar_at_far_1e-3\":%.4f,"
                       "\"threshold\":%.6f,\"threshold_at_far_1e-3\":%.6f}",
                       k ? "," : "", k / 10.0, 100 * r->sweep_acc[k], 100 * r->sweep_tar[k],
                       r->sweep_thr[k], r->sweep_far_thr[k]);
            printf("]");
        }
        printf("}\n");
        return;
    }
    printf("LFW verification: %zu pairs, %d folds (%s), %zu photos\n", pairs->n, r->k.folds,
           strcmp(pairs->fold_source, "even") == 0 ? "even split" : "LFW's own",
           c->n_photos);
    printf("accuracy   %.2f %% +- %.2f  (cosine similarity threshold %.4f: mean of the "
           "per-fold thresholds)\n",
           100 * r->k.accuracy, 100 * r->k.std, 1 - r->k.threshold);
    printf("TAR        %.2f %% at FAR 1e-3  (threshold %.4f)\n", 100 * r->tar, 1 - r->far_thr);
    for (int k = 0; r->swept && k < SWEEP; k++)
        printf("fusion     weight %.1f: accuracy %.2f %%, TAR %.2f %% at FAR 1e-3\n", k / 10.0,
               100 * r->sweep_acc[k], 100 * r->sweep_tar[k]);
    printf("no face    %zu pairs (%zu photos), counted as errors\n", r->no_face_pairs,
           r->no_face_photos);
    if (r->unreadable_photos)
        printf("unreadable %zu pairs (%zu photos), counted as errors\n", r->unreadable_pairs,
               r->unreadable_photos);
    printf("fallback   %zu photos' faces found by the tight-crop fallback\n",
           r->fallback_photos);
    printf("set-up     descriptor %s, detector %s, %s; %.0f s on %d thread%s (%.1f photos/s)\n",
           fs_engine_descriptor_mode(e), det, fs_precision_name(fs_engine_precision(e)), secs,
           threads, threads == 1 ? "" : "s",
           secs > 0 ? c->n_photos / secs : 0);
}

static int eval_lfw(int argc, char **argv)
{
    static const struct option own[] = {{"root", required_argument, 0, 'r'},
                                        {"pairs", required_argument, 0, 'p'},
                                        {"json", no_argument, 0, 'j'},
                                        {"report", required_argument, 0, 'R'},
                                        {0, 0, 0, 0}};
    lfw_opts o = {0};
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "eval lfw", lfw_help, own, lfw_flag, &o, &cfg);
    if (rc >= 0)
        return rc;
    if (!o.root || !o.pairs || optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("eval lfw", optind < argc ? "unexpected argument '%s'"
                                                         : "--root and --pairs are required%s",
                               optind < argc ? argv[optind] : "");
    }
    fs_error e = {0};
    fs_lfw_pairs pairs;
    if (fs_lfw_pairs_load(o.pairs, &pairs, &e) != FS_OK) {
        fs_config_destroy(cfg);
        return cli_fail(&e);
    }
    fs_engine_opts eo;
    face_batch b = {0};
    rc = face_cli_options(cfg, &eo, &b.decode);
    fs_engine *engine = NULL;
    if (!rc && cli_engine_create(cfg, &eo, &engine, &e) != FS_OK)
        rc = cli_fail(&e);
    b.threads = (int)fs_config_int(cfg, "run.threads");
    fs_config_destroy(cfg);
    lfw_ctx *c = calloc(1, sizeof *c);
    if (c && engine)
        c->dim = fs_engine_descriptor_dim(engine);
    float *dist = malloc(pairs.n * sizeof *dist);
    int *same = malloc(pairs.n * sizeof *same), *fold = malloc(pairs.n * sizeof *fold);
    if (!rc && (!c || !dist || !same || !fold || distinct_photos(&pairs, c) != 0 ||
                !(c->desc = malloc(c->n_photos * (size_t)c->dim * sizeof *c->desc)) ||
                !(c->status = calloc(c->n_photos, sizeof *c->status)) ||
                !(c->fallback = calloc(c->n_photos, sizeof *c->fallback)))) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
    }
    double secs = 0;
    int threads = 1;
    if (!rc) {
        b.root = o.root;
        b.paths = (const char *const *)c->photos;
        b.engine = engine;
        b.stages = FS_STAGE_ALL;
        b.label = "eval lfw";
        b.n = c->n_photos;
        b.done = lfw_done;
        b.ctx = c;
        rc = face_batch_run(&b, &secs, &threads);
    }
    lfw_result r = {0};
    if (!rc) {
        for (size_t i = 0; i < c->n_photos; i++) {
            r.no_face_photos += c->status[i] == PHOTO_NO_FACE;
            r.unreadable_photos += c->status[i] == PHOTO_UNREADABLE;
            r.fallback_photos += c->fallback[i];
        }
        if (r.unreadable_photos == c->n_photos) {
            cli_error("%s: no photo of the pairs could be read (is --root right?)", o.root);
            rc = EXIT_DATA;
        }
    }
    if (!rc) {
        for (size_t i = 0; i < pairs.n; i++) {
            size_t a = photo_index(c, pairs.pairs[i].a), bb = photo_index(c, pairs.pairs[i].b);
            int sa = c->status[a], sb = c->status[bb];
            same[i] = pairs.pairs[i].same;
            fold[i] = pairs.pairs[i].fold;
            r.unreadable_pairs += sa == PHOTO_UNREADABLE || sb == PHOTO_UNREADABLE;
            r.no_face_pairs += (sa || sb) && sa != PHOTO_UNREADABLE && sb != PHOTO_UNREADABLE;
        }
        /* A fusion engine: every weight from the same descriptors, each
         * re-weighted copy scored like the real thing. */
        const fs_engine_opts *eopt = fs_engine_options(engine);
        const size_t all = c->n_photos * (size_t)c->dim;
        float *rw = eopt->recognizer == FS_REC_FUSION ? malloc(all * sizeof *rw) : NULL;
        for (int k = 0; rw && k < SWEEP; k++) {
            fs_kfold kf;
            memcpy(rw, c->desc, all * sizeof *rw);
            for (size_t i = 0; i < c->n_photos; i++)
                fs_fusion_reweight(rw + i * c->dim, eopt->fusion_weight, k / 10.0);
            lfw_distances(c, rw, &pairs, dist);
            if (fs_eval_kfold_folds(dist, same, fold, pairs.n, pairs.folds, &kf) == 0) {
                float ft;
                r.sweep_acc[k] = kf.accuracy;
                r.sweep_tar[k] = fs_eval_tar_at_far(dist, same, pairs.n, 1e-3, &ft);
                r.sweep_thr[k] = 1 - kf.threshold;
                r.sweep_far_thr[k] = 1 - ft;
                r.swept = 1;
            }
        }
        free(rw);
        lfw_distances(c, c->desc, &pairs, dist);
        if (fs_eval_kfold_folds(dist, same, fold, pairs.n, pairs.folds, &r.k) != 0) {
            cli_error("%s: cannot split %zu pairs into %d folds", o.pairs, pairs.n, pairs.folds);
            rc = EXIT_DATA;
        }
        r.tar = fs_eval_tar_at_far(dist, same, pairs.n, 1e-3, &r.far_thr);
    }
    if (!rc && o.report)
        rc = write_report(o.report, &pairs, dist);
    if (!rc)
        lfw_print(&o, &pairs, c, &r, engine, secs, threads);
    if (c) {
        free(c->photos);
        free(c->desc);
        free(c->status);
        free(c->fallback);
        free(c);
    }
    free(dist);
    free(same);
    free(fold);
    fs_lfw_pairs_free(&pairs);
    fs_engine_destroy(engine);
    return rc;
}

/* --------------------------------------------------------------- detect */

typedef float box[4]; /* x, y, w, h */

typedef struct det_set {
    box *boxes;         /* grow-only, all photos */
    size_t n, cap;
    size_t *first;      /* [n_photos + 1] after assembling; per photo: count */
    int *count;
    int *bad;           /* unreadable */
    box **per;          /* per photo, malloc'ed */
} det_set;

static void det_done(void *ctx, size_t i, const fs_image *img, const fs_face *faces, int n,
                     const fs_error *err)
{
    det_set *d = ctx;
    if (!img) {
        d->bad[i] = 1;
#pragma omp critical(eval_report)
        cli_error("%s", err->msg);
        return;
    }
    d->count[i] = n;
    d->per[i] = n ? malloc((size_t)n * sizeof **d->per) : NULL;
    if (n && !d->per[i]) {
        d->bad[i] = 1;
        return;
    }
    for (int k = 0; k < n; k++) {
        float *b = d->per[i][k];
        b[0] = (float)faces[k].x;
        b[1] = (float)faces[k].y;
        b[2] = (float)faces[k].w;
        b[3] = (float)faces[k].h;
    }
}

/* Photos named on the command line: files as given, directories walked
 * recursively for photo extensions (FS_SCAN_EXTENSIONS, sorted).  Returns 0 or an exit code. */
typedef struct photo_list {
    char **p;
    size_t n, cap;
} photo_list;

static int add_photo(photo_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **np = realloc(l->p, cap * sizeof *np);
        if (!np)
            return -1;
        l->p = np;
        l->cap = cap;
    }
    return (l->p[l->n] = strdup(path)) ? (int)++l->n * 0 : -1;
}

static int walk(photo_list *l, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("%s: cannot open directory: %s", dir, strerror(errno));
        return EXIT_DATA;
    }
    size_t from = l->n;
    int rc = 0;
    struct dirent *de;
    char path[8192];
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 32)
            rc = walk(l, path, depth + 1);
        else if (S_ISREG(st.st_mode) && fs_scan_is_photo_name(de->d_name, NULL) && add_photo(l, path))
            rc = EXIT_INTERNAL;
    }
    closedir(d);
    qsort(l->p + from, l->n - from, sizeof *l->p, by_str);
    return rc;
}

static void detect_help(void)
{
    printf("usage: facesearch eval detect [--json] [--per-photo] [--iou T] [--baseline KIND]\n"
           "                              [options] PHOTO|DIR...\n"
           "\n"
           "Runs two detector set-ups over the photos (directories are walked for .jpg,\n"
           ".jpeg and .png) and reports the recall of the tested set-up -- the one the\n"
           "options describe, e.g. --detector tiny -- against the baseline: the share of\n"
           "the baseline's faces it also finds (boxes matched one to one at IoU >= T),\n"
           "the faces it finds that the baseline lacks, photos without a face, and time.\n"
           "\n"
           "  --baseline KIND      reference: face-api's SSD pipeline exactly (default);\n"
           "                       ssd: the SSD with this run's other detection options\n"
           "  --iou T              match threshold (0.3: the tiny detector's boxes are\n"
           "                       larger than the SSD's, IoU 0.4-0.6 on the same face)\n"
           "  --json               one JSON object: photos, baseline_faces, faces, matched,\n"
           "                       recall (percent), extra, no_face_photos,\n"
           "                       baseline_no_face_photos, seconds, baseline_seconds\n"
           "  --per-photo          a TSV line per photo: path, baseline faces, faces, matched\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 evaluated, 2 a photo or directory could not be read, 1 usage error,\n"
           "3 internal error.\n");
}

typedef struct detect_opts {
    int json, per_photo, ssd_baseline;
    double iou;
} detect_opts;

static int detect_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    detect_opts *o = ctx;
    char *end;
    switch (c) {
    case 'j': o->json = 1; break;
    case 'p': o->per_photo = 1; break;
    case 'b':
        if (strcmp(arg, "reference") != 0 && strcmp(arg, "ssd") != 0)
            return cli_usage_error("eval detect", "--baseline: '%s' is not reference or ssd", arg);
        o->ssd_baseline = strcmp(arg, "ssd") == 0;
        break;
    case 'i':
        o->iou = strtod(arg, &end);
        if (*end || end == arg || !(o->iou > 0 && o->iou <= 1))
            return cli_usage_error("eval detect", "--iou: '%s' is not in (0, 1]", arg);
        break;
    }
    return 0;
}

static void det_set_free(det_set *d, size_t n)
{
    for (size_t i = 0; d->per && i < n; i++)
        free(d->per[i]);
    free(d->per);
    free(d->count);
    free(d->bad);
}

/* Runs one engine over the photos into d.  Returns 0 or an exit code. */
static int detect_all(const fs_engine_opts *eo, const char *models, face_batch *b, det_set *d,
                      double *secs)
{
    fs_error e = {0};
    fs_engine *engine = NULL;
    if (fs_engine_create(models, eo, &engine, &e) != FS_OK)
        return cli_fail(&e);
    d->per = calloc(b->n, sizeof *d->per);
    d->count = calloc(b->n, sizeof *d->count);
    d->bad = calloc(b->n, sizeof *d->bad);
    int rc = 0;
    if (!d->per || !d->count || !d->bad) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
    }
    if (!rc) {
        b->engine = engine;
        b->ctx = d;
        rc = face_batch_run(b, secs, NULL);
    }
    fs_engine_destroy(engine);
    return rc;
}


static int eval_detect(int argc, char **argv)
{
    static const struct option own[] = {{"json", no_argument, 0, 'j'},
                                        {"per-photo", no_argument, 0, 'p'},
                                        {"baseline", required_argument, 0, 'b'},
                                        {"iou", required_argument, 0, 'i'},
                                        {0, 0, 0, 0}};
    detect_opts o = {0, 0, 0, 0.3};
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "eval detect", detect_help, own, detect_flag, &o, &cfg);
    if (rc >= 0)
        return rc;
    if (optind >= argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("eval detect", "no photo or directory given");
    }
    rc = 0;
    photo_list l = {0};
    for (int i = optind; !rc && i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            rc = walk(&l, argv[i], 0);
        else if (add_photo(&l, argv[i]))
            rc = EXIT_INTERNAL;
    }
    fs_engine_opts test, base;
    face_batch b = {0};
    if (!rc)
        rc = face_cli_options(cfg, &test, &b.decode);
    char models[4096];
    snprintf(models, sizeof models, "%s", fs_config_str(cfg, "paths.models"));
    b.threads = (int)fs_config_int(cfg, "run.threads");
    fs_config_destroy(cfg);
    if (!rc && l.n == 0) {
        cli_error("no photo found");
        rc = EXIT_DATA;
    }
    fs_engine_opts_init(&base);
    if (o.ssd_baseline) {
        base = test;
        base.detector = FS_DETECTOR_SSD;
        base.input_size = 0;
    }
    base.min_score = test.min_score;
    base.max_faces = test.max_faces;
    det_set bd = {0}, td = {0};
    double bsecs = 0, tsecs = 0;
    b.paths = (const char *const *)l.p;
    b.n = l.n;
    b.stages = FS_STAGE_DETECT;
    b.done = det_done;
    if (!rc) {
        b.label = "eval detect (baseline)";
        rc = detect_all(&base, models, &b, &bd, &bsecs);
    }
    if (!rc) {
        b.label = "eval detect (tested)";
        rc = detect_all(&test, models, &b, &td, &tsecs);
    }
    size_t nb = 0, nt = 0, matched = 0, bnone = 0, tnone = 0, bad = 0;
    for (size_t i = 0; !rc && i < l.n; i++) {
        if (bd.bad[i] || td.bad[i]) {
            bad++;
            continue;
        }
        int m = fs_eval_match_boxes((const box *)bd.per[i], bd.count[i], (const box *)td.per[i],
                                    td.count[i], o.iou);
        if (m < 0) {
            rc = EXIT_INTERNAL;
            break;
        }
        nb += (size_t)bd.count[i];
        nt += (size_t)td.count[i];
        matched += (size_t)m;
        bnone += bd.count[i] == 0;
        tnone += td.count[i] == 0;
        if (o.per_photo)
            printf("%s\t%d\t%d\t%d\n", l.p[i], bd.count[i], td.count[i], m);
    }
    if (!rc) {
        char bn[96], tn[96];
        det_name(&base, bn, sizeof bn);
        det_name(&test, tn, sizeof tn);
        double recall = nb ? 100.0 * matched / nb : 100.0;
        if (o.json)
            printf("{\"photos\":%zu,\"unreadable_photos\":%zu,\"baseline\":\"%s\","
                   "\"detector\":\"%s\",\"iou\":%g,\"baseline_faces\":%zu,\"faces\":%zu,"
                   "\"matched\":%zu,\"recall\":%.2f,\"extra\":%zu,"
                   "\"baseline_no_face_photos\":%zu,\"no_face_photos\":%zu,"
                   "\"baseline_seconds\":%.2f,\"seconds\":%.2f}\n",
                   l.n - bad, bad, bn, tn, o.iou, nb, nt, matched, recall, nt - matched, bnone,
                   tnone, bsecs, tsecs);
        else
            printf("detection: %zu photos%s\n"
                   "baseline  %-24s %zu faces, %zu photos without one, %.1f s\n"
                   "tested    %-24s %zu faces, %zu photos without one, %.1f s (%.2fx the "
                   "baseline's time)\n"
                   "recall    %.2f %% (%zu of the baseline's faces matched at IoU >= %g); %zu "
                   "found that the baseline lacks\n",
                   l.n - bad, bad ? " (some unreadable, left out)" : "", bn, nb, bnone, bsecs, tn,
                   nt, tnone, tsecs, bsecs > 0 ? tsecs / bsecs : 0, recall, matched, o.iou,
                   nt - matched);
        if (bad)
            rc = EXIT_DATA;
    }
    det_set_free(&bd, l.n);
    det_set_free(&td, l.n);
    for (size_t i = 0; i < l.n; i++)
        free(l.p[i]);
    free(l.p);
    return rc;
}
