/*
 * Classifiers over unit descriptors (facesearch/people.h): the nearest
 * person's template, one-vs-rest linear SVMs (liblinear) and multinomial
 * logistic regression, all scored as one matrix product.
 */
#include <cblas.h>
#include <linear.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct fs_classifier {
    fs_label_method method;
    int dim, classes;
    /* template: the examples (n x dim) and their classes; linear: W
     * (classes x dim) and b (classes). */
    float *x;
    int *y;
    size_t n;
    float *w, *b;
};

/* Softmax training: L2 weight on W, iterations of Nesterov's accelerated
 * gradient (the loss is smooth: with unit inputs and a bias input of 1 its
 * gradient's Lipschitz constant is at most 1 + lambda, hence step 1). */
#define SOFTMAX_LAMBDA 1e-4f
#define SOFTMAX_ITERS 400
/* liblinear's C for the SVMs (unit inputs; measured in docs/accuracy.md). */
#define SVM_C 1.0

const char *fs_label_method_name(fs_label_method m)
{
    return m == FS_LABEL_SVM ? "svm" : m == FS_LABEL_SOFTMAX ? "softmax" : "template";
}

int fs_label_method_parse(const char *s, fs_label_method *m, fs_error *err)
{
    for (int i = FS_LABEL_TEMPLATE; i <= FS_LABEL_SOFTMAX; i++)
        if (strcmp(s, fs_label_method_name((fs_label_method)i)) == 0) {
            *m = (fs_label_method)i;
            return FS_OK;
        }
    return fs_fail(err, FS_EUSAGE, "unknown method '%s' (template, svm or softmax)", s);
}

int fs_classifier_classes(const fs_classifier *c)
{
    return c->classes;
}

void fs_classifier_destroy(fs_classifier *c)
{
    if (!c)
        return;
    free(c->x);
    free(c->y);
    free(c->w);
    free(c->b);
    free(c);
}

static void quiet(const char *s)
{
    (void)s;
}

/* One-vs-rest L2-loss SVMs (dual coordinate descent) with a bias feature. */
static int train_svm(fs_classifier *c, const float *x, const int *y, size_t n, fs_error *err)
{
    const int dim = c->dim;
    struct feature_node *nodes = malloc(n * (size_t)(dim + 2) * sizeof *nodes);
    struct feature_node **rows = malloc(n * sizeof *rows);
    double *labels = malloc(n * sizeof *labels);
    if (!nodes || !rows || !labels) {
        free(nodes);
        free(rows);
        free(labels);
        return fs_fail(err, FS_ENOMEM, "out of memory training the SVMs");
    }
    for (size_t i = 0; i < n; i++) {
        struct feature_node *r = nodes + i * (size_t)(dim + 2);
        for (int j = 0; j < dim; j++)
            r[j] = (struct feature_node){j + 1, x[i * (size_t)dim + j]};
        r[dim] = (struct feature_node){dim + 1, 1.0}; /* the bias input */
        r[dim + 1] = (struct feature_node){-1, 0};
        rows[i] = r;
        labels[i] = y[i];
    }
    struct problem prob = {(int)n, dim + 1, labels, rows, 1.0};
    struct parameter par = {.solver_type = L2R_L2LOSS_SVC_DUAL, .eps = 0.1, .C = SVM_C};
    set_print_string_function(quiet);
    const char *bad = check_parameter(&prob, &par);
    struct model *m = bad ? NULL : train(&prob, &par);
    free(nodes);
    free(rows);
    free(labels);
    if (!m)
        return fs_fail(err, bad ? FS_EUSAGE : FS_ENOMEM, "liblinear: %s",
                       bad ? bad : "training failed");
    int nc = get_nr_class(m);
    int *lab = malloc((size_t)nc * sizeof *lab);
    if (!lab) {
        free_and_destroy_model(&m);
        return fs_fail(err, FS_ENOMEM, "out of memory");
    }
    get_labels(m, lab);
    for (int k = 0; k < nc; k++) {
        int cls = lab[k];
        for (int j = 0; j < dim; j++)
            c->w[(size_t)cls * dim + j] = (float)get_decfun_coef(m, j + 1, k);
        /* The bias is the weight of feature dim + 1 (our constant input). */
        c->b[cls] = (float)get_decfun_coef(m, dim + 1, k);
    }
    free(lab);
    free_and_destroy_model(&m);
    return FS_OK;
}

