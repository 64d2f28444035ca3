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
    if (e->ssd) {
        w->enc = malloc(FS_SSD_ANCHORS * 4 * sizeof *w->enc);
        w->logits = malloc(FS_SSD_ANCHORS * 3 * sizeof *w->logits);
        w->boxes = malloc(FS_SSD_ANCHORS * 4 * sizeof *w->boxes);
        w->scores = malloc(FS_SSD_ANCHORS * sizeof *w->scores);
        w->order = malloc(FS_SSD_ANCHORS * sizeof *w->order);
        w->picked = malloc(FS_SSD_ANCHORS * sizeof *w->picked);
        ok = ok && w->enc && w->logits && w->boxes && w->scores && w->order && w->picked;
    } else {
        fs_tensor t = fs_plan_tensor(e->det_plan, NULL, e->tiny.out);
        size_t n = (size_t)t.h * t.w * FS_TINY_ANCHORS;
        w->cand = malloc(n * sizeof *w->cand);
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
    free(w->crop);
    free(w);
}

static int check_image(const fs_image *img, fs_error *err)
{
    if (!img || !img->data || img->width < 1 || img->height < 1)
        return fs_fail(err, FS_EUSAGE, "face engine: empty image");
    return FS_OK;
}

static int detect_ssd(fs_worker *w, const fs_image *img, fs_face *faces, int cap)
{
    const fs_engine *e = w->e;
    fs_plan_run(e->det_plan, w->ws, NULL);
    fs_ssd_gather(e->ssd, e->det_plan, w->ws, w->enc, w->logits);
    fs_ssd_decode(e->ssd->anchors, w->enc, w->logits, FS_SSD_ANCHORS, w->boxes, w->scores);
    int np = fs_ssd_nms(w->boxes, w->scores, FS_SSD_ANCHORS, e->opts.min_score, 0.5f,
                        e->opts.max_faces, w->order, w->picked);
    int n = np < cap ? np : cap;
    for (int i = 0; i < n; i++) {
        fs_face *f = &faces[i];
        memset(f, 0, sizeof *f);
        fs_ssd_box_pixels(w->boxes + 4 * w->picked[i], img->width, img->height,
                          e->opts.input_size, &f->x, &f->y, &f->w, &f->h);
        f->score = w->scores[w->picked[i]];
    }
    return n;
}

static int detect_tiny(fs_worker *w, const fs_image *img, fs_face *faces, int cap)
{
    const fs_engine *e = w->e;
    const int size = e->opts.input_size;
    fs_plan_run(e->det_plan, w->ws, NULL);
    fs_tensor out = fs_plan_tensor(e->det_plan, w->ws, e->tiny.out);
    double scale = (double)size / (img->width > img->height ? img->width : img->height);
    double rw = round(img->width * scale), rh = round(img->height * scale);
    int limit = cap < e->opts.max_faces ? cap : e->opts.max_faces;
    int n = fs_tiny_boxes(&out, rw, rh, size, e->opts.min_score, w->cand, w->tiny_res, limit);
    for (int i = 0; i < n; i++) {
        const fs_tiny_box *b = &w->tiny_res[i];
        fs_face *f = &faces[i];
        memset(f, 0, sizeof *f);
        f->x = b->x0 * img->width;
        f->y = b->y0 * img->height;
        f->w = (b->x1 - b->x0) * img->width;
        f->h = (b->y1 - b->y0) * img->height;
        f->score = (float)b->score;
    }
    return n;
}

int fs_worker_detect(fs_worker *w, const fs_image *img, fs_face *faces, int cap, int *n,
                     fs_error *err)
{
    *n = 0;
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    const fs_engine *e = w->e;
    const int size = e->opts.input_size;
    double t0 = fs_now();
    float *in = fs_plan_input(e->det_plan, w->ws);
    if ((st = fs_prep_square(img, size, in, err)) != FS_OK)
        return st;
    if (e->ssd) {
        fs_norm_ssd(in, (size_t)size * size * 3);
        *n = detect_ssd(w, img, faces, cap);
    } else {
        fs_norm_mean(in, (size_t)size * size, fs_tiny_mean);
        *n = detect_tiny(w, img, faces, cap);
    }
    w->t.detect_s += fs_now() - t0;
    w->t.photos++;
    return FS_OK;
}

/* A face net on a crop: centred square padding, resize to size^2, mean
 * normalisation, run; *out is node `out_node` of the plan. */
static int run_face_net(fs_worker *w, const fs_image *img, fs_rect crop, const fs_plan *plan,
                        int out_node, int size, fs_tensor *out, fs_error *err)
{
    float *in = fs_plan_input(plan, w->ws);
    int st = fs_prep_crop(img, crop, size, &w->crop, &w->crop_cap, in, err);
    if (st != FS_OK)
        return st;
    fs_norm_mean(in, (size_t)size * size, fs_face_mean);
    fs_plan_run(plan, w->ws, NULL);
    *out = fs_plan_tensor(plan, w->ws, out_node);
    return FS_OK;
}

int fs_worker_landmarks_in(fs_worker *w, const fs_image *img, fs_rect crop, fs_face *face,
                           fs_error *err)
{
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    double t0 = fs_now();
    fs_tensor out;
    st = run_face_net(w, img, crop, w->e->lm_plan, w->e->lm.out, FS_LANDMARK_INPUT, &out, err);
    if (st != FS_OK)
        return st;
    fs_landmarks_place(out.data, crop.w, crop.h, face->x, face->y, face->landmarks);
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

int fs_worker_descriptor_in(fs_worker *w, const fs_image *img, fs_rect crop, fs_face *face,
                            fs_error *err)
{
    int st = check_image(img, err);
    if (st != FS_OK)
        return st;
    const fs_engine *e = w->e;
    face->descriptor_crop = crop;
    face->flags |= FS_FACE_DESCRIPTOR;
    if (crop.w <= 0 || crop.h <= 0) {
        /* the reference's answer to an empty crop */
        memset(face->descriptor, 0, sizeof face->descriptor);
        face->flags |= FS_FACE_EMPTY_CROP;
        return FS_OK;
    }
    double t0 = fs_now();
    fs_tensor out;
    st = run_face_net(w, img, crop, e->rec_plan, e->rec.out, FS_DESCRIPTOR_INPUT, &out, err);
    if (st != FS_OK) {
        face->flags &= ~FS_FACE_DESCRIPTOR;
        return st;
    }
    memcpy(face->descriptor, out.data, sizeof face->descriptor);
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
