/*
 * Detection: the detector passes over a photo and how their faces merge.
 *
 *   whole photo  the reference pass: the photo zero-padded at its
 *                bottom/right to a square, resized to the input size; with
 *                fit_input a photo smaller than the input runs at its own
 *                scale on a smaller input (no upscaling, fewer FLOPs)
 *   tiles        (tile_size) overlapping squares of the photo, each resized
 *                to the input size, so that faces too small for the whole
 *                photo pass are seen larger; a face cut by an inner tile
 *                edge is left to the neighbouring tile, which holds it whole
 *                thanks to the overlap
 *   fallback     (fallback) only when the passes above found nothing: the
 *                photo padded on every side, so a face that fills the frame
 *                (ID photos, LFW) looks like the faces the SSD was trained on
 *
 * With one pass the faces are exactly the pass's NMS output (the reference);
 * with several, all detections are merged by the same greedy NMS (IoU > 0.5,
 * best score first).
 */
#include "engine_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NMS_IOU 0.5
#define TILE_OVERLAP 4     /* tiles overlap by 1/4 of their side */
#define FALLBACK_PAD 2     /* fallback pads by 1/2 of the longer side */
#define FALLBACK_GREY 128  /* its padding: mid grey, no edge for the SSD */
/* The other detector, last, keeps its best face if it scores above this
 * (or min_score if lower): on the LFW A-M photos where both nets find
 * nothing at 0.5, the tiny detector scores the true face 0.33-0.49. */
#define RESCUE_MIN_SCORE 0.3f

/* What one pass keeps and how it marks its faces. */
typedef struct pass_cfg {
    float min_score;
    int max_out;
    int flags;
} pass_cfg;

static int reserve(fs_worker *w, int n, int more, fs_error *err)
{
    if (n + more <= w->dets_cap)
        return FS_OK;
    int cap = (n + more) * 2;
    fs_det *d = realloc(w->dets, (size_t)cap * sizeof *d);
    if (!d)
        return fs_fail(err, FS_ENOMEM, "out of memory for detections");
    w->dets = d;
    w->dets_cap = cap;
    return FS_OK;
}

/* SSD on the prepared input of dp; appends faces of the window (x0, y0,
 * rw x rh, seen as side x side) to w->dets[*n..]. */
static void ssd_run(fs_worker *w, const fs_det_plan *dp, int x0, int y0, int rw, int rh,
                    int side, const pass_cfg *pc, int *n)
{
    const fs_engine *e = w->e;
    fs_plan_run(dp->plan, w->ws, NULL);
    fs_ssd_gather(e->ssd, dp->plan, w->ws, w->enc, w->logits);
    fs_ssd_decode(dp->anchors, w->enc, w->logits, dp->n_anchors, w->boxes, w->scores);
    int np = fs_ssd_nms(w->boxes, w->scores, dp->n_anchors, pc->min_score, (float)NMS_IOU,
                        pc->max_out, w->order, w->picked);
    for (int i = 0; i < np; i++) {
        fs_det *d = &w->dets[(*n)++];
        memset(d, 0, sizeof *d);
        fs_ssd_box_pixels(w->boxes + 4 * w->picked[i], rw, rh, side, dp->size, &d->x, &d->y,
                          &d->w, &d->h);
        d->x += x0;
        d->y += y0;
        d->score = w->scores[w->picked[i]];
        d->flags = pc->flags;
    }
}

static void tiny_run(fs_worker *w, const fs_det_plan *dp, int x0, int y0, int rw, int rh,
                     int side, const pass_cfg *pc, int *n)
{
    const fs_engine *e = w->e;
    const int size = dp->size;
    fs_plan_run(dp->plan, w->ws, NULL);
    fs_tensor out = fs_plan_tensor(dp->plan, w->ws, e->tiny.out);
    double scale = (double)size / side;
    int k = fs_tiny_boxes(&out, round(rw * scale), round(rh * scale), size, pc->min_score,
                          w->cand, w->tiny_res, pc->max_out);
    for (int i = 0; i < k; i++) {
        const fs_tiny_box *b = &w->tiny_res[i];
        fs_det *d = &w->dets[(*n)++];
        memset(d, 0, sizeof *d);
        d->x = x0 + b->x0 * rw;
        d->y = y0 + b->y0 * rh;
        d->w = (b->x1 - b->x0) * rw;
        d->h = (b->y1 - b->y0) * rh;
        d->score = (float)b->score;
        d->flags = pc->flags;
    }
}

/* One detector pass over the window (x0, y0, rw x rh) of img, which the
 * input sees zero-padded at its bottom/right to side x side. */
