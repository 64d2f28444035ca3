/* Open-set identification measures: rank-k and TPIR at FPIR. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/eval.h"
#include "facesearch/face.h"
#include "facesearch/index.h"

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

int fs_eval_ident_folders(const fs_eval_photo *ph, size_t n, int dim, int single,
                          fs_ident_run *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    /* role: 0 unused, 1 enrolled, 2 mated probe, 3 non-mated probe */
    int *role = calloc(n + 1, sizeof *role);
    float *gvec = malloc(sizeof(float) * (size_t)dim * (n + 1));
    int64_t *gid = malloc(sizeof(int64_t) * (n + 1));
    int *glabel = malloc(sizeof(int) * (n + 1));
    enum { R = 5 };
    int *rank_ids = malloc(sizeof(int) * R * (n + 1)), *truth = malloc(sizeof(int) * (n + 1));
    float *best = malloc(sizeof(float) * (n + 1));
    fs_index *ix = NULL;
    int rc = FS_OK;
    if (!role || !gvec || !gid || !glabel || !rank_ids || !truth || !best) {
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
        goto done;
    }
    size_t singles = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && ph[b].label == ph[a].label)
            b++;
        if (b - a == 1) {
            role[a] = singles++ % 2 == 0 ? 1 : 3;
            if (role[a] == 1 && !ph[a].vec)
                role[a] = 0; /* a distractor without a face enrols nothing */
        } else if (single) {
            size_t g = a;
            while (g < b && !ph[g].vec)
                g++;
            for (size_t i = a; i < b; i++)
                role[i] = i == g ? 1 : 2;
        } else {
            size_t q = b - 1;
            while (q > a && !ph[q].vec)
                q--;
            for (size_t i = a; i < b; i++)
                role[i] = i == q ? 2 : ph[i].vec ? 1 : 0;
        }
        a = b;
    }
    /* One template per enrolled identity: the mean of its enrolled
     * descriptors.  Averaging cancels per-photo noise (pose, light), and an
     * identity enrolled with hundreds of photos does not get hundreds of
     * chances to be a stranger's nearest face. */
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (role[i] != 1)
            continue;
        float *g = gvec + ng * (size_t)dim;
        memset(g, 0, sizeof(float) * (size_t)dim);
        size_t j = i;
        for (; j < n && ph[j].label == ph[i].label; j++)
            for (int c = 0; role[j] == 1 && c < dim; c++)
                g[c] += ph[j].vec[c];
        fs_descriptor_normalize(g, dim); /* cosine scores */
        gid[ng] = (int64_t)ng;
        glabel[ng++] = ph[i].label;
        i = j - 1;
    }
    if ((rc = fs_index_from_vectors(NULL, dim, gvec, gid, ng, &ix, err)) != FS_OK)
        goto done;
    /* One template per identity: the first R hits are R distinct identities. */
    size_t np = 0;
    float dist[R];
    int64_t hit[R];
    const int deep = ng < R ? (int)ng : R;
    for (size_t i = 0; i < n && rc == FS_OK; i++) {
        if (role[i] < 2)
            continue;
        truth[np] = role[i] == 2 ? ph[i].label : -1;
        for (int r = 0; r < R; r++)
            rank_ids[np * R + (size_t)r] = -1;
        best[np] = NAN;
        if (ph[i].vec && (rc = fs_index_search(ix, ph[i].vec, 1, deep, dist, hit, err)) == FS_OK) {
            best[np] = dist[0];
            for (int j = 0; j < deep && hit[j] >= 0; j++)
                rank_ids[np * R + (size_t)j] = glabel[hit[j]];
        }
        out->no_face += !ph[i].vec;
        np++;
    }
    if (rc == FS_OK) {
        fs_eval_ident(rank_ids, R, best, truth, np, 0.01, &out->r);
        out->gallery = ng;
        out->probes = np;
    }
done:
    fs_index_close(ix);
    free(role);
    free(gvec);
    free(gid);
    free(glabel);
    free(rank_ids);
    free(truth);
    free(best);
    return rc;
}
