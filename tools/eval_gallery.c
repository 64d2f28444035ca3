/*
 * facesearch eval ident / eval cluster — identification and clustering on a
 * folder-per-identity tree, through the whole pipeline: ingest into a
 * database (a temporary one unless --db is given), build, search.
 *
 * Each photo is represented by its central face (the subject of a
 * single-subject photo, as for LFW: fs_face_central); a photo where no face
 * was found keeps its label and counts against the result.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "eval_gallery.h"
#include "face_cli.h"
#include "facesearch/cluster.h"
#include "facesearch/eval.h"
#include "facesearch/index.h"
#include "facesearch/ingest.h"
#include "facesearch/scan.h"
#include "facesearch/store.h"
#include "store_cli.h"

int gallery_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    gal_opts *o = ctx;
    switch (c) {
    case 'r': o->root = arg; return 0;
    case 'd': o->db = arg; return 0;
    case 'j': o->json = 1; return 0;
    case 't': return cli_config_set(cfg, "dedup.threshold", arg, "--threshold");
    case 'w': {
        char *end;
        o->reweight = strtod(arg, &end);
        if (*end || !(o->reweight >= 0 && o->reweight <= 1))
            return cli_usage_error("eval", "--reweight takes a weight from 0 to 1");
        return 0;
    }
    case 'p':
        if (strcmp(arg, "archive") && strcmp(arg, "single"))
            return cli_usage_error("eval ident", "--protocol is archive or single, not '%s'", arg);
        o->single = strcmp(arg, "single") == 0;
        return 0;
    }
    return EXIT_USAGE;
}

/* The identity folder of a path under root: the first component after it. */
static int folder_of(const char *root, const char *path, char *out, size_t cap)
{
    size_t l = strlen(root);
    if (strncmp(path, root, l) != 0 || path[l] != '/')
        return -1;
    const char *s = path + l + 1, *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= cap)
        return -1;
    memcpy(out, s, (size_t)(slash - s));
    out[slash - s] = '\0';
    return 0;
}

static int collect(void *ctx, const fs_image_rec *img)
{
    tree *t = ctx;
    char name[1024];
    if (folder_of(t->root, img->path, name, sizeof name) != 0)
        return 0; /* a photo outside --root (a reused --db): not part of this evaluation */
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        photo *p = realloc(t->p, cap * sizeof *p);
        if (!p)
            return FS_ENOMEM;
        t->p = p;
        t->cap = cap;
    }
    photo *ph = &t->p[t->n];
    memset(ph, 0, sizeof *ph);
    ph->path = strdup(img->path);
    ph->label = -1;
    ph->image_id = img->id;
    if (!ph->path)
        return FS_ENOMEM;
    /* The central face among this photo's faces. */
    float box[FS_MAX_EVAL_FACES][4];
    int n = img->n_faces < FS_MAX_EVAL_FACES ? (int)img->n_faces : FS_MAX_EVAL_FACES;
    for (int i = 0; i < n; i++) {
        fs_face_rec f;
        if (fs_db_get_face(t->snap, img->first_face + (uint64_t)i, &f, NULL) != FS_OK)
            return FS_EDB;
        memcpy(box[i], f.box, sizeof box[i]);
    }
    int k = img->status == FS_IMG_OK ? fs_face_central(box, n, img->width, img->height) : -1;
    if (k >= 0) {
        ph->face_id = img->first_face + (uint64_t)k;
        memcpy(ph->box, box[k], sizeof ph->box);
        if (fs_db_get_vector(t->snap, ph->face_id, ph->vec, NULL) != FS_OK)
            return FS_EDB;
        ph->has_face = 1;
    }
    t->n++;
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const photo *)a)->path, ((const photo *)b)->path);
}

/* --reweight W: a fused descriptor holds its unit parts scaled by
 * sqrt(1-w0) and sqrt(w0); rescaled to W, the dot products become those of
 * the fusion at W (0: the 128-D net alone, 1: the 512-D net alone), without
 * ingesting again. */
static int reweight(tree *t, double w)
{
    double w0 = store_cli_fusion_weight(t->mode);
    if (t->dim != 640 || w0 < 0) {
        cli_error("--reweight needs a database of fused descriptors, not '%s'", t->mode);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < t->n; i++)
        fs_fusion_reweight(t->p[i].vec, w0, w);
    snprintf(t->mode + strlen(t->mode), sizeof t->mode - strlen(t->mode), " reweighted %.2f", w);
    return EXIT_OK;
}