static int pass(fs_worker *w, const fs_image *img, int x0, int y0, int rw, int rh, int side,
                const fs_det_plan *dp, const pass_cfg *pc, int *n, fs_error *err)
{
    const fs_engine *e = w->e;
    int st = reserve(w, *n, e->opts.max_faces, err);
    float *in = fs_plan_input(dp->plan, w->ws);
    if (st == FS_OK)
        st = fs_prep_window(img, x0, y0, rw, rh, side, dp->size, in, err);
    if (st != FS_OK)
        return st;
    if (dp->kind == FS_DETECTOR_SSD) {
        fs_norm_ssd(in, (size_t)dp->size * dp->size * 3);
        ssd_run(w, dp, x0, y0, rw, rh, side, pc, n);
    } else {
        fs_norm_mean(in, (size_t)dp->size * dp->size, fs_tiny_mean);
        tiny_run(w, dp, x0, y0, rw, rh, side, pc, n);
    }
    return FS_OK;
}

/* The whole-photo pass of detector d (fit_input picks a smaller input for
 * a small photo, at scale 1). */
static int whole_pass(fs_worker *w, const fs_detector *d, const fs_image *img,
                      const pass_cfg *pc, int *n, fs_error *err)
{
    int side = img->width > img->height ? img->width : img->height;
    const fs_det_plan *dp = fs_engine_det_plan(w->e, d, side);
    if (dp != &d->plans[0])
        side = dp->size;
    return pass(w, img, 0, 0, img->width, img->height, side, dp, pc, n, err);
}

/* Start of tile i of `count` along an axis of length len. */
static int tile_start(int i, int count, int len, int t)
{
    return count < 2 ? 0 : (int)((long long)i * (len - t) / (count - 1));
}

static int tile_count(int len, int t)
{
    if (len <= t)
        return 1;
    int step = t - t / TILE_OVERLAP;
    return (len - t + step - 1) / step + 1;
}

/* Marks the detections of one tile that touch an edge of the tile lying
 * inside the photo: the overlap makes the neighbour see that face whole. */
static void mark_cut(fs_det *d, int from, int to, int tx, int ty, int tw, int th, int t,
                     const fs_image *img)
{
    const double margin = t / 64.0;
    for (int i = from; i < to; i++) {
        int cut = (tx > 0 && d[i].x < tx + margin) ||
                  (ty > 0 && d[i].y < ty + margin) ||
                  (tx + tw < img->width && d[i].x + d[i].w > tx + tw - margin) ||
                  (ty + th < img->height && d[i].y + d[i].h > ty + th - margin);
        d[i].drop = cut;
    }
}

/* Runs the tile passes (none when the photo fits in one tile); adds their
 * number to *passes. */
static int tile_passes(fs_worker *w, const fs_image *img, int *n, int *passes, fs_error *err)
{
    const int t = w->e->opts.tile_size;
    if (t <= 0 || (img->width <= t && img->height <= t))
        return FS_OK;
    const fs_det_plan *dp = &w->e->det.plans[0];
    const pass_cfg normal = {w->e->opts.min_score, w->e->opts.max_faces, 0};
    int nx = tile_count(img->width, t), ny = tile_count(img->height, t);
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            int tx = tile_start(i, nx, img->width, t), ty = tile_start(j, ny, img->height, t);
            int tw = img->width - tx < t ? img->width - tx : t;
            int th = img->height - ty < t ? img->height - ty : t;
            int from = *n;
            int st = pass(w, img, tx, ty, tw, th, t, dp, &normal, n, err);
            if (st != FS_OK)
                return st;
            ++*passes;
            mark_cut(w->dets, from, *n, tx, ty, tw, th, t, img);
        }
    return FS_OK;
}

/* The photo centred on a mid-grey canvas `pad` pixels larger on each side,
 * in the worker's grow-only buffer. */
static int pad_photo(fs_worker *w, const fs_image *img, int pad, fs_error *err)
{
    int pw = img->width + 2 * pad, ph = img->height + 2 * pad;
    size_t need = (size_t)pw * ph * 3;
    if (need > w->padded_cap) {
        uint8_t *b = realloc(w->padded.data, need);
        if (!b)
            return fs_fail(err, FS_ENOMEM, "out of memory padding a %dx%d photo", img->width,
                           img->height);
        w->padded.data = b;
        w->padded_cap = need;
    }
    w->padded.width = pw;
    w->padded.height = ph;
    memset(w->padded.data, FALLBACK_GREY, need);
    for (int y = 0; y < img->height; y++)
        memcpy(w->padded.data + ((size_t)(y + pad) * pw + pad) * 3,
               img->data + (size_t)y * img->width * 3, (size_t)img->width * 3);
    return FS_OK;
}

