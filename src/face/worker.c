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
    if (e->opts.flip) {
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
        return fs_fail(err, FS_ENOMEM, "out of memory creating a face worker");
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
    fs_plan_run(w->e->lm_plan, w->ws, NULL);
    fs_tensor out = fs_plan_tensor(w->e->lm_plan, w->ws, w->e->lm.out);
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

/* Runs the recognition net on its prepared, normalised input; with flip,
 * again on the mirror image, and averages the two descriptors. */
static void describe(fs_worker *w, fs_face *face)
{
    const fs_engine *e = w->e;
    const int side = FS_DESCRIPTOR_INPUT;
    float *in = fs_plan_input(e->rec_plan, w->ws);
    if (e->opts.flip) /* the run may reuse the input buffer: mirror it first */
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
                memcpy(w->mirror + ((size_t)y * side + side - 1 - x) * 3,
                       in + ((size_t)y * side + x) * 3, 3 * sizeof *in);
    fs_plan_run(e->rec_plan, w->ws, NULL);
    memcpy(face->descriptor, fs_plan_tensor(e->rec_plan, w->ws, e->rec.out).data,
           sizeof face->descriptor);
    if (e->opts.flip) {
        memcpy(in, w->mirror, (size_t)side * side * 3 * sizeof *in);
        fs_plan_run(e->rec_plan, w->ws, NULL);
        const float *d = fs_plan_tensor(e->rec_plan, w->ws, e->rec.out).data;
        for (int i = 0; i < FS_DESCRIPTOR_DIM; i++)
            face->descriptor[i] = 0.5f * (face->descriptor[i] + d[i]);
    }
}

/* A face whose crop or chip is empty: the reference's zero descriptor. */
static void empty_descriptor(fs_face *face)
{
    memset(face->descriptor, 0, sizeof face->descriptor);
    face->flags |= FS_FACE_DESCRIPTOR | FS_FACE_EMPTY_CROP;
}

int fs_worker_descriptor_in(fs_worker *w, const fs_image *img, fs_rect crop, fs_face *face,
                            fs_error *err)
{
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    face->descriptor_crop = crop;
    if (crop.w <= 0 || crop.h <= 0) {
        empty_descriptor(face);
        return FS_OK;
    }
    double t0 = fs_now();
    st = prep_face_net(w, img, crop, w->e->rec_plan, FS_DESCRIPTOR_INPUT, err);
    if (st != FS_OK)
        return st;
    describe(w, face);
    face->flags |= FS_FACE_DESCRIPTOR;
    w->t.descriptor_s += fs_now() - t0;
    w->t.faces_described++;
    return FS_OK;
}

/* The chip alignment: warp, normalise, describe.  descriptor_crop is the
 * chip's bounding rectangle in the photo. */
static int descriptor_chip(fs_worker *w, const fs_image *img, fs_face *face, fs_error *err)
{
    double m[6];
    if (fs_face_chip_transform(face, m) != FS_OK) {
        face->descriptor_crop = (fs_rect){0, 0, 0, 0};
        empty_descriptor(face);
        return FS_OK;
    }
    double t0 = fs_now();
    float *in = fs_plan_input(w->e->rec_plan, w->ws);
    int st = fs_chip_input(w, img, m, in, &face->descriptor_crop, err);
    if (st != FS_OK)
        return st;
    fs_norm_mean(in, (size_t)FS_DESCRIPTOR_INPUT * FS_DESCRIPTOR_INPUT, fs_face_mean);
    describe(w, face);
    face->flags |= FS_FACE_DESCRIPTOR;
    w->t.descriptor_s += fs_now() - t0;
    w->t.faces_described++;
    return FS_OK;
}

int fs_worker_descriptor(fs_worker *w, const fs_image *img, fs_face *face, fs_error *err)
{
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    if (!(face->flags & FS_FACE_LANDMARKS))
        return fs_fail(err, FS_EUSAGE, "face engine: descriptor needs the face's landmarks");
    if (w->e->opts.align == FS_ALIGN_CHIP)
        return descriptor_chip(w, img, face, err);
    fs_rect r = fs_align_rect(face->landmarks, face->landmark_crop.w, face->landmark_crop.h);
    fs_rect crop = fs_box_crop(r.x, r.y, r.w, r.h, img->width, img->height);
    return fs_worker_descriptor_in(w, img, crop, face, err);
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

float fs_descriptor_distance(const float *a, const float *b)
{
    double s = 0;
    for (int i = 0; i < FS_DESCRIPTOR_DIM; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return (float)sqrt(s);
}
