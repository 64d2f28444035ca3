/*
 * facesearch eval enrol — named people on a folder-per-identity tree: K
 * photos enrol a person, their other photos and strangers' photos are
 * probes; every method of `facesearch label`, with and without augmentation
 * (the protocol and figures: fs_eval_enrol in src/eval/enrol.c).
 */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval_gallery.h"
#include "face_cli.h"
#include "facesearch/eval.h"
#include "facesearch/people.h"
#include "store_cli.h"

static void enrol_help(void)
{
    printf("usage: facesearch eval enrol --root DIR --shots K [--db DIR] [--method M]\n"
           "                             [--[no-]augment] [--variants LIST] [--seed S]\n"
           "                             [--json] [options]\n"
           "\n"
           "Named people on a folder-per-identity tree (DIR/<name>/<photo>), ingested\n"
           "as eval ident does.  Identities with more than K photos with a face are\n"
           "split in two halves (seeded): each of the first is enrolled from K random\n"
           "photos and its other photos are probes; every photo of the second half is\n"
           "a stranger's (an impostor probe).  Reports, for every method of facesearch\n"
           "label, with and without augmentation of the enrolment photos:\n"
           "  rank1              probes of enrolled people named right (closed set)\n"
           "  dir_at_far_1pct    named right and over the threshold that lets 1 %% of\n"
           "                     strangers' probes through (open set; also 0.1 %%)\n"
           "  unknown_rejection  strangers' probes rejected by the threshold label itself\n"
           "                     sets from the enrolled people at label.far\n"
           "The top-level figures are for --method and --augment (label.method,\n"
           "label.augment).  Figures are percentages.\n"
           "\n"
           "  --root DIR      the identity folders\n"
           "  --shots K       enrolment photos per person (1..100)\n"
           "  --db DIR        ingest into (and keep) this database instead of a temporary one\n"
           "  --method M      template, svm or softmax for the top-level figures\n"
           "  --augment       the top-level figures with augmentation (label.augment)\n"
           "  --no-augment    the top-level figures without\n"
           "  --seed S        the split and the photos chosen (default 1)\n"
           "  --variants LIST the augmentation variants trained on, comma-separated, of\n"
           "                  flip,rot+10,rot-10,half,blur,bright,dark (label.augment_variants)\n"
           "  --json          one JSON object: rank1, dir_at_far_1pct, dir_at_far_0_1pct,\n"
           "                  method, augment, methods[...], identities, probes, ...\n");
    face_cli_help_options(stdout);
}

typedef struct enrol_opts {
    gal_opts g;
    int shots;
    unsigned long long seed;
} enrol_opts;

static int enrol_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    enrol_opts *o = ctx;
    char *end;
    switch (c) {
    case 3001:
        o->shots = (int)strtol(arg, &end, 10);
        if (*end || o->shots < 1 || o->shots > 100)
            return cli_usage_error("eval enrol", "--shots takes 1..100, not '%s'", arg);
        return 0;
    case 3002: return cli_config_set(cfg, "label.method", arg, "--method");
    case 3003: return cli_config_set(cfg, "label.augment", "true", "--augment");
    case 3006: return cli_config_set(cfg, "label.augment", "false", "--no-augment");
    case 3005: return cli_config_set(cfg, "label.augment_variants", arg, "--variants");
    case 3004:
        o->seed = strtoull(arg, &end, 10);
        if (*end || !*arg)
            return cli_usage_error("eval enrol", "--seed takes a number, not '%s'", arg);
        return 0;
    }
    return gallery_flag(&o->g, cfg, c, arg);
}

/* Descriptors of every variant of the enrolment photos' faces (aug, n_aug of
 * each photo), one worker per thread.  Returns an exit code. */