void gallery_free(tree *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->p[i].path);
    free(t->p);
    for (size_t i = 0; i < t->n_names; i++)
        free(t->names[i]);
    free(t->names);
}

/* Ingests root into the database (creating a temporary one without --db)
 * and reads back every photo under root with its label and central face. */
int gallery_prepare(const gal_opts *o, fs_config *cfg, const char *cmd, char *dbdir, size_t cap,
                   tree *t, double *ingest_s)
{
    face_cli fc;
    int rc = face_cli_start(&fc, cfg);
    if (rc != EXIT_OK)
        return rc;
    if (o->db) {
        snprintf(dbdir, cap, "%s", o->db);
    } else {
        snprintf(dbdir, cap, "%s/facesearch-eval-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dbdir)) {
            cli_error("%s: cannot create a temporary database: %s", dbdir, strerror(errno));
            face_cli_end(&fc);
            return EXIT_INTERNAL;
        }
    }
    fs_error e = {0};
    fs_db_model model;
    char mbuf[2048];
    store_cli_model(fc.engine, &model, mbuf, sizeof mbuf);
    fs_db_options dbo = {FS_DB_CREATE, &model, 0, 0};
    fs_db *db = NULL;
    fs_ingest_opts io;
    fs_ingest_opts_init(&io);
    char *roots[1] = {(char *)o->root};
    io.roots = roots;
    io.n_roots = 1;
    io.threads = (int)fs_config_int(cfg, "run.threads");
    io.decode = fc.dopts;
    fs_ingest_stats st;
    double t0 = fs_now();
    if (fs_db_open(dbdir, &dbo, &db, &e) != FS_OK || fs_ingest_run(db, fc.engine, &io, &st, &e) != FS_OK) {
        face_cli_end(&fc);
        fs_db_close(db);
        return cli_fail(&e);
    }
    *ingest_s = fs_now() - t0;
    face_cli_end(&fc);
    memset(t, 0, sizeof *t);
    if (fs_path_normalize(o->root, t->root, sizeof t->root) != FS_OK) {
        fs_db_close(db);
        return cli_usage_error(cmd, "--root path too long");
    }
    rc = fs_db_snap_begin(db, &t->snap, &e);
    fs_db_stats dbst;
    if (rc == FS_OK && (rc = fs_db_stats_get(t->snap, &dbst, &e)) == FS_OK) {
        snprintf(t->mode, sizeof t->mode, "%s", dbst.model_id);
        t->dim = dbst.dim;
    }
    if (rc == FS_OK)
        rc = fs_db_foreach_image(t->snap, 0, collect, t, &e);
    fs_db_snap_end(t->snap);
    fs_db_close(db);
    if (rc != FS_OK) {
        if (!e.msg[0])
            fs_fail(&e, rc, "%s: reading the evaluation database failed", dbdir);
        return cli_fail(&e);
    }
    /* Labels: identity folders in name order. */
    qsort(t->p, t->n, sizeof *t->p, by_path);
    t->names = malloc((t->n + 1) * sizeof *t->names);
    for (size_t i = 0; t->names && i < t->n; i++) {
        char name[1024];
        folder_of(t->root, t->p[i].path, name, sizeof name);
        if (!t->n_names || strcmp(t->names[t->n_names - 1], name) != 0)
            t->names[t->n_names++] = strdup(name);
        t->p[i].label = (int)t->n_names - 1;
    }
    if (!t->n) {
        fs_fail(&e, FS_ENOTFOUND, "%s: no photos in identity folders (<root>/<name>/<photo>)",
                o->root);
        return cli_fail(&e);
    }
    return o->reweight >= 0 ? reweight(t, o->reweight) : EXIT_OK;
}

fs_eval_photo *gallery_photos(const tree *t)
{
    fs_eval_photo *ph = calloc(t->n + 1, sizeof *ph);
    for (size_t i = 0; ph && i < t->n; i++)
        ph[i] = (fs_eval_photo){t->p[i].label, t->p[i].has_face ? t->p[i].vec : NULL, NULL, 0};
    return ph;
}

/* ------------------------------------------------------------- ident */

