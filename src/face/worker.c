/*
 * Workers: the per-thread side of the engine.  Everything a photo needs is
 * allocated here once; the stages only reuse it (the face crop buffer grows
 * to the largest face seen).
 */
#include "engine_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fs_worker_create(const fs_engine *e, fs_worker **out, fs_error *err)
{
    *out = NULL;
    fs_worker *w = calloc(1, sizeof *w);
    if (!w)
        return fs_fail(err, FS_ENOMEM, "out of memory creating a face worker");
    w->e = e;
    w->ws = fs_nn_alloc(e->ws_bytes);
    int ok = w->ws != NULL;
    if (ok) /* fault the pages in now rather than during the first photo */
        memset(w->ws, 0, e->ws_bytes);
    const size_t n = (size_t)e->max_anchors, cells = (size_t)e->max_cells;
    if (e->opts.flip || e->opts.landmark_flip) {
        /* one buffer for every mirrored input: the largest is 150 x 150 */
        w->mirror = malloc((size_t)FS_DESCRIPTOR_INPUT * FS_DESCRIPTOR_INPUT * 3 * sizeof *w->mirror);
        ok = ok && w->mirror;
    }
    if (n) {
        w->enc = malloc(n * 4 * sizeof *w->enc);
        w->logits = malloc(n * 3 * sizeof *w->logits);
        w->boxes = malloc(n * 4 * sizeof *w->boxes);
        w->scores = malloc(n * sizeof *w->scores);
        w->order = malloc(n * sizeof *w->order);
        w->picked = malloc(n * sizeof *w->picked);
        ok = ok && w->enc && w->logits && w->boxes && w->scores && w->order && w->picked;
    }
    if (cells) {
        w->cand = malloc(cells * sizeof *w->cand);
        w->tiny_res = malloc((size_t)e->opts.max_faces * sizeof *w->tiny_res);
        ok = ok && w->cand && w->tiny_res;
    }
    if (!ok) {
        fs_worker_destroy(w);
        return fs_fail(err, FS_ENOMEM,
                       "out of memory creating a face worker (%.0f MiB each, one per thread): "
                       "lower run.threads or raise the memory limit",
                       (double)e->ws_bytes / (1 << 20));
    }
    *out = w;
    return FS_OK;
}

void fs_worker_destroy(fs_worker *w)
{
    if (!w)
        return;
    free(w->ws);
    free(w->enc);
    free(w->logits);
    free(w->boxes);
    free(w->scores);
    free(w->order);
    free(w->picked);
    free(w->cand);
    free(w->tiny_res);
    free(w->dets);
    free(w->mirror);
    free(w->padded.data);
    free(w->chip_src.data);
    free(w->crop);
    free(w);
}

static int check_image(const fs_image *img, fs_error *err)
{
    if (!img || !img->data || img->width < 1 || img->height < 1)
        return fs_fail(err, FS_EUSAGE, "face engine: empty image");
    return FS_OK;
}

/* The left-right mirror image of a side x side x 3 float image. */
static void mirror(const float *in, int side, float *out)
{
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
            memcpy(out + ((size_t)y * side + side - 1 - x) * 3, in + ((size_t)y * side + x) * 3,
                   3 * sizeof *in);
}

/* A face net's input from a crop: centred square padding, resize to size^2,
 * mean normalisation. */
static int prep_face_net(fs_worker *w, const fs_image *img, fs_rect crop, const fs_plan *plan,
                         int size, fs_error *err)
{
    float *in = fs_plan_input(plan, w->ws);
    int st = fs_prep_crop(img, crop, size, &w->crop, &w->crop_cap, in, err);
    if (st == FS_OK)
        fs_norm_mean(in, (size_t)size * size, fs_face_mean);
    return st;
}

int fs_worker_landmarks_in(fs_worker *w, const fs_image *img, fs_rect crop, fs_face *face,
                           fs_error *err)
{
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    double t0 = fs_now();
    st = prep_face_net(w, img, crop, w->e->lm_plan, FS_LANDMARK_INPUT, err);
    if (st != FS_OK)
        return st;
    const fs_plan *p = w->e->lm_plan;
    const int side = FS_LANDMARK_INPUT;
    if (w->e->opts.landmark_flip) /* the run may reuse the input buffer: mirror it first */
        mirror(fs_plan_input(p, w->ws), side, w->mirror);
    fs_plan_run(p, w->ws, NULL);
    fs_tensor out = fs_plan_tensor(p, w->ws, w->e->lm.out);
    float raw[2 * FS_LANDMARKS];
    if (w->e->opts.landmark_flip) {
        /* Run on the mirror image too and average: each point with its
         * mirrored partner (left eye <-> right eye ...), x reflected. */
        memcpy(raw, out.data, sizeof raw);
        memcpy(fs_plan_input(p, w->ws), w->mirror, (size_t)side * side * 3 * sizeof(float));
        fs_plan_run(p, w->ws, NULL);
        const float *m = fs_plan_tensor(p, w->ws, w->e->lm.out).data;
        for (int i = 0; i < FS_LANDMARKS; i++) {
            int j = fs_landmark_mirror[i];
            raw[2 * i] = 0.5f * (raw[2 * i] + (1.0f - m[2 * j]));
            raw[2 * i + 1] = 0.5f * (raw[2 * i + 1] + m[2 * j + 1]);
        }
        out.data = raw;
    }
    /* The reference shifts by the unfloored box origin; a box reaching past
     * the top/left (never the SSD's, at times the tiny detector's) was
     * clipped at 0 for the crop, and so is its shift. */
    fs_landmarks_place(out.data, crop.w, crop.h, fmax(face->x, 0.0), fmax(face->y, 0.0),
                       face->landmarks);
    face->landmark_crop = crop;
    face->flags |= FS_FACE_LANDMARKS;
    w->t.landmarks_s += fs_now() - t0;
    w->t.faces_landmarked++;
    return FS_OK;
}