static int augment_photos(fs_config *cfg, const tree *t, const uint8_t *enrol, unsigned variants,
                          float **aug, int *n_aug, double *secs)
{
    face_cli fc;
    int rc = store_cli_configure(cfg, t->mode);
    if (rc == EXIT_OK)
        rc = face_cli_start(&fc, cfg);
    if (rc != EXIT_OK)
        return rc;
    double t0 = fs_now();
    const int dim = t->dim;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        fs_worker *w = NULL;
        fs_error e = {0};
        if (fs_worker_create(fc.engine, &w, &e) != FS_OK)
            failed = 1;
#pragma omp for schedule(dynamic)
        for (size_t i = 0; i < t->n; i++) {
            if (!enrol[i] || failed)
                continue;
            fs_image img = {0};
            fs_error pe = {0};
            aug[i] = malloc(sizeof(float) * (size_t)dim * FS_AUG_COUNT);
            if (!aug[i] || cli_decode_file(t->p[i].path, &fc.dopts, &img, NULL, &pe) != FS_OK) {
                fs_image_free(&img);
                continue; /* no variants: trained on the photo alone */
            }
            for (int v = 1; v <= FS_AUG_COUNT; v++)
                if ((variants >> v & 1) && fs_augment_face(w, dim, &img, t->p[i].box, v,
                                    aug[i] + (size_t)n_aug[i] * dim, &pe) == FS_OK)
                    n_aug[i]++;
            fs_image_free(&img);
        }
        fs_worker_destroy(w);
    }
    face_cli_end(&fc);
    *secs = fs_now() - t0;
    if (failed) {
        cli_error("out of memory starting the augmentation workers");
        return EXIT_INTERNAL;
    }
    return EXIT_OK;
}

static void print_json_figures(const fs_enrol_result *r)
{
    printf("\"rank1\":%.3f,\"dir_at_far_1pct\":%.3f,\"dir_at_far_0_1pct\":%.3f,"
           "\"unknown_rejection\":%.3f,\"dir_at_calibrated\":%.3f,\"threshold\":%.5f,"
           "\"threshold_far_1pct\":%.5f,\"threshold_far_0_1pct\":%.5f,\"examples\":%zu,"
           "\"train_s\":%.3f",
           100 * r->rank1, 100 * r->dir_far_1pct, 100 * r->dir_far_0_1pct, 100 * r->rejection,
           100 * r->dir_calibrated, (double)r->threshold, (double)r->thr_1pct,
           (double)r->thr_0_1pct, r->examples, r->train_s);
}

