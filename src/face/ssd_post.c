/*
 * SSD post-processing (golden README §4.2-4.4): head outputs to anchor order,
 * box decoding and scores, face-api's NMS.
 */
#include "face_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fs_ssd_gather(const fs_ssd_net *m, const fs_plan *p, void *ws, float *enc, float *logits)
{
    /* A head's NHWC output is already [cell][anchor][4 or 3], which is the
     * anchor order within the head; the heads follow one another. */
    size_t ne = 0, nl = 0;
    for (int k = 0; k < FS_SSD_HEADS; k++) {
        fs_tensor b = fs_plan_tensor(p, ws, m->box[k]);
        fs_tensor c = fs_plan_tensor(p, ws, m->cls[k]);
        memcpy(enc + ne, b.data, fs_tensor_count(b) * sizeof *enc);
        memcpy(logits + nl, c.data, fs_tensor_count(c) * sizeof *logits);
        ne += fs_tensor_count(b);
        nl += fs_tensor_count(c);
    }
}

void fs_ssd_decode(const float *anchors, const float *enc, const float *logits, int n,
                   float *boxes, float *scores)
{
    for (int i = 0; i < n; i++) {
        const float *a = anchors + 4 * i, *t = enc + 4 * i;
        float ha = a[2] - a[0], wa = a[3] - a[1];
        float cya = a[0] + ha / 2.0f, cxa = a[1] + wa / 2.0f;
        float half_h = expf(t[2] / 5.0f) * ha / 2.0f;
        float half_w = expf(t[3] / 5.0f) * wa / 2.0f;
        float cy = t[0] / 10.0f * ha + cya;
        float cx = t[1] / 10.0f * wa + cxa;
        float *b = boxes + 4 * i;
        b[0] = cy - half_h;
        b[1] = cx - half_w;
        b[2] = cy + half_h;
        b[3] = cx + half_w;
        scores[i] = 1.0f / (1.0f + expf(-logits[3 * i + 1]));
    }
}

static double iou(const float *a, const float *b)
{
    double ay0 = fmin(a[0], a[2]), ax0 = fmin(a[1], a[3]);
    double ay1 = fmax(a[0], a[2]), ax1 = fmax(a[1], a[3]);
    double by0 = fmin(b[0], b[2]), bx0 = fmin(b[1], b[3]);
    double by1 = fmax(b[0], b[2]), bx1 = fmax(b[1], b[3]);
    double area_a = (ay1 - ay0) * (ax1 - ax0), area_b = (by1 - by0) * (bx1 - bx0);
    if (area_a <= 0 || area_b <= 0)
        return 0.0;
    double ih = fmax(fmin(ay1, by1) - fmax(ay0, by0), 0.0);
    double iw = fmax(fmin(ax1, bx1) - fmax(ax0, bx0), 0.0);
    double inter = ih * iw;
    return inter / (area_a + area_b - inter);
}

static int cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

int fs_ssd_nms(const float *boxes, const float *scores, int n, float min_score, float iou_max,
               int max_out, uint64_t *order, int *picked)
{
    /* Sort keys: scores are positive here, so their IEEE bit patterns order
     * like the values; the inverted pattern in the high half sorts by score
     * descending, the index in the low half keeps ties in anchor order
     * (face-api's sort is stable). */
    int cand = 0;
    for (int i = 0; i < n; i++) {
        if (scores[i] > min_score && scores[i] > 0.0f) {
            uint32_t bits;
            memcpy(&bits, &scores[i], 4);
            order[cand++] = (uint64_t)(~bits) << 32 | (uint32_t)i;
        }
    }
    qsort(order, (size_t)cand, sizeof *order, cmp_u64);
    int limit = max_out < n ? max_out : n, np = 0;
    for (int c = 0; c < cand && np < limit; c++) {
        int idx = (int)(uint32_t)order[c];
        const float *b = boxes + 4 * idx;
        int keep = 1;
        for (int j = np - 1; j >= 0 && keep; j--)
            keep = !(iou(b, boxes + 4 * picked[j]) > iou_max);
        if (keep)
            picked[np++] = idx;
    }
    return np;
}
