/* Verification measures: accuracy, best threshold, k-fold, TAR at FAR. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/eval.h"

double fs_eval_accuracy(const float *dist, const int *same, size_t n, float t)
{
    if (!n)
        return 0;
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(dist[i]))
            continue;
        int accept = dist[i] < t;
        right += accept == (same[i] != 0);
    }
    return (double)right / (double)n;
}

typedef struct pair {
    float d;
    int same;
} pair;

static int by_dist(const void *a, const void *b)
{
    float x = ((const pair *)a)->d, y = ((const pair *)b)->d;
    return (x > y) - (x < y);
}

float fs_eval_best_threshold(const float *dist, const int *same, size_t n, double *acc)
{
    pair *p = malloc((n ? n : 1) * sizeof *p);
    size_t m = 0, pos = 0;
    if (!p) {
        if (acc)
            *acc = 0;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!isnan(dist[i])) {
            p[m].d = dist[i];
            p[m].same = same[i] != 0;
            pos += p[m].same;
            m++;
        }
    qsort(p, m, sizeof *p, by_dist);
    /* Threshold below everything: every valid pair rejected, so the
     * different-person ones are right. */
    long right = (long)(m - pos), best = right;
    float best_t = m ? p[0].d - 1e-3f : 0;
    for (size_t i = 0; i < m; i++) {
        right += p[i].same ? 1 : -1;
        /* Only cut between distinct distances. */
        if (i + 1 < m && p[i + 1].d == p[i].d)
            continue;
        if (right > best) {
            best = right;
            best_t = i + 1 < m ? (p[i].d + p[i + 1].d) / 2 : p[i].d + 1e-3f;
        }
    }
    free(p);
    if (acc)
        *acc = n ? (double)best / (double)n : 0;
    return best_t;
}

int fs_eval_kfold_folds(const float *dist, const int *same, const int *fold, size_t n, int folds,
                        fs_kfold *out)
{
    memset(out, 0, sizeof *out);
    if (folds < 2 || n < (size_t)folds)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (fold[i] < 0 || fold[i] >= folds)
            return -1;
    float *td = malloc(n * sizeof *td), *fd = malloc(n * sizeof *fd);
    int *ts = malloc(n * sizeof *ts), *fs = malloc(n * sizeof *fs);
    int rc = td && fd && ts && fs ? 0 : -1;
    double sum = 0, sum2 = 0, tsum = 0;
    for (int f = 0; f < folds && rc == 0; f++) {
        size_t m = 0, k = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] != f) {
                td[m] = dist[i];
                ts[m++] = same[i];
            } else {
                fd[k] = dist[i];
                fs[k++] = same[i];
            }
        }
        if (k == 0) {
            rc = -1;
            break;
        }
        float t = fs_eval_best_threshold(td, ts, m, NULL);
        double a = fs_eval_accuracy(fd, fs, k, t);
        sum += a;
        sum2 += a * a;
        tsum += t;
    }
    free(td);
    free(fd);
    free(ts);
    free(fs);
    if (rc != 0)
        return -1;
    out->folds = folds;
    out->accuracy = sum / folds;
    double var = sum2 / folds - out->accuracy * out->accuracy;
    out->std = var > 0 ? sqrt(var) : 0;
    out->threshold = tsum / folds;
    return 0;
}

int fs_eval_kfold(const float *dist, const int *same, size_t n, int folds, fs_kfold *out)
{
    memset(out, 0, sizeof *out);
    if (folds < 2 || n < (size_t)folds)
        return -1;
    int *fold = malloc(n * sizeof *fold);
    if (!fold)
        return -1;
    for (int f = 0; f < folds; f++)
        for (size_t i = n * (size_t)f / (size_t)folds; i < n * (size_t)(f + 1) / (size_t)folds; i++)
            fold[i] = f;
    int rc = fs_eval_kfold_folds(dist, same, fold, n, folds, out);
    free(fold);
    return rc;
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double fs_eval_tar_at_far(const float *dist, const int *same, size_t n, double far,
                          float *thr)
{
    size_t neg = 0, pos = 0;
    for (size_t i = 0; i < n; i++)
        if (same[i])
            pos++;
        else
            neg++;
    float *nd = malloc((neg ? neg : 1) * sizeof *nd);
    if (!nd)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!same[i])
            nd[k++] = isnan(dist[i]) ? INFINITY : dist[i];
    qsort(nd, neg, sizeof *nd, by_float);
    /* Accept d < t; allow floor(far * neg) false accepts: t = the next
     * negative distance after them. */
    size_t allowed = (size_t)floor(far * (double)neg);
    float t = allowed < neg ? nd[allowed] : INFINITY;
    free(nd);
    size_t tp = 0;
    for (size_t i = 0; i < n; i++)
        if (same[i] && !isnan(dist[i]) && dist[i] < t)
            tp++;
    if (thr)
        *thr = t;
    return pos ? (double)tp / (double)pos : 0;
}
