/*
 * Detection: the detector passes over a photo and how their faces merge.
 *
 *   whole photo  the reference pass: the photo zero-padded at its
 *                bottom/right to a square, resized to the input size; with
 *                fit_input a photo smaller than the input runs at its own
 *                scale on a smaller input (no upscaling, fewer FLOPs)
 *   tiles        (tile_size) overlapping squares of the photo, each resized
 *                to the input size, so that faces too small for the whole
 *                photo pass are seen larger; each tile reports the faces
 *                whose centre lies in its core (the overlap makes them whole
 *                there), and the whole-photo pass leaves such small faces to
 *                the tiles
 *   fallback     (fallback) only when the passes above found nothing: the
 *                photo padded on every side, so a face that fills the frame
 *                (ID photos) looks like the faces the SSD was trained on;
 *                then the other detector, keeping its best face
 *
 * With one pass the faces are exactly the pass's NMS output (the reference);
 * with several, all detections are merged by greedy NMS: the tiles' boxes
 * first (they see small faces at a finer scale, so their boxes are tighter),
 * then the whole-photo pass's, each best score first; a box is dropped when
 * it overlaps a kept one at IoU > 0.5 (same pass kind) or > 0.3 (a
 * whole-photo box against a tile's), or lies 70 % inside it.
 */
#include "engine_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NMS_IOU 0.5
#define CONTAINED 0.7      /* merge: a box this much inside another is its duplicate */
#define CROSS_IOU 0.3      /* merge: whole-photo box vs a tile's box of the same face */
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
    int coarse;  /* whole-photo pass: its small faces are less precise */
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
        d->coarse = pc->coarse;
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
        d->coarse = pc->coarse;
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

/* Where tile i of `count` (side t, starting at start(i)) hands over to its
 * neighbours along an axis: the middle of each overlap. */
static void tile_core(int i, int count, int len, int t, double *lo, double *hi)
{
    int s = tile_start(i, count, len, t);
    *lo = i == 0 ? -1e300 : (tile_start(i - 1, count, len, t) + t + s) / 2.0;
    *hi = i == count - 1 ? 1e300 : (s + t + tile_start(i + 1, count, len, t)) / 2.0;
}

/* Keeps of a tile's detections those it owns: centre inside its core (so
 * each face is reported by one tile only) and not touching an edge of the
 * tile that lies inside the photo (a face cut there is larger than the
 * overlap can hold; the whole-photo pass sees it). */
static void own(fs_det *d, int from, int to, int i, int nx, int j, int ny, int t,
                const fs_image *img)
{
    const double margin = t / 64.0;
    int tx = tile_start(i, nx, img->width, t), ty = tile_start(j, ny, img->height, t);
    int tw = img->width - tx < t ? img->width - tx : t;
    int th = img->height - ty < t ? img->height - ty : t;
    double x0, x1, y0, y1;
    tile_core(i, nx, img->width, t, &x0, &x1);
    tile_core(j, ny, img->height, t, &y0, &y1);
    for (int k = from; k < to; k++) {
        double cx = d[k].x + d[k].w / 2, cy = d[k].y + d[k].h / 2;
        int cut = (tx > 0 && d[k].x < tx + margin) || (ty > 0 && d[k].y < ty + margin) ||
                  (tx + tw < img->width && d[k].x + d[k].w > tx + tw - margin) ||
                  (ty + th < img->height && d[k].y + d[k].h > ty + th - margin);
        d[k].drop = cut || cx < x0 || cx >= x1 || cy < y0 || cy >= y1;
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
    const pass_cfg normal = {w->e->opts.min_score, w->e->opts.max_faces, 0, 0};
    /* Faces up to half the overlap are whole in the tile that owns them, seen
     * at a finer scale: the whole-photo pass's boxes of such faces are left
     * to the tiles (they are coarser, and its false positives among small
     * boxes are many in crowds). */
    const double small = t / TILE_OVERLAP / 2.0;
    for (int k = 0; k < *n; k++)
        if (w->dets[k].w < small && w->dets[k].h < small)
            w->dets[k].drop = 1;
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
            own(w->dets, from, *n, i, nx, j, ny, t, img);
        }
    return FS_OK;
}