static void ident_help(void)
{
    printf("usage: facesearch eval ident --root DIR [--db DIR] [--json] [options]\n"
           "\n"
           "Open-set identification on a folder-per-identity tree (DIR/<name>/<photo>):\n"
           "ingests DIR (into a temporary database unless --db), then splits it into a\n"
           "gallery and probes.  Identities with one photo alternate (name order)\n"
           "between gallery distractors and non-mated probes.  An identity with several\n"
           "photos, by --protocol:\n"
           "  archive  (default) its last photo with a face (name order) is the mated\n"
           "           probe, all its other photos are enrolled: a person searched for\n"
           "           in an archive that holds their other photos;\n"
           "  single   its first photo with a face is enrolled, all its other photos\n"
           "           are mated probes: one enrolment photo per person (harder).\n"
           "Each probe's central face is searched in an exact index of the gallery's\n"
           "templates (one per identity: the mean descriptor of its enrolled photos).\n"
           "Reports rank-1 and rank-5 identification rates of the mated probes (a probe\n"
           "without a face is a miss) and the true-positive identification rate at a\n"
           "false-positive identification rate of 1 %% (threshold set on the non-mated\n"
           "probes' best similarities).\n"
           "\n"
           "  --root DIR    the identity folders\n"
           "  --db DIR      ingest into (and keep) this database instead of a temporary one\n"
           "  --protocol P  archive (default) or single, as above\n"
           "  --reweight W  a fused database's descriptors re-weighted to W (0: resnet128\n"
           "                alone, 1: mfn512 alone) without ingesting again\n"
           "  --json        one JSON object: rank1, rank5 (percent), tpir_at_fpir_1pct,\n"
           "                probes, mated, nonmated, gallery, protocol, ...\n");
    face_cli_help_options(stdout);
}

void gallery_remove_tmp(const gal_opts *o, const char *dbdir)
{
    if (o->db)
        return;
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dbdir);
    if (system(cmd) != 0)
        cli_error("%s: could not remove the temporary database", dbdir);
}

int eval_ident(int argc, char **argv)
{
    static const struct option own[] = {{"root", required_argument, 0, 'r'},
                                        {"db", required_argument, 0, 'd'},
                                        {"json", no_argument, 0, 'j'},
                                        {"protocol", required_argument, 0, 'p'},
                                        {"reweight", required_argument, 0, 'w'},
                                        {0, 0, 0, 0}};
    gal_opts o = {.reweight = -1};
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "eval ident", ident_help, own, gallery_flag, &o, &cfg);
    if (rc >= 0)
        return rc;
    if (!o.root || optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("eval ident", o.root ? "unexpected argument" : "--root is required");
    }
    char dbdir[4200];
    tree t;
    double ingest_s, t0 = fs_now();
    if ((rc = gallery_prepare(&o, cfg, "eval ident", dbdir, sizeof dbdir, &t, &ingest_s)) != EXIT_OK) {
        gallery_remove_tmp(&o, dbdir);
        fs_config_destroy(cfg);
        return rc;
    }
    fs_eval_photo *ph = gallery_photos(&t);
    fs_ident_run run;
    fs_error e = {0};
    if (!ph) {
        rc = EXIT_INTERNAL;
        goto out;
    }
    /* Photos are grouped by identity: sorted by path. */
    if (fs_eval_ident_folders(ph, t.n, t.dim, o.single, &run, &e) != FS_OK) {
        rc = cli_fail(&e);
        goto out;
    }
    const fs_ident_result res = run.r;
    const size_t np = run.probes, ng = run.gallery, no_face = run.no_face;
    double secs = fs_now() - t0;
    if (o.json) {
        printf("{\"rank1\":%.4f,\"rank5\":%.4f,\"tpir_at_fpir_1pct\":%.4f,"
               "\"threshold_at_fpir_1pct\":%.6f,\"probes\":%zu,\"mated\":%zu,\"nonmated\":%zu,"
               "\"gallery\":%zu,\"identities\":%zu,\"photos\":%zu,\"no_face_probes\":%zu,"
               "\"descriptor_mode\":",
               100 * res.rank1, 100 * res.rank5, 100 * res.tpir_at_fpir, 1 - res.threshold, np,
               res.mated, res.nonmated, ng, t.n_names, t.n, no_face);
        json_str(stdout, t.mode);
        printf(",\"protocol\":\"%s\"", o.single ? "single" : "archive");
        printf(",\"ingest_s\":%.1f,\"seconds\":%.1f}\n", ingest_s, secs);
    } else {
        printf("identification on %s: %zu identities, %zu photos\n", o.root, t.n_names, t.n);
        printf("  gallery %zu faces; probes %zu mated, %zu non-mated (%zu without a face)\n", ng,
               res.mated, res.nonmated, no_face);
        printf("  rank-1 %.2f %%, rank-5 %.2f %%\n", 100 * res.rank1, 100 * res.rank5);
        printf("  TPIR at FPIR 1 %%: %.2f %% (similarity threshold %.4f)\n",
               100 * res.tpir_at_fpir, 1 - res.threshold);
        printf("  %.1f s (ingest %.1f s)\n", secs, ingest_s);
    }
    rc = EXIT_OK;