int fs_worker_landmarks(fs_worker *w, const fs_image *img, fs_face *face, fs_error *err)
{
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    fs_rect crop = fs_box_crop(face->x, face->y, face->w, face->h, img->width, img->height);
    if (crop.w <= 0 || crop.h <= 0)
        return FS_OK; /* a box outside the photo: no landmarks (flag unset) */
    return fs_worker_landmarks_in(w, img, crop, face, err);
}

/* Runs a recognition net on its prepared, normalised input (side x side x 3
 * in ws); with flip, again on the mirror image, averaging the two.  Writes
 * the net's raw output (dim values) to out. */
static void describe(fs_worker *w, const fs_plan *plan, int node, int side, float *out, int dim)
{
    float *in = fs_plan_input(plan, w->ws);
    if (w->e->opts.flip) /* the run may reuse the input buffer: mirror it first */
        mirror(in, side, w->mirror);
    fs_plan_run(plan, w->ws, NULL);
    memcpy(out, fs_plan_tensor(plan, w->ws, node).data, (size_t)dim * sizeof *out);
    if (w->e->opts.flip) {
        memcpy(in, w->mirror, (size_t)side * side * 3 * sizeof *in);
        fs_plan_run(plan, w->ws, NULL);
        const float *d = fs_plan_tensor(plan, w->ws, node).data;
        for (int i = 0; i < dim; i++)
            out[i] = 0.5f * (out[i] + d[i]);
    }
}

/* A face whose crop or chip is empty: the reference's zero descriptor. */
static void empty_descriptor(fs_face *face)
{
    memset(face->descriptor, 0, sizeof face->descriptor);
    face->flags |= FS_FACE_DESCRIPTOR | FS_FACE_EMPTY_CROP;
}

static void described(fs_worker *w, fs_face *face, double t0)
{
    face->flags |= FS_FACE_DESCRIPTOR;
    w->t.descriptor_s += fs_now() - t0;
    w->t.faces_described++;
}

int fs_worker_descriptor_in(fs_worker *w, const fs_image *img, fs_rect crop, fs_face *face,
                            fs_error *err)
{
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    if (!w->e->rec_plan)
        return fs_fail(err, FS_EUSAGE, "face engine: a crop descriptor needs the 128-D net");
    face->descriptor_crop = crop;
    if (crop.w <= 0 || crop.h <= 0) {
        empty_descriptor(face);
        return FS_OK;
    }
    double t0 = fs_now();
    st = prep_face_net(w, img, crop, w->e->rec_plan, FS_DESCRIPTOR_INPUT, err);
    if (st != FS_OK)
        return st;
    describe(w, w->e->rec_plan, w->e->rec.out, FS_DESCRIPTOR_INPUT, face->descriptor, 128);
    fs_descriptor_normalize(face->descriptor, 128);
    described(w, face, t0);
    return FS_OK;
}

/* resnet128/mfn512: the face has no usable crop or chip (not an fs_status) */
#define NO_CROP (-1)

/* The 128-D net's raw descriptor into out, by the engine's alignment;
 * NO_CROP when the face has no usable crop. */
static int resnet128(fs_worker *w, const fs_image *img, fs_face *face, float *out, fs_error *err)
{
    const fs_engine *e = w->e;
    double m[6];
    if (e->opts.align == FS_ALIGN_CHIP) {
        if (fs_face_chip_transform(face, m) != FS_OK) {
            face->descriptor_crop = (fs_rect){0, 0, 0, 0};
            return NO_CROP;
        }
        int st = fs_chip_input(w, img, m, FS_DESCRIPTOR_INPUT, fs_plan_input(e->rec_plan, w->ws),
                               &face->descriptor_crop, err);
        if (st != FS_OK)
            return st;
        fs_norm_mean(fs_plan_input(e->rec_plan, w->ws),
                     (size_t)FS_DESCRIPTOR_INPUT * FS_DESCRIPTOR_INPUT, fs_face_mean);
    } else {
        fs_rect r = fs_align_rect(face->landmarks, face->landmark_crop.w, face->landmark_crop.h);
        fs_rect crop = fs_box_crop(r.x, r.y, r.w, r.h, img->width, img->height);
        face->descriptor_crop = crop;
        if (crop.w <= 0 || crop.h <= 0)
            return NO_CROP;
        int st = prep_face_net(w, img, crop, e->rec_plan, FS_DESCRIPTOR_INPUT, err);
        if (st != FS_OK)
            return st;
    }
    describe(w, e->rec_plan, e->rec.out, FS_DESCRIPTOR_INPUT, out, 128);
    return FS_OK;
}