/* Multinomial logistic regression: minimises the mean cross-entropy of
 * softmax(W x + b) plus lambda/2 |W|^2. */
static int train_softmax(fs_classifier *c, const float *x, const int *y, size_t n, fs_error *err)
{
    const int dim = c->dim, C = c->classes;
    const size_t wn = (size_t)C * dim;
    float *v = calloc(wn + (size_t)C, sizeof *v);       /* look-ahead point (W, b) */
    float *prev = calloc(wn + (size_t)C, sizeof *prev); /* last iterate */
    float *g = calloc(wn + (size_t)C, sizeof *g);
    float *s = malloc(n * (size_t)C * sizeof *s);
    if (!v || !prev || !g || !s) {
        free(v);
        free(prev);
        free(g);
        free(s);
        return fs_fail(err, FS_ENOMEM, "out of memory training softmax");
    }
    float *cur = c->w; /* c->w and c->b hold the iterate; b follows W in v */
    memset(cur, 0, wn * sizeof *cur);
    memset(c->b, 0, (size_t)C * sizeof *c->b);
    const float step = 1.0f / (1.0f + SOFTMAX_LAMBDA), inv_n = 1.0f / (float)n;
    for (int it = 0; it < SOFTMAX_ITERS; it++) {
        /* s = X V^T + b_v; then s <- (softmax(s) - onehot) / n. */
        for (size_t i = 0; i < n; i++)
            memcpy(s + i * C, v + wn, (size_t)C * sizeof *s);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, C, dim, 1.0f, x, dim, v, dim,
                    1.0f, s, C);
        for (size_t i = 0; i < n; i++) {
            float *r = s + i * C, mx = r[0], sum = 0;
            for (int k = 1; k < C; k++)
                mx = r[k] > mx ? r[k] : mx;
            for (int k = 0; k < C; k++)
                sum += (r[k] = expf(r[k] - mx));
            for (int k = 0; k < C; k++)
                r[k] = r[k] / sum * inv_n;
            r[y[i]] -= inv_n;
        }
        /* g_W = S^T X + lambda V, g_b = column sums of S. */
        memcpy(g, v, wn * sizeof *g);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, dim, (int)n, 1.0f, s, C, x, dim,
                    SOFTMAX_LAMBDA, g, dim);
        memset(g + wn, 0, (size_t)C * sizeof *g);
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < C; k++)
                g[wn + k] += s[i * C + k];
        /* Nesterov: new = v - step g; v = new + (it / (it + 3)) (new - prev). */
        const float mom = (float)it / (float)(it + 3);
        for (size_t j = 0; j < wn + (size_t)C; j++) {
            float nw = v[j] - step * g[j];
            v[j] = nw + mom * (nw - prev[j]);
            prev[j] = nw;
        }
    }
    memcpy(cur, prev, wn * sizeof *cur);
    memcpy(c->b, prev + wn, (size_t)C * sizeof *c->b);
    free(v);
    free(prev);
    free(g);
    free(s);
    return FS_OK;
}