out:
    free(ph);
    gallery_free(&t);
    gallery_remove_tmp(&o, dbdir);
    fs_config_destroy(cfg);
    return rc;
}

/* ----------------------------------------------------------- cluster */


static void cluster_help(void)
{
    printf("usage: facesearch eval cluster --root DIR [--db DIR] [--threshold T] [--json]\n"
           "\n"
           "Clustering (what 'facesearch dedup' does) against folder labels: ingests DIR\n"
           "(into a temporary database unless --db), builds the index, groups the\n"
           "photos' central faces by the k-NN graph + Chinese whispers of dedup, and\n"
           "compares the groups with the identity folders: pairwise precision, recall\n"
           "and F1 over all pairs of photos (a photo without a face is a group of its\n"
           "own), and the number of clusters against the number of identities.\n"
           "\n"
           "  --root DIR      the identity folders (DIR/<name>/<photo>)\n"
           "  --db DIR        ingest into (and keep) this database\n"
           "  --threshold T   link faces with a cosine similarity of at least T\n"
           "                  (dedup.threshold; 0 = the recognizer's dedup.NAME)\n"
           "  --reweight W    a fused database's descriptors re-weighted to W (0: resnet128\n"
           "                  alone, 1: mfn512 alone), searched in an exact index of the\n"
           "                  central faces\n"
           "  --json          one JSON object: precision, recall, f1 (0..1), clusters,\n"
           "                  identities, photos, threshold_at_far_1e-5 (over every\n"
           "                  different-person pair: the rule behind dedup.NAME), ...\n");
    face_cli_help_options(stdout);
}