/* The photo, shrunk by k (block means), centred on a mid-grey canvas `pad`
 * pixels larger on each side, in the worker's grow-only buffer. */
static int pad_photo(fs_worker *w, const fs_image *img, int k, int pad, fs_error *err)
{
    int sw = (img->width + k - 1) / k, sh = (img->height + k - 1) / k;
    int pw = sw + 2 * pad, ph = sh + 2 * pad;
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
    uint8_t *at = w->padded.data + ((size_t)pad * pw + pad) * 3;
    if (k == 1) {
        for (int y = 0; y < img->height; y++)
            memcpy(at + (size_t)y * pw * 3, img->data + (size_t)y * img->width * 3,
                   (size_t)img->width * 3);
    } else {
        fs_block_mean(img, (fs_rect){0, 0, img->width, img->height}, k, at, pw * 3);
    }
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
    /* The padded photo is seen at the detector's input size anyway: a big
     * photo is shrunk first, so the canvas stays small. */
    int k = side > e->det.plans[0].size ? side / e->det.plans[0].size : 1;
    int pad = ((side + k - 1) / k + FALLBACK_PAD - 1) / FALLBACK_PAD;
    const pass_cfg padded = {e->opts.min_score, e->opts.max_faces, FS_FACE_FALLBACK, 1};
    int st = pad_photo(w, img, k, pad, err);
    if (st == FS_OK)
        st = whole_pass(w, &e->det, &w->padded, &padded, n, err);
    for (int i = 0; st == FS_OK && i < *n; i++) {
        fs_det *d = &w->dets[i];
        double x0 = fmax((d->x - pad) * k, 0), y0 = fmax((d->y - pad) * k, 0);
        double x1 = fmin((d->x + d->w - pad) * k, img->width);
        double y1 = fmin((d->y + d->h - pad) * k, img->height);
        d->x = x0;
        d->y = y0;
        d->w = x1 - x0;
        d->h = y1 - y0;
        d->drop = d->w < 1 || d->h < 1;
    }
    const pass_cfg rescue = {fminf(e->opts.min_score, RESCUE_MIN_SCORE), 1, FS_FACE_FALLBACK, 1};
    if (st == FS_OK && *n == 0 && e->rescue.n > 0)
        st = whole_pass(w, &e->rescue, img, &rescue, n, err);
    return st;
}

/* Overlap of two detections for the merge: their IoU, or, when one box
 * lies mostly inside the other (the same face seen at two scales, the
 * coarse box larger), the share of the smaller one covered. */
static double overlap(const fs_det *a, const fs_det *b)
{
    double iw = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
    double ih = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
    if (iw <= 0 || ih <= 0)
        return 0;
    double inter = iw * ih, aa = a->w * a->h, ab = b->w * b->h;
    double iou = inter / (aa + ab - inter), inside = inter / fmin(aa, ab);
    return inside > CONTAINED ? 1.0 : iou;
}

/* Fine passes (tiles) first, then best score first; ties in the order
 * found. */
static int by_rank(const void *pa, const void *pb)
{
    const fs_det *a = pa, *b = pb;
    if (a->coarse != b->coarse)
        return a->coarse - b->coarse;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

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
    qsort(d, (size_t)m, sizeof *d, by_rank);
    int kept = 0;
    for (int i = 0; i < m; i++) {
        int keep = 1;
        for (int j = 0; j < kept && keep; j++) {
            /* a coarse box of a face a tile saw is looser: drop it at a
             * lower overlap than two boxes of one pass */
            double limit = d[i].coarse != d[j].coarse ? CROSS_IOU : NMS_IOU;
            keep = !(overlap(&d[i], &d[j]) > limit);
        }
        if (keep)
            d[kept++] = d[i];
    }
    for (int i = 0; i < kept; i++)
        d[i].seq = i;
    qsort(d, (size_t)kept, sizeof *d, by_score);
    return kept < max_out ? kept : max_out;
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
    const pass_cfg whole = {e->opts.min_score, e->opts.max_faces, 0, 1};
    int st = whole_pass(w, &e->det, img, &whole, &nd, err);
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
