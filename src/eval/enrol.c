/*
 * Enrolment evaluation (facesearch/eval.h): K-shot named people on a
 * folder-per-identity set, closed-set rank-1 and open-set identification at
 * fixed false-accept rates, and how well `label`'s own calibration rejects
 * strangers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/eval.h"

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void shuffle(size_t *v, size_t n, uint64_t seed)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(mix(&seed) % i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int by_label_then_index(const void *a, const void *b, void *ctx)
{
    const fs_eval_photo *ph = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (ph[x].label != ph[y].label)
        return ph[x].label < ph[y].label ? -1 : 1;
    return (x > y) - (x < y);
}

/* The split: photos with a face grouped by identity (idx), the eligible
 * identities' runs (start, len) in seeded order, each run's photos in
 * seeded order (enrolment first). */
typedef struct split {
    size_t *idx, *start, *len, ids;
} split;

static void split_free(split *sp)
{
    free(sp->idx);
    free(sp->start);
    free(sp->len);
}

static int split_make(const fs_eval_photo *ph, size_t n, int shots, uint64_t seed, split *sp,
                      fs_error *err)
{
    memset(sp, 0, sizeof *sp);
    size_t m = 0;
    sp->idx = malloc((n + 1) * sizeof *sp->idx);
    sp->start = malloc((n + 1) * sizeof *sp->start);
    sp->len = malloc((n + 1) * sizeof *sp->len);
    size_t *order = malloc((n + 1) * sizeof *order), *tmp = malloc((n + 1) * sizeof *tmp);
    if (!sp->idx || !sp->start || !sp->len || !order || !tmp) {
        free(order);
        free(tmp);
        split_free(sp);
        return fs_fail(err, FS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        if (ph[i].vec)
            sp->idx[m++] = i;
    qsort_r(sp->idx, m, sizeof *sp->idx, by_label_then_index, (void *)ph);
    size_t ids = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && ph[sp->idx[j]].label == ph[sp->idx[i]].label)
            j++;
        if (j - i > (size_t)shots) {
            sp->start[ids] = i;
            sp->len[ids++] = j - i;
            /* This identity's photos in seeded order. */
            shuffle(sp->idx + i, j - i, seed ^ (0x5bd1e995ull * (uint64_t)(ph[sp->idx[i]].label + 1)));
        }
        i = j;
    }
    /* Identities in seeded order: the first half is enrolled. */
    for (size_t i = 0; i < ids; i++)
        order[i] = i;
    shuffle(order, ids, seed);
    for (size_t i = 0; i < ids; i++)
        tmp[i] = sp->start[order[i]];
    memcpy(sp->start, tmp, ids * sizeof *tmp);
    for (size_t i = 0; i < ids; i++)
        tmp[i] = sp->len[order[i]];
    memcpy(sp->len, tmp, ids * sizeof *tmp);
    sp->ids = ids;
    free(order);
    free(tmp);
    return FS_OK;
}

int fs_eval_enrol_photos(const fs_eval_photo *ph, size_t n, int shots, uint64_t seed,
                         uint8_t *enrol, fs_error *err)
{
    split sp;
    int rc = split_make(ph, n, shots, seed, &sp, err);
    if (rc != FS_OK)
        return rc;
    memset(enrol, 0, n);
    for (size_t i = 0; i < sp.ids / 2; i++)
        for (size_t j = 0; j < (size_t)shots; j++)
            enrol[sp.idx[sp.start[i] + j]] = 1;
    split_free(&sp);
    return FS_OK;
}