/* The 512-D net's raw descriptor into out, on the ArcFace chip. */
static int mfn512(fs_worker *w, const fs_image *img, fs_face *face, float *out, fs_error *err)
{
    const fs_engine *e = w->e;
    double m[6];
    fs_rect bounds;
    if (fs_face_arcface_transform(face, m) != FS_OK)
        return NO_CROP;
    int st = fs_chip_input(w, img, m, FS_ARCFACE_INPUT, fs_plan_input(e->mfn_plan, w->ws),
                           &bounds, err);
    if (st != FS_OK)
        return st;
    if (e->opts.recognizer == FS_REC_MFN512)
        face->descriptor_crop = bounds;
    fs_norm_arcface(fs_plan_input(e->mfn_plan, w->ws), (size_t)FS_ARCFACE_INPUT * FS_ARCFACE_INPUT);
    describe(w, e->mfn_plan, e->mfn.out, FS_ARCFACE_INPUT, out, 512);
    return FS_OK;
}

int fs_worker_descriptor(fs_worker *w, const fs_image *img, fs_face *face, fs_error *err)
{
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    if (!(face->flags & FS_FACE_LANDMARKS))
        return fs_fail(err, FS_EUSAGE, "face engine: descriptor needs the face's landmarks");
    if (face->landmark_crop.w <= 0) /* stored landmarks (reembed): the crop they came from */
        face->landmark_crop = fs_box_crop(face->x, face->y, face->w, face->h, img->width,
                                          img->height);
    const fs_engine *e = w->e;
    double t0 = fs_now();
    float *d = face->descriptor;
    const fs_recognizer r = e->opts.recognizer;
    if (r != FS_REC_MFN512) {
        st = resnet128(w, img, face, d, err);
        if (st == FS_OK)
            fs_descriptor_normalize(d, 128);
    }
    if (st == FS_OK && r != FS_REC_RESNET128) {
        float *d512 = r == FS_REC_FUSION ? d + 128 : d;
        st = mfn512(w, img, face, d512, err);
        if (st == FS_OK)
            fs_descriptor_normalize(d512, 512);
    }
    if (st == FS_OK && r == FS_REC_FUSION) {
        /* unit parts weighted so that the dot product of two fused
         * descriptors is (1-w) cos128 + w cos512, and the whole is unit */
        float a = sqrtf(1.0f - e->opts.fusion_weight), b = sqrtf(e->opts.fusion_weight);
        for (int i = 0; i < 128; i++)
            d[i] *= a;
        for (int i = 128; i < 640; i++)
            d[i] *= b;
    }
    if (st == NO_CROP) {
        empty_descriptor(face);
        return FS_OK;
    }
    if (st != FS_OK)
        return st;
    described(w, face, t0);
    return FS_OK;
}

int fs_worker_faces(fs_worker *w, const fs_image *img, int stages, fs_face *faces, int cap,
                    int *n, fs_error *err)
{
    int st = fs_worker_detect(w, img, faces, cap, n, err);
    for (int i = 0; st == FS_OK && i < *n; i++) {
        if (stages & (FS_STAGE_LANDMARKS | FS_STAGE_DESCRIPTOR))
            st = fs_worker_landmarks(w, img, &faces[i], err);
        if (st == FS_OK && (stages & FS_STAGE_DESCRIPTOR) && (faces[i].flags & FS_FACE_LANDMARKS))
            st = fs_worker_descriptor(w, img, &faces[i], err);
    }
    return st;
}

void fs_worker_times(const fs_worker *w, fs_stage_times *t) { *t = w->t; }

void fs_worker_reset_times(fs_worker *w) { memset(&w->t, 0, sizeof w->t); }

float fs_descriptor_similarity(const float *a, const float *b, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)a[i] * b[i];
    return (float)s;
}

void fs_descriptor_normalize(float *v, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)v[i] * v[i];
    if (!(s > 0))
        return;
    double k = 1.0 / sqrt(s);
    for (int i = 0; i < dim; i++)
        v[i] = (float)(v[i] * k);
}

void fs_fusion_reweight(float *v, double w0, double w)
{
    float a = (float)sqrt((1 - w) / (1 - w0)), b = (float)sqrt(w / w0);
    for (int i = 0; i < 128; i++)
        v[i] *= a;
    for (int i = 128; i < 640; i++)
        v[i] *= b;
}
