/* Open-set identification measures: rank-k and TPIR at FPIR. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/eval.h"

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void fs_eval_ident(const int *rank_ids, int ranks, const float *best_dist, const int *truth,
                   size_t probes, double fpir, fs_ident_result *out)
{
    memset(out, 0, sizeof *out);
    size_t r1 = 0, r5 = 0;
    float *nonmated = malloc((probes ? probes : 1) * sizeof *nonmated);
    size_t nn = 0;
    for (size_t p = 0; p < probes; p++) {
        if (truth[p] < 0) {
            if (nonmated)
                nonmated[nn++] = isnan(best_dist[p]) ? INFINITY : best_dist[p];
            continue;
        }
        out->mated++;
        for (int r = 0; r < ranks && r < 5; r++)
            if (rank_ids[p * (size_t)ranks + (size_t)r] == truth[p]) {
                r1 += r == 0;
                r5++;
                break;
            }
    }
    out->nonmated = nn;
    if (out->mated) {
        out->rank1 = (double)r1 / (double)out->mated;
        out->rank5 = (double)r5 / (double)out->mated;
    }
    /* Threshold letting through floor(fpir * nonmated) non-mated probes. */
    float t = INFINITY;
    if (nonmated && nn) {
        qsort(nonmated, nn, sizeof *nonmated, by_float);
        size_t allowed = (size_t)floor(fpir * (double)nn);
        t = allowed < nn ? nonmated[allowed] : INFINITY;
    }
    free(nonmated);
    size_t hit = 0;
    for (size_t p = 0; p < probes; p++)
        if (truth[p] >= 0 && rank_ids[p * (size_t)ranks] == truth[p] && best_dist[p] < t)
            hit++;
    out->threshold = t;
    out->tpir_at_fpir = out->mated ? (double)hit / (double)out->mated : 0;
}
