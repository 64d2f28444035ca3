/*
 * facesearch eval <kind> — accuracy on labelled benchmarks.
 *
 *   lfw     LFW face verification (10-fold accuracy, TAR at FAR = 1e-3)
 *   detect  detection recall of a detector set-up against the reference SSD
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "face_batch.h"
#include "face_cli.h"
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
        return cli_usage_error("eval", "no kind given (one of: lfw, detect)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help();
        return EXIT_OK;
    }
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(argv[1], kinds[i].name) == 0)
            return kinds[i].run(argc - 1, argv + 1);
    return cli_usage_error("eval", "unknown kind '%s' (one of: lfw, detect)", argv[1]);
}

/* The face of a photo an evaluator compares: the one whose box holds the
 * photo's centre (the largest if several), else the one whose centre is
 * nearest to it.  LFW photos are centred on their subject, so this is the
 * subject, not a bigger or more confident face of someone behind.  Faces
 * without a descriptor are skipped.  Returns its index or -1. */
static int central_face(const fs_face *f, int n, int width, int height)
{
    double cx = width / 2.0, cy = height / 2.0, best = INFINITY;
    int pick = -1, inside = 0;
    for (int i = 0; i < n; i++) {
        if ((f[i].flags & (FS_FACE_DESCRIPTOR | FS_FACE_EMPTY_CROP)) != FS_FACE_DESCRIPTOR)
            continue;
        int in = cx >= f[i].x && cx < f[i].x + f[i].w && cy >= f[i].y && cy < f[i].y + f[i].h;
        double key;
        if (in)
            key = -f[i].w * f[i].h; /* larger is better */
        else
            key = hypot(f[i].x + f[i].w / 2 - cx, f[i].y + f[i].h / 2 - cy);
        if ((in && !inside) || (in == inside && key < best)) {
            best = key;
            pick = i;
            inside = in;
        }
    }
    return pick;
}

/* ------------------------------------------------------------------ lfw */

enum { PHOTO_OK = 0, PHOTO_NO_FACE, PHOTO_UNREADABLE };

typedef struct lfw_ctx {
    char **photos;        /* distinct relative paths, sorted */
    size_t n_photos;
    float *desc;          /* [n_photos][128] */
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
    memcpy(c->desc + i * FS_DESCRIPTOR_DIM, faces[k].descriptor,
           FS_DESCRIPTOR_DIM * sizeof *c->desc);
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

typedef struct lfw_result {
    fs_kfold k;
    double tar;
    float far_thr;
    size_t no_face_pairs, unreadable_pairs, no_face_photos, unreadable_photos, fallback_photos;
} lfw_result;

static int write_report(const char *path, const fs_lfw_pairs *pairs, const float *dist)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("%s: cannot create the report", path);
        return EXIT_DATA;
    }
    fprintf(f, "fold\tsame\tdistance\ta\tb\n");
    for (size_t i = 0; i < pairs->n; i++)
        fprintf(f, "%d\t%d\t%.6f\t%s\t%s\n", pairs->pairs[i].fold, pairs->pairs[i].same,
                dist[i], pairs->pairs[i].a, pairs->pairs[i].b);
    if (fclose(f) != 0) {
        cli_error("%s: write error", path);
        return EXIT_DATA;
    }
    return 0;
}