int fs_classifier_train(fs_label_method m, const float *x, const int *y, size_t n, int dim,
                        int classes, fs_classifier **out, fs_error *err)
{
    *out = NULL;
    if (classes < 1 || n < 1 || dim < 1)
        return fs_fail(err, FS_EUSAGE, "nothing to train on");
    if (m != FS_LABEL_TEMPLATE && classes < 2)
        return fs_fail(err, FS_EUSAGE, "the %s method needs at least two people (use template)",
                       fs_label_method_name(m));
    int *seen = calloc((size_t)classes, sizeof *seen);
    if (!seen)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (y[i] >= 0 && y[i] < classes)
            seen[y[i]] = 1;
        else {
            free(seen);
            return fs_fail(err, FS_EUSAGE, "class %d out of range", y[i]);
        }
    for (int k = 0; k < classes; k++)
        if (!seen[k]) {
            free(seen);
            return fs_fail(err, FS_EUSAGE, "class %d has no example", k);
        }
    free(seen);
    fs_classifier *c = calloc(1, sizeof *c);
    if (!c)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    c->method = m;
    c->dim = dim;
    c->classes = classes;
    int rc = FS_OK;
    if (m == FS_LABEL_TEMPLATE) {
        c->x = malloc(n * (size_t)dim * sizeof *c->x);
        c->y = malloc(n * sizeof *c->y);
        c->n = n;
        if (!c->x || !c->y)
            rc = fs_fail(err, FS_ENOMEM, "out of memory");
        else {
            memcpy(c->x, x, n * (size_t)dim * sizeof *x);
            memcpy(c->y, y, n * sizeof *y);
        }
    } else {
        c->w = calloc((size_t)classes * dim, sizeof *c->w);
        c->b = calloc((size_t)classes, sizeof *c->b);
        if (!c->w || !c->b)
            rc = fs_fail(err, FS_ENOMEM, "out of memory");
        else
            rc = m == FS_LABEL_SVM ? train_svm(c, x, y, n, err) : train_softmax(c, x, y, n, err);
    }
    if (rc != FS_OK) {
        fs_classifier_destroy(c);
        return rc;
    }
    *out = c;
    return FS_OK;
}

/* Rows of queries scored per block (bounds the template's n x examples). */
#define BLOCK 1024