int eval_cluster(int argc, char **argv)
{
    static const struct option own[] = {{"root", required_argument, 0, 'r'},
                                        {"db", required_argument, 0, 'd'},
                                        {"json", no_argument, 0, 'j'},
                                        {"threshold", required_argument, 0, 't'},
                                        {"reweight", required_argument, 0, 'w'},
                                        {0, 0, 0, 0}};
    gal_opts o = {.reweight = -1};
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "eval cluster", cluster_help, own, gallery_flag, &o, &cfg);
    if (rc >= 0)
        return rc;
    if (!o.root || optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("eval cluster", o.root ? "unexpected argument" : "--root is required");
    }
    char dbdir[4200];
    tree t;
    double ingest_s, t0 = fs_now();
    if ((rc = gallery_prepare(&o, cfg, "eval cluster", dbdir, sizeof dbdir, &t, &ingest_s)) != EXIT_OK) {
        gallery_remove_tmp(&o, dbdir);
        fs_config_destroy(cfg);
        return rc;
    }
    char rec[32] = "fusion";
    store_cli_recognizer(t.mode, rec, sizeof rec);
    const float sim_thr = (float)cli_threshold(cfg, "dedup", rec);
    int k = (int)fs_config_int(cfg, "dedup.k");
    fs_error e = {0};
    fs_db *db = NULL;
    fs_index *ix = NULL;
    fs_index_info info;
    fs_index_build_opts bo = {.factory = fs_config_str(cfg, "index.factory")};
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    fs_eval_photo *ph = gallery_photos(&t);
    uint64_t *ids = malloc(sizeof(uint64_t) * (t.n + 1)), *photo_of = malloc(sizeof(uint64_t) * (t.n + 1));
    float *vecs = malloc(sizeof(float) * (size_t)t.dim * (t.n + 1));
    int *node_label = malloc(sizeof(int) * (t.n + 1));
    fs_cluster_run run;
    if (!ph || !ids || !photo_of || !vecs || !node_label) {
        rc = EXIT_INTERNAL;
        goto out;
    }
    size_t n = 0; /* faces: their vectors and labels for the impostor thresholds */
    for (size_t i = 0; i < t.n; i++) {
        ids[i] = t.p[i].face_id;
        photo_of[i] = t.p[i].image_id;
        if (t.p[i].has_face) {
            memcpy(vecs + n * (size_t)t.dim, t.p[i].vec, sizeof(float) * (size_t)t.dim);
            node_label[n++] = t.p[i].label;
        }
    }
    int st = FS_OK;
    if (o.reweight >= 0) {
        /* The re-weighted central faces, not the stored vectors. */
        int64_t *ix_ids = malloc(sizeof(int64_t) * (n + 1));
        for (size_t i = 0, j = 0; ix_ids && i < t.n; i++)
            if (t.p[i].has_face)
                ix_ids[j++] = (int64_t)t.p[i].face_id;
        st = ix_ids ? fs_index_from_vectors(NULL, t.dim, vecs, ix_ids, n, &ix, &e) : FS_ENOMEM;
        free(ix_ids);
        snprintf(info.factory, sizeof info.factory, "IDMap,Flat (central faces)");
    } else if ((st = fs_db_open(dbdir, &ro, &db, &e)) == FS_OK &&
               (st = fs_index_build(db, dbdir, &bo, &info, &e)) == FS_OK &&
               (st = fs_index_open(dbdir, &ix, &e)) == FS_OK) {
        st = fs_index_set_search(ix, (int)fs_config_int(cfg, "index.nprobe"),
                                 (int)fs_config_int(cfg, "index.ef_search"),
                                 fs_config_real(cfg, "index.k_factor"), &e);
    }
    if (st != FS_OK ||
        fs_eval_cluster_folders(ix, ph, ids, photo_of, t.n, t.dim, k, sim_thr, &run, &e) != FS_OK) {
        rc = cli_fail(&e);
        goto out;
    }
    const fs_pairwise pw = run.pw;
    const size_t n_edges = run.edges;
    /* the rule behind dedup.NAME: the similarity at FAR 1e-5 over every
     * different-person pair of the central faces */
    static const double fars[3] = {1e-4, 1e-5, 1e-6};
    float far_thr[3];
    uint64_t imp_pairs = 0;
    if (fs_eval_impostor_thresholds(vecs, t.dim, node_label, n, fars, 3, far_thr, &imp_pairs) !=
        FS_OK) {
        rc = EXIT_INTERNAL;
        goto out;
    }
    double secs = fs_now() - t0;
    if (o.json) {
        printf("{\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"clusters\":%zu,"
               "\"identities\":%zu,\"photos\":%zu,\"faces\":%zu,\"threshold\":%.4f,\"k\":%d,"
               "\"edges\":%zu,\"factory\":",
               pw.precision, pw.recall, pw.f1, pw.clusters, pw.identities, t.n, n, sim_thr, k,
               n_edges);
        json_str(stdout, info.factory);
        printf(",\"impostor_pairs\":%llu,\"threshold_at_far_1e-4\":%.4f,"
               "\"threshold_at_far_1e-5\":%.4f,\"threshold_at_far_1e-6\":%.4f",
               (unsigned long long)imp_pairs, far_thr[0], far_thr[1], far_thr[2]);
        printf(",\"ingest_s\":%.1f,\"seconds\":%.1f}\n", ingest_s, secs);
    } else {
        printf("clustering on %s: %zu photos of %zu identities (%zu with a face)\n", o.root, t.n,
               pw.identities, n);
        printf("  similarity threshold %.3f, k %d, index %s: %zu clusters\n", sim_thr, k,
               info.factory, pw.clusters);
        printf("  pairwise precision %.4f, recall %.4f, F1 %.4f\n", pw.precision, pw.recall, pw.f1);
        printf("  over %llu different-person pairs: similarity %.4f at FAR 1e-4, %.4f at 1e-5, "
               "%.4f at 1e-6\n",
               (unsigned long long)imp_pairs, far_thr[0], far_thr[1], far_thr[2]);
        printf("  %.1f s (ingest %.1f s)\n", secs, ingest_s);
    }
    rc = EXIT_OK;
out:
    free(ph);
    free(ids);
    free(photo_of);
    free(vecs);
    free(node_label);
    fs_index_close(ix);
    fs_db_close(db);
    gallery_free(&t);
    gallery_remove_tmp(&o, dbdir);
    fs_config_destroy(cfg);
    return rc;
}