static void lfw_print(const lfw_opts *o, const fs_lfw_pairs *pairs, const lfw_ctx *c,
                      const lfw_result *r, const fs_engine *e, double secs, int threads)
{
    const fs_engine_opts *eo = fs_engine_options(e);
    char det[96];
    snprintf(det, sizeof det, "%s %d%s%s%s", fs_detector_name(eo->detector), eo->input_size,
             eo->fit_input ? " fit" : "", eo->fallback ? " fallback" : "",
             eo->tile_size ? " tiles" : "");
    if (o->json) {
        printf("{\"accuracy\":%.4f,\"std\":%.4f,\"threshold\":%.6f,\"tar_at_far_1e-3\":%.4f,"
               "\"threshold_at_far_1e-3\":%.6f,\"pairs\":%zu,\"no_face_pairs\":%zu,"
               "\"unreadable_pairs\":%zu,\"folds\":%d,\"folds_from\":\"%s\",\"photos\":%zu,"
               "\"no_face_photos\":%zu,\"unreadable_photos\":%zu,\"fallback_photos\":%zu,"
               "\"descriptor_mode\":\"%s\",\"detector\":\"%s\",\"model\":\"%s\","
               "\"seconds\":%.1f,\"threads\":%d}\n",
               100 * r->k.accuracy, 100 * r->k.std, r->k.threshold, 100 * r->tar, r->far_thr,
               pairs->n, r->no_face_pairs, r->unreadable_pairs, r->k.folds, pairs->fold_source,
               c->n_photos, r->no_face_photos, r->unreadable_photos, r->fallback_photos,
               fs_engine_descriptor_mode(e), det, fs_engine_model_id(e), secs, threads);
        return;
    }
    printf("LFW verification: %zu pairs, %d folds (%s), %zu photos\n", pairs->n, r->k.folds,
           strcmp(pairs->fold_source, "even") == 0 ? "even split" : "LFW's own",
           c->n_photos);
    printf("accuracy   %.2f %% +- %.2f  (threshold %.4f: mean of the per-fold thresholds)\n",
           100 * r->k.accuracy, 100 * r->k.std, r->k.threshold);
    printf("TAR        %.2f %% at FAR 1e-3  (threshold %.4f)\n", 100 * r->tar, r->far_thr);
    printf("no face    %zu pairs (%zu photos), counted as errors\n", r->no_face_pairs,
           r->no_face_photos);
    if (r->unreadable_photos)
        printf("unreadable %zu pairs (%zu photos), counted as errors\n", r->unreadable_pairs,
               r->unreadable_photos);
    printf("fallback   %zu photos' faces found by the tight-crop fallback\n",
           r->fallback_photos);
    printf("set-up     descriptor %s, detector %s; %.0f s on %d threads (%.1f photos/s)\n",
           fs_engine_descriptor_mode(e), det, secs, threads, secs > 0 ? c->n_photos / secs : 0);
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
    if (!rc && fs_engine_create(fs_config_str(cfg, "paths.models"), &eo, &engine, &e) != FS_OK)
        rc = cli_fail(&e);
    b.threads = (int)fs_config_int(cfg, "run.threads");
    fs_config_destroy(cfg);
    lfw_ctx *c = calloc(1, sizeof *c);
    float *dist = malloc(pairs.n * sizeof *dist);
    int *same = malloc(pairs.n * sizeof *same), *fold = malloc(pairs.n * sizeof *fold);
    if (!rc && (!c || !dist || !same || !fold || distinct_photos(&pairs, c) != 0 ||
                !(c->desc = malloc(c->n_photos * FS_DESCRIPTOR_DIM * sizeof *c->desc)) ||
                !(c->status = calloc(c->n_photos, sizeof *c->status)) ||
                !(c->fallback = calloc(c->n_photos, sizeof *c->fallback)))) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
    }
    double secs = 0;
    if (!rc) {
        b.root = o.root;
        b.paths = (const char *const *)c->photos;
        b.engine = engine;
        b.stages = FS_STAGE_ALL;
        b.label = "eval lfw";
        b.n = c->n_photos;
        b.done = lfw_done;
        b.ctx = c;
        rc = face_batch_run(&b, &secs);
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
            dist[i] = sa || sb ? NAN
                               : fs_descriptor_distance(c->desc + a * FS_DESCRIPTOR_DIM,
                                                        c->desc + bb * FS_DESCRIPTOR_DIM);
            r.unreadable_pairs += sa == PHOTO_UNREADABLE || sb == PHOTO_UNREADABLE;
            r.no_face_pairs += (sa || sb) && sa != PHOTO_UNREADABLE && sb != PHOTO_UNREADABLE;
        }
        if (fs_eval_kfold_folds(dist, same, fold, pairs.n, pairs.folds, &r.k) != 0) {
            cli_error("%s: cannot split %zu pairs into %d folds", o.pairs, pairs.n, pairs.folds);
            rc = EXIT_DATA;
        }
        r.tar = fs_eval_tar_at_far(dist, same, pairs.n, 1e-3, &r.far_thr);
    }
    if (!rc && o.report)
        rc = write_report(o.report, &pairs, dist);
    if (!rc)
        lfw_print(&o, &pairs, c, &r, engine, secs,
                  b.threads > 0 ? b.threads : omp_get_max_threads());
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

static int eval_detect(int argc, char **argv)
{
    return cli_usage_error("eval detect", "not yet");
}