int fs_classifier_scores(const fs_classifier *c, const float *x, size_t n, float *scores,
                         fs_error *err)
{
    const int dim = c->dim, C = c->classes;
    if (c->method != FS_LABEL_TEMPLATE) {
        for (size_t i = 0; i < n; i++)
            memcpy(scores + i * C, c->b, (size_t)C * sizeof *scores);
        if (n)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, C, dim, 1.0f, x, dim,
                        c->w, dim, 1.0f, scores, C);
        return FS_OK;
    }
    float *sim = malloc((size_t)BLOCK * c->n * sizeof *sim);
    if (!sim)
        return fs_fail(err, FS_ENOMEM, "out of memory scoring");
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        int rows = (int)(n - i0 < BLOCK ? n - i0 : BLOCK);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)c->n, dim, 1.0f,
                    x + i0 * dim, dim, c->x, dim, 0.0f, sim, (int)c->n);
        for (int r = 0; r < rows; r++) {
            float *out = scores + (i0 + (size_t)r) * C;
            for (int k = 0; k < C; k++)
                out[k] = -INFINITY;
            const float *s = sim + (size_t)r * c->n;
            for (size_t j = 0; j < c->n; j++)
                if (s[j] > out[c->y[j]])
                    out[c->y[j]] = s[j];
        }
    }
    free(sim);
    return FS_OK;
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* splitmix64: a seeded, portable shuffle. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int fs_classifier_impostors(fs_label_method m, const float *x, const int *y, const uint8_t *orig,
                            size_t n, int dim, int classes, int folds, uint64_t seed, float **imp,
                            size_t *n_imp, fs_error *err)
{
    *imp = NULL;
    *n_imp = 0;
    if (classes < 2)
        return fs_fail(err, FS_EUSAGE, "open-set calibration needs at least two people");
    if (folds <= 0)
        folds = m == FS_LABEL_TEMPLATE ? classes : 5;
    if (folds > classes)
        folds = classes;
    /* A training fold needs two classes for svm/softmax. */
    if (m != FS_LABEL_TEMPLATE && classes - (classes + folds - 1) / folds < 2)
        folds = classes; /* three or four people: leave one out */
    if (m != FS_LABEL_TEMPLATE && classes < 3)
        return fs_fail(err, FS_EUSAGE, "the %s method needs at least three people (its "
                                        "open-set threshold is measured on classifiers trained "
                                        "without some of them); use template",
                       fs_label_method_name(m));
    int *fold = malloc((size_t)classes * sizeof *fold), *perm = malloc((size_t)classes * sizeof *perm);
    int *remap = malloc((size_t)classes * sizeof *remap);
    float *tx = malloc(n * (size_t)dim * sizeof *tx), *qx = malloc(n * (size_t)dim * sizeof *qx);
    int *ty = malloc(n * sizeof *ty);
    float *out = malloc(n * sizeof *out), *sc = malloc(n * (size_t)classes * sizeof *sc);
    int rc = FS_OK;
    if (!fold || !perm || !remap || !tx || !qx || !ty || !out || !sc) {
        rc = fs_fail(err, FS_ENOMEM, "out of memory calibrating");
        goto done;
    }
    for (int k = 0; k < classes; k++)
        perm[k] = k;
    uint64_t s = seed;
    for (int k = classes - 1; k > 0; k--) {
        int j = (int)(mix(&s) % (uint64_t)(k + 1)), t = perm[k];
        perm[k] = perm[j];
        perm[j] = t;
    }
    for (int k = 0; k < classes; k++)
        fold[perm[k]] = k % folds;
    size_t got = 0;
    for (int f = 0; f < folds && rc == FS_OK; f++) {
        int kept = 0;
        for (int k = 0; k < classes; k++)
            remap[k] = fold[k] == f ? -1 : kept++;
        size_t nt = 0, nq = 0;
        for (size_t i = 0; i < n; i++) {
            if (remap[y[i]] >= 0) {
                memcpy(tx + nt * dim, x + i * (size_t)dim, (size_t)dim * sizeof *tx);
                ty[nt++] = remap[y[i]];
            } else if (orig[i]) {
                memcpy(qx + nq++ * dim, x + i * (size_t)dim, (size_t)dim * sizeof *qx);
            }
        }
        if (!nq || !nt)
            continue;
        fs_classifier *c;
        if ((rc = fs_classifier_train(m, tx, ty, nt, dim, kept, &c, err)) != FS_OK)
            break;
        rc = fs_classifier_scores(c, qx, nq, sc, err);
        for (size_t i = 0; rc == FS_OK && i < nq; i++) {
            float best = -INFINITY;
            for (int k = 0; k < kept; k++)
                best = sc[i * kept + k] > best ? sc[i * kept + k] : best;
            out[got++] = best;
        }
        fs_classifier_destroy(c);
    }
    if (rc == FS_OK) {
        qsort(out, got, sizeof *out, by_float);
        *imp = out;
        *n_imp = got;
        out = NULL;
    }
done:
    free(fold);
    free(perm);
    free(remap);
    free(tx);
    free(qx);
    free(ty);
    free(out);
    free(sc);
    return rc;
}

float fs_threshold_at_far(const float *imp, size_t n, double far)
{
    if (!n)
        return -INFINITY;
    /* At most floor(far * n) impostors may score at or above the threshold. */
    size_t allowed = (size_t)floor(far * (double)n + 1e-9);
    if (allowed >= n)
        return imp[0];
    float t = imp[n - 1 - allowed];
    return nextafterf(t, INFINITY);
}

float fs_calibrated_score(const float *imp, size_t n, float raw)
{
    if (!n)
        return 0;
    size_t lo = 0, hi = n; /* count of impostors below raw */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (imp[mid] < raw)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (float)lo / (float)n;
}