/* The tight-crop fallback, for a photo where the passes above found
 * nothing: the detector again on the photo padded on every side (a face
 * that fills the frame), then, if still nothing, the other detector on the
 * photo, keeping its best face only and at a lower score (the two nets miss
 * different faces: on LFW A-M the SSD misses a few low-contrast or partly
 * covered faces that the tiny detector finds).  The
 * boxes are moved back to the photo and clipped to it, as the later stages
 * crop from the photo and the reference's boxes never leave it at the
 * top/left. */
static int fallback_passes(fs_worker *w, const fs_image *img, int *n, fs_error *err)
{
    const fs_engine *e = w->e;
    int side = img->width > img->height ? img->width : img->height;
    int pad = (side + FALLBACK_PAD - 1) / FALLBACK_PAD;
    int st = FS_OK;
    if (side <= FS_IMAGE_MAX_SIDE / 2) {
        st = pad_photo(w, img, pad, err);
        const pass_cfg padded = {e->opts.min_score, e->opts.max_faces, FS_FACE_FALLBACK};
        if (st == FS_OK)
            st = whole_pass(w, &e->det, &w->padded, &padded, n, err);
        for (int i = 0; st == FS_OK && i < *n; i++) {
            fs_det *d = &w->dets[i];
            double x0 = fmax(d->x - pad, 0), y0 = fmax(d->y - pad, 0);
            double x1 = fmin(d->x + d->w - pad, img->width);
            double y1 = fmin(d->y + d->h - pad, img->height);
            d->x = x0;
            d->y = y0;
            d->w = x1 - x0;
            d->h = y1 - y0;
            d->drop = d->w < 1 || d->h < 1;
        }
    }
    const pass_cfg rescue = {fminf(e->opts.min_score, RESCUE_MIN_SCORE), 1, FS_FACE_FALLBACK};
    if (st == FS_OK && *n == 0 && e->rescue.n > 0)
        st = whole_pass(w, &e->rescue, img, &rescue, n, err);
    return st;
}

static double iou(const fs_det *a, const fs_det *b)
{
    double iw = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
    double ih = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
    if (iw <= 0 || ih <= 0)
        return 0;
    double inter = iw * ih;
    return inter / (a->w * a->h + b->w * b->h - inter);
}

/* Best score first; ties in the order found. */
static int by_score(const void *pa, const void *pb)
{
    const fs_det *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

int fs_det_merge(fs_det *d, int n, int max_out)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!d[i].drop) {
            d[m] = d[i];
            d[m].seq = m;
            m++;
        }
    qsort(d, (size_t)m, sizeof *d, by_score);
    int kept = 0;
    for (int i = 0; i < m && kept < max_out; i++) {
        int keep = 1;
        for (int j = 0; j < kept && keep; j++)
            keep = !(iou(&d[i], &d[j]) > NMS_IOU);
        if (keep)
            d[kept++] = d[i];
    }
    return kept;
}

int fs_worker_detect(fs_worker *w, const fs_image *img, fs_face *faces, int cap, int *n,
                     fs_error *err)
{
    *n = 0;
    if (!img || !img->data || img->width < 1 || img->height < 1)
        return fs_fail(err, FS_EUSAGE, "face engine: empty image");
    const fs_engine *e = w->e;
    double t0 = fs_now();
    int nd = 0, passes = 1;
    const pass_cfg normal = {e->opts.min_score, e->opts.max_faces, 0};
    int st = whole_pass(w, &e->det, img, &normal, &nd, err);
    if (st == FS_OK)
        st = tile_passes(w, img, &nd, &passes, err);
    int live = 0;
    for (int i = 0; i < nd; i++)
        live += !w->dets[i].drop;
    if (st == FS_OK && e->opts.fallback && live == 0) {
        st = fallback_passes(w, img, &nd, err);
        passes++;
    }
    if (st == FS_OK && passes > 1)
        nd = fs_det_merge(w->dets, nd, e->opts.max_faces);
    if (st == FS_OK) {
        *n = nd < cap ? nd : cap;
        for (int i = 0; i < *n; i++) {
            fs_face *f = &faces[i];
            memset(f, 0, sizeof *f);
            f->x = w->dets[i].x;
            f->y = w->dets[i].y;
            f->w = w->dets[i].w;
            f->h = w->dets[i].h;
            f->score = w->dets[i].score;
            f->flags = w->dets[i].flags;
        }
    }
    w->t.detect_s += fs_now() - t0;
    w->t.photos++;
    return st;
}
