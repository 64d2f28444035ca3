/*
 * TinyFaceDetector post-processing, after face-api's TinyYolov2Base: each
 * grid cell has 5 anchors (x, y, w, h, score); centres are
 * (cell + sigmoid(t)) / cells, sizes exp(t) * anchor / cells, both scaled by
 * input_size / reshaped size to be relative to the photo; then NMS at
 * IoU > 0.4 (keep the best, drop what overlaps it, repeat).
 */
#include "face_internal.h"

#include <math.h>
#include <stdlib.h>

static const double anchors[FS_TINY_ANCHORS][2] = {
    {1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061},
    {4.266906, 5.178857}, {9.041765, 10.66308}};

#define TINY_IOU 0.4

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static double iou(const fs_tiny_box *a, const fs_tiny_box *b)
{
    double w = fmax(0.0, fmin(a->x1, b->x1) - fmax(a->x0, b->x0));
    double h = fmax(0.0, fmin(a->y1, b->y1) - fmax(a->y0, b->y0));
    double inter = w * h;
    double area_a = (a->x1 - a->x0) * (a->y1 - a->y0), area_b = (b->x1 - b->x0) * (b->y1 - b->y0);
    return inter / (area_a + area_b - inter);
}

/* Best first; among equal scores the later candidate first, as face-api
 * pops the end of an ascending stable sort. */
static int by_score(const void *pa, const void *pb)
{
    const fs_tiny_box *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return b->seq - a->seq;
}

int fs_tiny_boxes(const fs_tensor *out, double rw, double rh, int input_size, float min_score,
                  fs_tiny_box *cand, fs_tiny_box *res, int cap)
{
    const int g = out->h;
    const double fx = input_size / rw, fy = input_size / rh;
    int n = 0;
    for (int row = 0; row < g; row++)
        for (int col = 0; col < out->w; col++)
            for (int a = 0; a < FS_TINY_ANCHORS; a++) {
                const float *t = out->data + ((size_t)row * out->w + col) * out->c + 5 * a;
                double score = sigmoid(t[4]);
                if (!(score > min_score))
                    continue;
                double cx = (col + sigmoid(t[0])) / g * fx;
                double cy = (row + sigmoid(t[1])) / g * fy;
                double w = exp(t[2]) * anchors[a][0] / g * fx;
                double h = exp(t[3]) * anchors[a][1] / g * fy;
                fs_tiny_box *b = &cand[n];
                b->x0 = cx - w / 2;
                b->y0 = cy - h / 2;
                b->x1 = b->x0 + w;
                b->y1 = b->y0 + h;
                b->score = score;
                b->seq = n++;
            }
    qsort(cand, (size_t)n, sizeof *cand, by_score);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (cand[i].seq < 0)
            continue; /* suppressed */
        if (kept < cap)
            res[kept++] = cand[i];
        for (int j = i + 1; j < n; j++)
            if (cand[j].seq >= 0 && iou(&cand[i], &cand[j]) > TINY_IOU)
                cand[j].seq = -1;
    }
    return kept;
}
