/*
 * The engine: the three networks loaded once, planned for their input sizes,
 * then shared read-only by every worker.
 */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fs_engine_opts_init(fs_engine_opts *o)
{
    memset(o, 0, sizeof *o);
    o->detector = FS_DETECTOR_SSD;
    o->min_score = 0.5f;
    o->max_faces = 100;
    o->input_size = 0;
}

int fs_detector_parse(const char *name, fs_detector_kind *kind, fs_error *err)
{
    if (strcmp(name, "ssd") == 0)
        *kind = FS_DETECTOR_SSD;
    else if (strcmp(name, "tiny") == 0)
        *kind = FS_DETECTOR_TINY;
    else
        return fs_fail(err, FS_EUSAGE, "unknown detector '%s' (expected ssd or tiny)", name);
    return FS_OK;
}

const char *fs_detector_name(fs_detector_kind kind)
{
    return kind == FS_DETECTOR_TINY ? "tiny" : "ssd";
}

static int check_opts(fs_engine_opts *o, fs_error *err)
{
    if (o->detector != FS_DETECTOR_SSD && o->detector != FS_DETECTOR_TINY)
        return fs_fail(err, FS_EUSAGE, "unknown detector kind %d", (int)o->detector);
    if (!(o->min_score >= 0.0f && o->min_score < 1.0f))
        return fs_fail(err, FS_EUSAGE, "minimum detection score %g is outside [0, 1)",
                       (double)o->min_score);
    if (o->max_faces < 1 || o->max_faces > FS_MAX_FACES)
        return fs_fail(err, FS_EUSAGE, "max faces %d is outside 1..%d", o->max_faces,
                       FS_MAX_FACES);
    if (o->detector == FS_DETECTOR_SSD) {
        if (o->input_size == 0)
            o->input_size = FS_SSD_INPUT;
        if (o->input_size != FS_SSD_INPUT)
            return fs_fail(err, FS_EUSAGE, "the SSD detector runs at 512 px only (got %d)",
                           o->input_size);
    } else {
        if (o->input_size == 0)
            o->input_size = 416;
        if (o->input_size < 64 || o->input_size > 1024 || o->input_size % 32)
            return fs_fail(err, FS_EUSAGE,
                           "tiny detector input size %d is not a multiple of 32 in 64..1024",
                           o->input_size);
    }
    return FS_OK;
}

/* Loads one weight file set, builds its net, records its checksums. */
static int load(fs_engine *e, const char *dir, const char *model,
                int (*build)(fs_weights *, void *, fs_error *), void *net, fs_error *err)
{
    fs_weights *w;
    int st = fs_weights_load(dir, model, &w, err);
    if (st != FS_OK)
        return st;
    st = build(w, net, err);
    for (int i = 0; st == FS_OK && i < fs_weights_file_count(w); i++) {
        if (e->n_files == FS_ENGINE_MAX_FILES) {
            st = fs_fail(err, FS_EMODEL, "%s: too many weight files", model);
            break;
        }
        const char *name, *sha;
        fs_weights_file(w, i, &name, &sha);
        snprintf(e->files[e->n_files].name, sizeof e->files[0].name, "%s", name);
        snprintf(e->files[e->n_files].sha256, sizeof e->files[0].sha256, "%s", sha);
        e->n_files++;
    }
    fs_weights_free(w); /* the nets hold folded copies */
    return st;
}

static int build_ssd(fs_weights *w, void *m, fs_error *err) { return fs_ssd_build(w, m, err); }
static int build_tiny(fs_weights *w, void *m, fs_error *err) { return fs_tiny_build(w, m, err); }
static int build_lm(fs_weights *w, void *m, fs_error *err) { return fs_landmark_build(w, m, err); }
static int build_rec(fs_weights *w, void *m, fs_error *err)
{
    return fs_recognition_build(w, m, err);
}

static int plan(fs_engine *e, const fs_net *net, int size, fs_plan **p, fs_error *err)
{
    int st = fs_plan_create(net, size, size, 0, p, err);
    if (st == FS_OK && fs_plan_workspace(*p) > e->ws_bytes)
        e->ws_bytes = fs_plan_workspace(*p);
    return st;
}

int fs_engine_create(const char *models_dir, const fs_engine_opts *opts, fs_engine **out,
                     fs_error *err)
{
    *out = NULL;
    fs_engine *e = calloc(1, sizeof *e);
    if (!e)
        return fs_fail(err, FS_ENOMEM, "out of memory creating the face engine");
    if (opts)
        e->opts = *opts;
    else
        fs_engine_opts_init(&e->opts);
    int st = check_opts(&e->opts, err);
    const char *det_model;
    if (e->opts.detector == FS_DETECTOR_SSD) {
        det_model = "ssd_mobilenetv1";
        if (st == FS_OK && !(e->ssd = calloc(1, sizeof *e->ssd)))
            st = fs_fail(err, FS_ENOMEM, "out of memory creating the face engine");
        if (st == FS_OK)
            st = load(e, models_dir, "ssd_mobilenetv1_model", build_ssd, e->ssd, err);
        if (st == FS_OK)
            st = plan(e, e->ssd->net, e->opts.input_size, &e->det_plan, err);
    } else {
        det_model = "tiny_face_detector";
        if (st == FS_OK)
            st = load(e, models_dir, "tiny_face_detector_model", build_tiny, &e->tiny, err);
        if (st == FS_OK)
            st = plan(e, e->tiny.net, e->opts.input_size, &e->det_plan, err);
    }
    if (st == FS_OK)
        st = load(e, models_dir, "face_landmark_68_model", build_lm, &e->lm, err);
    if (st == FS_OK)
        st = plan(e, e->lm.net, FS_LANDMARK_INPUT, &e->lm_plan, err);
    if (st == FS_OK)
        st = load(e, models_dir, "face_recognition_model", build_rec, &e->rec, err);
    if (st == FS_OK)
        st = plan(e, e->rec.net, FS_DESCRIPTOR_INPUT, &e->rec_plan, err);
    if (st != FS_OK) {
        fs_engine_destroy(e);
        return st;
    }
    snprintf(e->model_id, sizeof e->model_id, "face-api/%s+face_landmark_68+face_recognition",
             det_model);
    *out = e;
    return FS_OK;
}

void fs_engine_destroy(fs_engine *e)
{
    if (!e)
        return;
    fs_plan_free(e->det_plan);
    fs_plan_free(e->lm_plan);
    fs_plan_free(e->rec_plan);
    if (e->ssd)
        fs_net_free(e->ssd->net);
    free(e->ssd);
    fs_net_free(e->tiny.net);
    fs_net_free(e->lm.net);
    fs_net_free(e->rec.net);
    free(e);
}

const fs_engine_opts *fs_engine_options(const fs_engine *e) { return &e->opts; }

const char *fs_engine_model_id(const fs_engine *e) { return e->model_id; }

int fs_engine_weight_files(const fs_engine *e, int i, const char **file, const char **sha256)
{
    if (i >= 0 && i < e->n_files) {
        if (file)
            *file = e->files[i].name;
        if (sha256)
            *sha256 = e->files[i].sha256;
    }
    return e->n_files;
}

void fs_engine_flops(const fs_engine *e, double *detector, double *landmarks, double *descriptor)
{
    if (detector)
        *detector = fs_plan_flops(e->det_plan);
    if (landmarks)
        *landmarks = fs_plan_flops(e->lm_plan);
    if (descriptor)
        *descriptor = fs_plan_flops(e->rec_plan);
}