int fs_eval_enrol(const fs_eval_photo *ph, size_t n, int dim, const fs_enrol_opts *o,
                  fs_enrol_result *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    split sp;
    int rc = split_make(ph, n, o->shots, o->seed, &sp, err);
    if (rc != FS_OK)
        return rc;
    const size_t ids = sp.ids, *start = sp.start, *len = sp.len, *idx = sp.idx;
    float *x = NULL, *probe = NULL, *sc = NULL, *imp = NULL, *best_imp = NULL;
    int *y = NULL, *truth = NULL, *pred = NULL;
    uint8_t *orig = NULL;
    float *best = NULL;
    fs_classifier *cls = NULL;
    if (ids < 4) {
        rc = fs_fail(err, FS_EUSAGE, "%zu identities have more than %d photos with a face; the "
                                     "evaluation needs at least 4",
                     ids, o->shots);
        goto done;
    }
    out->identities = ids;
    const size_t enrolled = ids / 2;
    out->enrolled = enrolled;
    /* Rows: enrolment photos (and variants); probes: the rest. */
    size_t rows = 0, probes = 0;
    for (size_t i = 0; i < ids; i++) {
        if (i < enrolled) {
            for (size_t j = 0; j < (size_t)o->shots; j++)
                rows += 1 + (size_t)(o->augment ? ph[idx[start[i] + j]].n_aug : 0);
            probes += len[i] - (size_t)o->shots;
        } else {
            probes += len[i];
        }
    }
    x = malloc((rows + 1) * (size_t)dim * sizeof *x);
    y = malloc((rows + 1) * sizeof *y);
    orig = malloc(rows + 1);
    probe = malloc((probes + 1) * (size_t)dim * sizeof *probe);
    truth = malloc((probes + 1) * sizeof *truth);
    if (!x || !y || !orig || !probe || !truth) {
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
        goto done;
    }
    size_t r = 0, p = 0;
    for (size_t i = 0; i < ids; i++) {
        const size_t *pick = idx + start[i], L = len[i];
        size_t first_probe = 0;
        if (i < enrolled) {
            for (size_t j = 0; j < (size_t)o->shots; j++) {
                const fs_eval_photo *e = &ph[pick[j]];
                memcpy(x + r * dim, e->vec, sizeof(float) * (size_t)dim);
                y[r] = (int)i;
                orig[r++] = 1;
                for (int a = 0; o->augment && a < e->n_aug; a++) {
                    memcpy(x + r * dim, e->aug + (size_t)a * dim, sizeof(float) * (size_t)dim);
                    y[r] = (int)i;
                    orig[r++] = 0;
                }
            }
            first_probe = (size_t)o->shots;
        }
        for (size_t j = first_probe; j < L; j++) {
            memcpy(probe + p * dim, ph[pick[j]].vec, sizeof(float) * (size_t)dim);
            truth[p++] = i < enrolled ? (int)i : -1;
        }
    }
    out->examples = rows;
    double t0 = fs_now();
    const int classes = (int)enrolled;
    size_t n_imp = 0;
    if ((rc = fs_classifier_train(o->method, x, y, rows, dim, classes, &cls, err)) != FS_OK ||
        (rc = fs_classifier_impostors(o->method, x, y, orig, rows, dim, classes, 0, o->seed, &imp,
                                      &n_imp, err)) != FS_OK)
        goto done;
    out->threshold = fs_threshold_at_far(imp, n_imp, o->far);
    if (o->method == FS_LABEL_TEMPLATE && (double)n_imp * o->far < 1)
        out->threshold = o->template_threshold;
    out->train_s = fs_now() - t0;
    sc = malloc((probes + 1) * (size_t)classes * sizeof *sc);
    best = malloc((probes + 1) * sizeof *best);
    best_imp = malloc((probes + 1) * sizeof *best_imp);
    pred = malloc((probes + 1) * sizeof *pred);
    if (!sc || !best || !best_imp || !pred) {
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = fs_classifier_scores(cls, probe, probes, sc, err)) != FS_OK)
        goto done;
    size_t mated = 0, imps = 0, right = 0, rejected = 0, right_cal = 0;
    for (size_t i = 0; i < probes; i++) {
        const float *s = sc + i * classes;
        int b = 0;
        for (int k = 1; k < classes; k++)
            if (s[k] > s[b])
                b = k;
        pred[i] = b;
        best[i] = s[b];
        if (truth[i] < 0) {
            best_imp[imps++] = s[b];
            rejected += s[b] < out->threshold;
        } else {
            mated++;
            right += b == truth[i];
            right_cal += b == truth[i] && s[b] >= out->threshold;
        }
    }
    qsort(best_imp, imps, sizeof *best_imp, by_float);
    out->mated = mated;
    out->impostor = imps;
    out->rank1 = mated ? (double)right / mated : 0;
    out->rejection = imps ? (double)rejected / imps : 0;
    out->dir_calibrated = mated ? (double)right_cal / mated : 0;
    out->thr_1pct = fs_threshold_at_far(best_imp, imps, 0.01);
    out->thr_0_1pct = fs_threshold_at_far(best_imp, imps, 0.001);
    size_t d1 = 0, d01 = 0;
    for (size_t i = 0; i < probes; i++)
        if (truth[i] >= 0 && pred[i] == truth[i]) {
            d1 += best[i] >= out->thr_1pct;
            d01 += best[i] >= out->thr_0_1pct;
        }
    out->dir_far_1pct = mated ? (double)d1 / mated : 0;
    out->dir_far_0_1pct = mated ? (double)d01 / mated : 0;
done:
    fs_classifier_destroy(cls);
    split_free(&sp);
    free(x);
    free(y);
    free(orig);
    free(probe);
    free(truth);
    free(sc);
    free(best);
    free(best_imp);
    free(pred);
    free(imp);
    return rc;
}