int eval_enrol(int argc, char **argv)
{
    static const struct option own[] = {{"root", required_argument, 0, 'r'},
                                        {"db", required_argument, 0, 'd'},
                                        {"json", no_argument, 0, 'j'},
                                        {"shots", required_argument, 0, 3001},
                                        {"method", required_argument, 0, 3002},
                                        {"augment", no_argument, 0, 3003},
                                        {"no-augment", no_argument, 0, 3006},
                                        {"seed", required_argument, 0, 3004},
                                        {"variants", required_argument, 0, 3005},
                                        {0, 0, 0, 0}};
    enrol_opts o = {.g = {.reweight = -1}, .seed = 1};
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "eval enrol", enrol_help, own, enrol_flag, &o, &cfg);
    if (rc >= 0)
        return rc;
    if (!o.g.root || !o.shots || optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("eval enrol", optind < argc ? "unexpected argument"
                                             : !o.g.root ? "--root is required"
                                                         : "--shots is required");
    }
    fs_label_method main_method;
    fs_error e = {0};
    if (fs_label_method_parse(fs_config_str(cfg, "label.method"), &main_method, &e) != FS_OK) {
        fs_config_destroy(cfg);
        return cli_fail(&e);
    }
    const int main_aug = fs_config_bool(cfg, "label.augment");
    unsigned variants;
    if (fs_aug_parse(fs_config_str(cfg, "label.augment_variants"), &variants, &e) != FS_OK) {
        fs_config_destroy(cfg);
        return cli_fail(&e);
    }
    char dbdir[4200], rec[32];
    tree t;
    double ingest_s, aug_s = 0;
    if ((rc = gallery_prepare(&o.g, cfg, "eval enrol", dbdir, sizeof dbdir, &t, &ingest_s)) !=
        EXIT_OK) {
        gallery_remove_tmp(&o.g, dbdir);
        fs_config_destroy(cfg);
        return rc;
    }
    fs_eval_photo *ph = calloc(t.n + 1, sizeof *ph);
    float **aug = calloc(t.n + 1, sizeof *aug);
    int *n_aug = calloc(t.n + 1, sizeof *n_aug);
    uint8_t *enrol = calloc(t.n + 1, 1);
    fs_enrol_result res[6], *top = NULL;
    if (!ph || !aug || !n_aug || !enrol) {
        rc = EXIT_INTERNAL;
        goto out;
    }
    for (size_t i = 0; i < t.n; i++)
        ph[i] = (fs_eval_photo){t.p[i].label, t.p[i].has_face ? t.p[i].vec : NULL, NULL, 0};
    if (fs_eval_enrol_photos(ph, t.n, o.shots, o.seed, enrol, &e) != FS_OK ||
        (rc = augment_photos(cfg, &t, enrol, variants, aug, n_aug, &aug_s)) != EXIT_OK) {
        rc = rc != EXIT_OK ? rc : cli_fail(&e);
        goto out;
    }
    for (size_t i = 0; i < t.n; i++) {
        ph[i].aug = aug[i];
        ph[i].n_aug = n_aug[i];
    }
    fs_enrol_opts eo = {.shots = o.shots, .seed = o.seed, .far = fs_config_real(cfg, "label.far"),
                        .template_threshold = (float)cli_threshold(
                            cfg, "query", store_cli_recognizer(t.mode, rec, sizeof rec))};
    for (int m = 0; m < 3; m++)
        for (int a = 0; a < 2; a++) {
            eo.method = (fs_label_method)m;
            eo.augment = a;
            if (fs_eval_enrol(ph, t.n, t.dim, &eo, &res[m * 2 + a], &e) != FS_OK) {
                rc = cli_fail(&e);
                goto out;
            }
            if (m == (int)main_method && a == main_aug)
                top = &res[m * 2 + a];
        }
    if (o.g.json) {
        printf("{\"root\":");
        json_str(stdout, o.g.root);
        printf(",\"shots\":%d,\"seed\":%llu,\"identities\":%zu,\"enrolled\":%zu,"
               "\"mated_probes\":%zu,\"impostor_probes\":%zu,\"far\":%g,\"descriptor_mode\":",
               o.shots, o.seed, top->identities, top->enrolled, top->mated, top->impostor,
               eo.far);
        json_str(stdout, t.mode);
        printf(",\"method\":\"%s\",\"augment\":%s,", fs_label_method_name(main_method),
               main_aug ? "true" : "false");
        print_json_figures(top);
        printf(",\"methods\":[");
        for (int i = 0; i < 6; i++) {
            printf("%s{\"method\":\"%s\",\"augment\":%s,", i ? "," : "",
                   fs_label_method_name((fs_label_method)(i / 2)), i % 2 ? "true" : "false");
            print_json_figures(&res[i]);
            printf("}");
        }
        printf("],\"ingest_s\":%.1f,\"augment_s\":%.1f}\n", ingest_s, aug_s);
    } else {
        printf("eval enrol: %s, K = %d, seed %llu (%s)\n", o.g.root, o.shots, o.seed, t.mode);
        printf("%zu identities with more than %d photos: %zu enrolled; %zu probes of them, %zu "
               "of strangers\n",
               top->identities, o.shots, top->enrolled, top->mated, top->impostor);
        printf("%-9s %-7s %7s %10s %12s %10s %10s\n", "method", "augment", "rank-1",
               "DIR@FAR1%", "DIR@FAR0.1%", "rejection", "examples");
        for (int i = 0; i < 6; i++)
            printf("%-9s %-7s %6.2f%% %9.2f%% %11.2f%% %9.2f%% %10zu%s\n",
                   fs_label_method_name((fs_label_method)(i / 2)), i % 2 ? "yes" : "no",
                   100 * res[i].rank1, 100 * res[i].dir_far_1pct, 100 * res[i].dir_far_0_1pct,
                   100 * res[i].rejection, res[i].examples, &res[i] == top ? "  (default)" : "");
        printf("(rejection: strangers' probes below the threshold label sets at FAR %g; ingest "
               "%.1f s, augmentation %.1f s)\n",
               eo.far, ingest_s, aug_s);
    }
out:
    for (size_t i = 0; aug && i < t.n; i++)
        free(aug[i]);
    free(aug);
    free(n_aug);
    free(enrol);
    free(ph);
    gallery_free(&t);
    gallery_remove_tmp(&o.g, dbdir);
    fs_config_destroy(cfg);
    return rc;
}
