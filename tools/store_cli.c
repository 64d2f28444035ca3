/* The descriptor space a database is tied to (see store_cli.h). */
#include "store_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void store_cli_model(const fs_engine *e, fs_db_model *m, char *buf, size_t cap)
{
    /* id in the first 256 bytes, the weight checksums after it. */
    char sums[160] = "";
    size_t used = 256, s = 0;
    buf[used] = '\0';
    for (int i = 0, n = fs_engine_weight_files(e, 0, NULL, NULL); i < n; i++) {
        const char *file, *sum;
        fs_engine_weight_files(e, i, &file, &sum);
        /* the recognition weights decide the descriptor space */
        if ((strstr(file, "recognition") && strstr(file, ".bin")) || strstr(file, ".onnx"))
            s += (size_t)snprintf(sums + s, sizeof sums - s, "%s%.16s", s ? "+" : "", sum);
        if (used < cap)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s=%s", i ? ";" : "", file, sum);
    }
    /* recogniser, crop and flip mode, metric, then the weights: descriptors
     * of another of any of these live in another space, so such a database
     * is refused. */
    snprintf(buf, 256, "%s/cosine/%s", fs_engine_descriptor_mode(e), sums);
    m->id = buf;
    m->checksum = buf + 256;
    m->dim = fs_engine_descriptor_dim(e);
}

const char *store_cli_recognizer(const char *model_id, char *buf, size_t cap)
{
    size_t n = strcspn(model_id, "@/");
    fs_recognizer r;
    snprintf(buf, cap, "%.*s", (int)n, model_id);
    return fs_recognizer_parse(buf, &r, NULL) == FS_OK ? buf : NULL;
}

int store_cli_usable(const fs_db_stats *st, const char *dir)
{
    char rec[32];
    if (st->reembed_model[0]) {
        cli_error("%s: a reembed to '%s' is under way (photos below id %llu of %llu done): its "
                  "vectors are of two models; run facesearch reembed to finish it",
                  dir, st->reembed_model, (unsigned long long)st->reembed_next_image,
                  (unsigned long long)st->next_image_id);
        return EXIT_DATA;
    }
    if (!store_cli_recognizer(st->model_id, rec, sizeof rec)) {
        cli_error("%s: the database holds descriptors of an earlier facesearch ('%s'); run "
                  "facesearch reembed to move it to the configured recognizer",
                  dir, st->model_id);
        return EXIT_DATA;
    }
    return EXIT_OK;
}

int store_cli_configure(fs_config *cfg, const char *model_id)
{
    /* "REC[@W]/ALIGN[+flip]/cosine/..." (fs_engine_descriptor_mode) */
    char rec[32], align[16] = "";
    if (!store_cli_recognizer(model_id, rec, sizeof rec))
        return cli_error("database model '%s' names no recognizer", model_id), EXIT_DATA;
    const char *slash = strchr(model_id, '/');
    if (!slash)
        return cli_error("database model '%s' has no alignment", model_id), EXIT_DATA;
    size_t n = strcspn(slash + 1, "+/");
    snprintf(align, sizeof align, "%.*s", (int)n, slash + 1);
    int flip = strncmp(slash + 1 + n, "+flip", 5) == 0;
    if (cli_config_set(cfg, "descriptor.recognizer", rec, "the database") ||
        cli_config_set(cfg, "descriptor.flip", flip ? "true" : "false", "the database"))
        return EXIT_DATA;
    if (strcmp(align, "arcface") != 0 &&
        cli_config_set(cfg, "descriptor.align", align, "the database"))
        return EXIT_DATA;
    double w = store_cli_fusion_weight(model_id);
    if (w > 0) {
        char text[32];
        snprintf(text, sizeof text, "%g", w);
        if (cli_config_set(cfg, "descriptor.fusion_weight", text, "the database"))
            return EXIT_DATA;
    }
    return EXIT_OK;
}

double store_cli_fusion_weight(const char *model_id)
{
    double w;
    return sscanf(model_id, "fusion@%lf/", &w) == 1 && w > 0 && w < 1 ? w : -1;
}

int store_cli_open(const char *dir, fs_db **db, fs_db_snap **snap, fs_db_stats *st)
{
    fs_error e = {0};
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    *snap = NULL;
    if (fs_db_open(dir, &ro, db, &e) != FS_OK || fs_db_snap_begin(*db, snap, &e) != FS_OK ||
        fs_db_stats_get(*snap, st, &e) != FS_OK)
        return cli_fail(&e);
    return store_cli_usable(st, dir);
}

typedef struct load_ctx {
    stored_faces *f;
    fs_db_snap *snap;
} load_ctx;

static int take_face(void *ctx, uint64_t id, const float *vec)
{
    load_ctx *c = ctx;
    stored_faces *f = c->f;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 4096;
        float *v = realloc(f->v, cap * (size_t)f->dim * sizeof *v);
        if (v)
            f->v = v;
        uint64_t *ids = v ? realloc(f->ids, cap * sizeof *ids) : NULL;
        if (ids)
            f->ids = ids;
        uint64_t *ph = ids ? realloc(f->photo, cap * sizeof *ph) : NULL;
        if (!ph)
            return FS_ENOMEM;
        f->photo = ph;
        f->cap = cap;
    }
    fs_face_rec r;
    if (fs_db_get_face(c->snap, id, &r, NULL) != FS_OK)
        return 0; /* a vector without its face record: skip it */
    memcpy(f->v + f->n * (size_t)f->dim, vec, sizeof(float) * (size_t)f->dim);
    f->photo[f->n] = r.image_id;
    f->ids[f->n++] = id;
    return 0;
}

int store_cli_load_faces(fs_db_snap *snap, int dim, stored_faces *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    out->dim = dim;
    load_ctx c = {out, snap};
    int rc = fs_db_foreach_vector(snap, 0, take_face, &c, err);
    if (rc == FS_ENOMEM)
        fs_fail(err, rc, "out of memory loading %zu+ face descriptors", out->n);
    return rc;
}

void store_cli_free_faces(stored_faces *f)
{
    free(f->v);
    free(f->ids);
    free(f->photo);
    memset(f, 0, sizeof *f);
}
