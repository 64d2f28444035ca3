/*
 * Similarity thresholds at very low false accept rates, over every
 * different-identity pair of a labelled set (facesearch/eval.h).  A pairs
 * file holds too few impostor pairs to resolve FAR 1e-5; all pairs of a
 * 10k-face set hold ~5e7.  Products in blocks through sgemm, similarities
 * counted in a histogram, so memory stays O(n).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/eval.h"

#define BINS 40000 /* over [-1, 1]: 5e-5 per bin */
#define BLOCK 256
#define MAX_N 30000 /* 4.5e8 pairs; beyond it an even subset (the cost is n^2) */

static int bin_of(float s)
{
    int b = (int)((s + 1.0f) * (BINS / 2));
    return b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
}

int fs_eval_impostor_thresholds(const float *vecs, int dim, const int *label, size_t n,
                                const double *far, int n_far, float *thr, uint64_t *pairs)
{
    if (n > MAX_N) {
        float *sv = malloc(sizeof(float) * MAX_N * (size_t)dim);
        int *sl = malloc(sizeof(int) * MAX_N);
        int rc = FS_ENOMEM;
        if (sv && sl) {
            for (size_t i = 0; i < MAX_N; i++) {
                size_t j = i * n / MAX_N;
                memcpy(sv + i * dim, vecs + j * dim, sizeof(float) * (size_t)dim);
                sl[i] = label[j];
            }
            rc = fs_eval_impostor_thresholds(sv, dim, sl, MAX_N, far, n_far, thr, pairs);
        }
        free(sv);
        free(sl);
        return rc;
    }
    uint64_t *hist = calloc(BINS, sizeof *hist);
    float *sim = malloc(sizeof(float) * BLOCK * (n ? n : 1));
    if (!hist || !sim) {
        free(hist);
        free(sim);
        return FS_ENOMEM;
    }
    uint64_t total = 0;
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        int rows = n - i0 < BLOCK ? (int)(n - i0) : BLOCK;
        /* rows i0.. against every later vector (each pair once) */
        size_t cols = n - i0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)cols, dim, 1.0f,
                    vecs + i0 * dim, dim, vecs + i0 * dim, dim, 0.0f, sim, (int)cols);
        for (int r = 0; r < rows; r++)
            for (size_t c = (size_t)r + 1; c < cols; c++) {
                size_t i = i0 + (size_t)r, j = i0 + c;
                if (label[i] == label[j])
                    continue;
                hist[bin_of(sim[(size_t)r * cols + c])]++;
                total++;
            }
    }
    for (int f = 0; f < n_far; f++) {
        /* the lowest bin edge above which at most far * total pairs lie */
        uint64_t allowed = (uint64_t)(far[f] * (double)total), above = 0;
        int b = BINS;
        while (b > 0 && above + hist[b - 1] <= allowed)
            above += hist[--b];
        thr[f] = (float)b / (BINS / 2) - 1.0f;
    }
    if (pairs)
        *pairs = total;
    free(hist);
    free(sim);
    return FS_OK;
}
