/*
 * The engine: the three networks loaded once, planned for their input sizes,
 * then shared read-only by every worker.
 */
#include "engine_internal.h"

#include <math.h>
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
    o->precision = FS_PREC_FP32;
    o->recognizer = FS_REC_RESNET128;
    o->fusion_weight = 0.5f;
}

static const char *const rec_names[] = {"resnet128", "mfn512", "fusion"};

int fs_recognizer_parse(const char *name, fs_recognizer *r, fs_error *err)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, rec_names[i]) == 0) {
            *r = (fs_recognizer)i;
            return FS_OK;
        }
    return fs_fail(err, FS_EUSAGE, "unknown recognizer '%s' (expected resnet128, mfn512 or fusion)",
                   name);
}

const char *fs_recognizer_name(fs_recognizer r)
{
    return (unsigned)r < 3 ? rec_names[r] : "?";
}

int fs_recognizer_dim(fs_recognizer r)
{
    return r == FS_REC_RESNET128 ? 128 : r == FS_REC_MFN512 ? 512 : 640;
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
    if ((unsigned)o->precision > FS_PREC_AUTO)
        return fs_fail(err, FS_EUSAGE, "unknown precision %d", (int)o->precision);
    if (o->input_size == 0)
        o->input_size = o->detector == FS_DETECTOR_SSD ? FS_SSD_INPUT : 416;
    int lo = o->detector == FS_DETECTOR_SSD ? 128 : 64;
    if (o->input_size < lo || o->input_size > 1024 || o->input_size % 32)
        return fs_fail(err, FS_EUSAGE,
                       "%s detector input size %d is not a multiple of 32 in %d..1024 "
                       "(the reference: %d)",
                       fs_detector_name(o->detector), o->input_size, lo,
                       o->detector == FS_DETECTOR_SSD ? FS_SSD_INPUT : 416);
    if (o->tile_size != 0 && (o->tile_size < 64 || o->tile_size > FS_IMAGE_MAX_SIDE))
        return fs_fail(err, FS_EUSAGE, "tile size %d is outside 64..%d (0 = no tiles)",
                       o->tile_size, FS_IMAGE_MAX_SIDE);
    if (o->align != FS_ALIGN_REF && o->align != FS_ALIGN_CHIP)
        return fs_fail(err, FS_EUSAGE, "unknown alignment kind %d", (int)o->align);
    if ((unsigned)o->recognizer > FS_REC_FUSION)
        return fs_fail(err, FS_EUSAGE, "unknown recognizer %d", (int)o->recognizer);
    if (o->recognizer == FS_REC_FUSION && !(o->fusion_weight > 0.0f && o->fusion_weight < 1.0f))
        return fs_fail(err, FS_EUSAGE, "fusion weight %g is outside (0, 1)",
                       (double)o->fusion_weight);
    o->fit_input = o->fit_input != 0;
    o->landmark_flip = o->landmark_flip != 0;
    o->fallback = o->fallback != 0;
    o->flip = o->flip != 0;
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

/* Loads an ONNX recogniser and records its checksum like the TF.js files. */
static int load_onnx(fs_engine *e, const char *dir, const char *file, fs_simple_net *m,
                     fs_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    fs_onnx_model om;
    int st = fs_onnx_load(path, &om, err);
    if (st != FS_OK)
        return st;
    m->net = om.net;
    m->out = om.out;
    if (om.in_c != 3 || om.in_h != FS_ARCFACE_INPUT || om.in_w != FS_ARCFACE_INPUT ||
        om.out_dim != 512)
        return fs_fail(err, FS_EMODEL, "%s: takes %dx%dx%d and gives %d values, expected "
                       "3x112x112 -> 512", path, om.in_c, om.in_h, om.in_w, om.out_dim);
    if (e->n_files == FS_ENGINE_MAX_FILES)
        return fs_fail(err, FS_EMODEL, "%s: too many weight files", file);
    snprintf(e->files[e->n_files].name, sizeof e->files[0].name, "%s", file);
    snprintf(e->files[e->n_files].sha256, sizeof e->files[0].sha256, "%s", om.sha256);
    e->n_files++;
    return FS_OK;
}

/* Plans net (packing its bf16 weights first when the engine runs bf16). */
static int plan(fs_engine *e, fs_net *net, int size, fs_plan **p, fs_error *err)
{
    int bf16 = fs_precision_effective(e->opts.precision) == FS_PREC_BF16;
    int st = bf16 ? fs_net_prepare_bf16(net, err) : FS_OK;
    if (st == FS_OK)
        st = fs_plan_create(net, size, size, bf16 ? FS_PLAN_BF16 : 0, p, err);
    if (st == FS_OK && fs_plan_workspace(*p) > e->ws_bytes)
        e->ws_bytes = fs_plan_workspace(*p);
    return st;
}

/* Plans detector d for one input side, with its anchors. */
static int plan_detector(fs_engine *e, fs_detector *d, int size, fs_error *err)
{
    fs_det_plan *dp = &d->plans[d->n++];
    dp->kind = d->kind;
    dp->size = size;
    const int ssd = d->kind == FS_DETECTOR_SSD;
    int st = plan(e, ssd ? e->ssd->net : e->tiny.net, size, &dp->plan, err);
    if (st != FS_OK)
        return st;
    if (ssd) {
        int gh[FS_SSD_HEADS], gw[FS_SSD_HEADS];
        for (int k = 0; k < FS_SSD_HEADS; k++) {
            fs_tensor t = fs_plan_tensor(dp->plan, NULL, e->ssd->box[k]);
            gh[k] = t.h;
            gw[k] = t.w;
        }
        dp->n_anchors = fs_ssd_anchor_count(gh, gw);
        if (size == FS_SSD_INPUT) {
            dp->anchors = e->ssd->anchors; /* the model's own table */
        } else {
            if (!(dp->own_anchors = malloc((size_t)dp->n_anchors * 4 * sizeof(float))))
                return fs_fail(err, FS_ENOMEM, "out of memory for the SSD anchors");
            fs_ssd_anchors(size, gh, gw, dp->own_anchors);
            dp->anchors = dp->own_anchors;
        }
        if (dp->n_anchors > e->max_anchors)
            e->max_anchors = dp->n_anchors;
    } else {
        fs_tensor t = fs_plan_tensor(dp->plan, NULL, e->tiny.out);
        dp->n_anchors = t.h * t.w * FS_TINY_ANCHORS;
        if (dp->n_anchors > e->max_cells)
            e->max_cells = dp->n_anchors;
    }
    return FS_OK;
}

/* plans[0] at the main size; with fit_input the multiples of 32 below it. */
static int plan_detectors(fs_engine *e, fs_detector *d, fs_detector_kind kind, int size,
                          fs_error *err)
{
    d->kind = kind;
    int st = plan_detector(e, d, size, err);
    for (int s = FS_FIT_MIN; st == FS_OK && e->opts.fit_input && s < size; s += 32)
        st = plan_detector(e, d, s, err);
    return st;
}

const fs_det_plan *fs_engine_det_plan(const fs_engine *e, const fs_detector *d, int side)
{
    if (!e->opts.fit_input || side >= d->plans[0].size)
        return &d->plans[0];
    int want = side <= FS_FIT_MIN ? FS_FIT_MIN : (side + 31) / 32 * 32;
    for (int i = 1; i < d->n; i++)
        if (d->plans[i].size == want)
            return &d->plans[i];
    return &d->plans[0]; /* not reached: every multiple of 32 below it is planned */
}

/* Loads the nets of the detectors in use and plans them. */
static int load_detectors(fs_engine *e, const char *models_dir, fs_error *err)
{
    const fs_detector_kind main = e->opts.detector;
    const fs_detector_kind other = main == FS_DETECTOR_SSD ? FS_DETECTOR_TINY : FS_DETECTOR_SSD;
    int st = FS_OK;
    for (int k = 0; k < 2 && st == FS_OK; k++) {
        fs_detector_kind kind = k == 0 ? main : other;
        if (k == 1 && !e->opts.fallback)
            break;
        if (kind == FS_DETECTOR_SSD) {
            if (!(e->ssd = calloc(1, sizeof *e->ssd)))
                return fs_fail(err, FS_ENOMEM, "out of memory creating the face engine");
            st = load(e, models_dir, "ssd_mobilenetv1_model", build_ssd, e->ssd, err);
        } else {
            st = load(e, models_dir, "tiny_face_detector_model", build_tiny, &e->tiny, err);
        }
        int size = k == 0 ? e->opts.input_size : kind == FS_DETECTOR_SSD ? FS_SSD_INPUT : 416;
        if (st == FS_OK)
            st = plan_detectors(e, k == 0 ? &e->det : &e->rescue, kind, size, err);
    }
    if (st == FS_OK)
        e->det_plan = e->det.plans[0].plan;
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
    const char *det_model =
        e->opts.detector == FS_DETECTOR_SSD ? "ssd_mobilenetv1" : "tiny_face_detector";
    if (st == FS_OK)
        st = load_detectors(e, models_dir, err);
    if (st == FS_OK)
        st = load(e, models_dir, "face_landmark_68_model", build_lm, &e->lm, err);
    if (st == FS_OK)
        st = plan(e, e->lm.net, FS_LANDMARK_INPUT, &e->lm_plan, err);
    const fs_recognizer r = e->opts.recognizer;
    if (st == FS_OK && r != FS_REC_MFN512)
        st = load(e, models_dir, "face_recognition_model", build_rec, &e->rec, err);
    if (st == FS_OK && r != FS_REC_MFN512)
        st = plan(e, e->rec.net, FS_DESCRIPTOR_INPUT, &e->rec_plan, err);
    if (st == FS_OK && r != FS_REC_RESNET128)
        st = load_onnx(e, models_dir, FS_MFN512_FILE, &e->mfn, err);
    if (st == FS_OK && r != FS_REC_RESNET128)
        st = plan(e, e->mfn.net, FS_ARCFACE_INPUT, &e->mfn_plan, err);
    if (st != FS_OK) {
        fs_engine_destroy(e);
        return st;
    }
    snprintf(e->model_id, sizeof e->model_id, "face-api/%s+face_landmark_68+%s", det_model,
             r == FS_REC_RESNET128 ? "face_recognition"
             : r == FS_REC_MFN512  ? "fr_feature.onnx"
                                   : "face_recognition+fr_feature.onnx");
    char part[32];
    if (r == FS_REC_MFN512)
        snprintf(part, sizeof part, "arcface");
    else
        snprintf(part, sizeof part, "%s", e->opts.align == FS_ALIGN_CHIP ? "chip" : "ref");
    char weight[16] = "";
    if (r == FS_REC_FUSION)
        snprintf(weight, sizeof weight, "@%.2f", (double)e->opts.fusion_weight);
    snprintf(e->desc_mode, sizeof e->desc_mode, "%s%s/%s%s", fs_recognizer_name(r), weight, part,
             e->opts.flip ? "+flip" : "");
    *out = e;
    return FS_OK;
}

void fs_engine_destroy(fs_engine *e)
{
    if (!e)
        return;
    for (int k = 0; k < 2; k++) {
        fs_detector *d = k ? &e->rescue : &e->det;
        for (int i = 0; i < d->n; i++) {
            fs_plan_free(d->plans[i].plan);
            free(d->plans[i].own_anchors);
        }
    }
    fs_plan_free(e->lm_plan);
    fs_plan_free(e->rec_plan);
    fs_plan_free(e->mfn_plan);
    fs_net_free(e->mfn.net);
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

const char *fs_engine_descriptor_mode(const fs_engine *e) { return e->desc_mode; }

int fs_engine_descriptor_dim(const fs_engine *e)
{
    return fs_recognizer_dim(e->opts.recognizer);
}

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

fs_precision fs_engine_precision(const fs_engine *e)
{
    return fs_plan_precision(e->det_plan);
}

void fs_engine_flops(const fs_engine *e, double *detector, double *landmarks, double *descriptor)
{
    if (detector)
        *detector = fs_plan_flops(e->det_plan);
    if (landmarks)
        *landmarks = fs_plan_flops(e->lm_plan);
    if (descriptor)
        *descriptor = (e->rec_plan ? fs_plan_flops(e->rec_plan) : 0) +
                      (e->mfn_plan ? fs_plan_flops(e->mfn_plan) : 0);
}
